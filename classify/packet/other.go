package packet

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// String names the kind of traffic for summaries: "ARP", "ICMPv6 neighbor
// solicitation", "IGMP", "LLC (802.3)", ...
func (o Other) String() string {
	switch {
	case o.IsICMP && o.IPProto == ipproto.ICMPv6:
		if n, ok := icmp6Names[o.ICMPType]; ok {
			return "ICMPv6 " + n
		}
		return fmt.Sprintf("ICMPv6 type %d", o.ICMPType)
	case o.IsICMP:
		if n, ok := icmp4Names[o.ICMPType]; ok {
			return "ICMP " + n
		}
		return fmt.Sprintf("ICMP type %d", o.ICMPType)
	case o.EtherType == layers.EthernetTypeIPv4 || o.EtherType == layers.EthernetTypeIPv6 || o.IPProto != 0:
		v := "IPv4"
		if o.EtherType == layers.EthernetTypeIPv6 {
			v = "IPv6"
		}
		if n, ok := ipNames[o.IPProto]; ok {
			return fmt.Sprintf("%s %s", v, n)
		}
		return fmt.Sprintf("%s protocol %d", v, o.IPProto)
	case o.EtherType == 0 && o.LinkType == layers.LinkTypeEthernet:
		return "LLC (802.3 frames: STP, CDP, ...)"
	case o.EtherType != 0:
		if n, ok := etherNames[o.EtherType]; ok {
			return n
		}
		return fmt.Sprintf("EtherType 0x%04x", uint16(o.EtherType))
	case o.LinkProto != 0:
		return o.linkProtoName()
	}
	return fmt.Sprintf("link type %s", o.LinkType)
}

// linkProtoName names traffic a link header identifies (Other.LinkProto).
func (o Other) linkProtoName() string {
	switch o.LinkType {
	case layers.LinkTypePPP, layers.LinkTypePPP_HDLC, layers.LinkTypePPPEthernet:
		if n, ok := pppNames[o.LinkProto]; ok {
			return "PPP " + n
		}
		return fmt.Sprintf("PPP protocol 0x%04x", o.LinkProto)
	case layers.LinkTypeFRelay:
		if o.LinkProto > 0xff {
			return fmt.Sprintf("frame relay, control 0x%02x", o.LinkProto&0xff)
		}
		return fmt.Sprintf("frame relay NLPID 0x%02x", o.LinkProto)
	case layers.LinkTypeIEEE802_11, layers.LinkTypeIEEE80211Radio:
		return [...]string{dot11Management: "802.11 management", dot11Control: "802.11 control", dot11NoData: "802.11 data without payload", dot11NotIP: "802.11 data, not LLC/SNAP"}[o.LinkProto]
	case layers.LinkTypeARCNetLinux:
		return fmt.Sprintf("ARCNET protocol 0x%02x", o.LinkProto)
	case linkTypeNFLog:
		return "NFLOG without payload"
	}
	return fmt.Sprintf("link type %s, protocol 0x%x", o.LinkType, o.LinkProto)
}

var pppNames = map[uint16]string{
	0xc021: "LCP", 0x8021: "IPCP", 0x8057: "IPv6CP", 0xc023: "PAP", 0xc223: "CHAP", 0x80fd: "CCP",
	0x00fd: "compressed datagram", 0x003d: "multilink", 0x8281: "MPLSCP", 0x0023: "OSI", 0x8023: "OSINLCP",
}

var etherNames = map[layers.EthernetType]string{
	layers.EthernetTypeARP:                "ARP",
	layers.EthernetTypeLinkLayerDiscovery: "LLDP",
	layers.EthernetTypeEAPOL:              "EAPOL",
	0x8035:                                "RARP",
	0x8809:                                "slow protocols (LACP)",
	0x88e5:                                "MACsec",
	0x88f7:                                "PTP",
	0x8863:                                "PPPoE discovery",
	layers.EthernetTypeCiscoDiscovery:     "CDP",
	0x8137:                                "IPX",
	0x9000:                                "loopback (configuration testing)",
}

var ipNames = map[ipproto.Proto]string{
	2: "IGMP", 4: "IP-in-IP", 41: "IPv6-in-IPv4", 47: "GRE", 50: "ESP", 51: "AH", 59: "no next header",
	89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP", 0: "hop-by-hop only",
}

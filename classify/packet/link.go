package packet

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// Link types decoded here that gopacket has no constant for.
const (
	linkTypeJuniperEther = 178
	linkTypeNFLog        = 239
	linkTypePKTAP        = 258
	linkTypeUser2        = 149 // Apple's PKTAP, as written by macOS tcpdump
	linkTypeBRCM         = 281 // Ethernet with a Broadcom switch tag after the addresses
	linkTypeBRCMPrepend  = 282 // the same tag before the frame
	linkTypeDSA          = 284 // Marvell DSA tag after the addresses
	linkTypeEDSA         = 285 // Marvell EDSA tag after the addresses
)

// maxLinkNesting bounds link headers that carry another link type (PKTAP).
const maxLinkNesting = 2

// link decodes the link types beyond the common ones of Decode: those of
// tcpdump's and Wireshark's test captures that carry IP. depth counts the
// link headers already walked.
func (p *Parsed) link(link layers.LinkType, b []byte, depth int) error {
	switch link {
	case layers.LinkTypePPP, layers.LinkTypePPP_HDLC:
		return p.ppp(b)
	case layers.LinkTypePPPEthernet:
		// A PPPoE session header without its Ethernet header.
		if len(b) < 6 {
			return ErrTruncated
		}
		return p.ppp(b[6:])
	case layers.LinkTypeC_HDLC:
		// Cisco HDLC: address, control, then an EtherType.
		if len(b) < 4 {
			return ErrTruncated
		}
		return p.etherType(layers.EthernetType(binary.BigEndian.Uint16(b[2:])), b[4:])
	case layers.LinkTypeFRelay:
		return p.frameRelay(b)
	case layers.LinkTypeIEEE80211Radio:
		// Radiotap: its own length, little-endian, then an 802.11 frame.
		if len(b) < 4 {
			return ErrTruncated
		}
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if n < 8 {
			return ErrMalformed
		}
		if len(b) < n {
			return ErrTruncated
		}
		return p.dot11(b[n:])
	case layers.LinkTypeIEEE802_11:
		return p.dot11(b)
	case layers.LinkTypeSLIP:
		// libpcap's SLIP pseudo-header: direction, then the compressed
		// header SLIP may keep (16 bytes in all).
		if len(b) < 16 {
			return ErrTruncated
		}
		return p.ip(b[16:])
	case layers.LinkTypePFLog:
		// OpenBSD pf: the header's length, rounded to 4 bytes.
		if len(b) < 1 {
			return ErrTruncated
		}
		n := (int(b[0]) + 3) &^ 3
		if n < 4 {
			return ErrMalformed
		}
		if len(b) < n {
			return ErrTruncated
		}
		return p.ip(b[n:])
	case layers.LinkTypeARCNetLinux:
		return p.arcnet(b)
	case linkTypeNFLog:
		return p.nflog(b)
	case linkTypeBRCM, linkTypeDSA:
		return p.taggedEthernet(b, 4)
	case linkTypeEDSA:
		return p.taggedEthernet(b, 8)
	case linkTypeBRCMPrepend:
		if len(b) < 4 {
			return ErrTruncated
		}
		return p.ethernet(b[4:])
	case linkTypeJuniperEther:
		return p.juniperEther(b)
	case linkTypePKTAP, linkTypeUser2:
		// Apple's PKTAP: a header of its own length naming the link type
		// (a DLT) of the frame that follows.
		if depth >= maxLinkNesting {
			return ErrMalformed
		}
		if len(b) < 8 {
			return ErrTruncated
		}
		n := int(binary.LittleEndian.Uint32(b))
		if n < 8 || n > len(b) {
			return ErrTruncated
		}
		inner := layers.LinkType(binary.LittleEndian.Uint32(b[4:]))
		p.Other.LinkType = inner
		return p.decodeLink(inner, b[n:], depth+1)
	}
	return ErrLinkType
}

// PPP protocol numbers the decoder follows.
const (
	pppIPv4 = 0x0021
	pppIPv6 = 0x0057
	pppMPLS = 0x0281
	// pppMPLSMulticast too.
	pppMPLSMulticast = 0x0283
)

// ppp decodes a PPP frame: an optional HDLC address and control (0xff
// 0x03), then a protocol of one byte (compressed: odd) or two.
func (p *Parsed) ppp(b []byte) error {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		return ErrTruncated
	}
	var proto uint16
	if b[0]&1 == 1 {
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return ErrTruncated
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	return p.pppProto(proto, b)
}

func (p *Parsed) pppProto(proto uint16, b []byte) error {
	switch proto {
	case pppIPv4:
		return p.ipv4(b)
	case pppIPv6:
		return p.ipv6(b)
	case pppMPLS:
		return p.etherType(layers.EthernetTypeMPLSUnicast, b)
	case pppMPLSMulticast:
		return p.etherType(layers.EthernetTypeMPLSMulticast, b)
	}
	p.Other.LinkProto = proto // LCP, IPCP, CHAP, ...: not a port flow
	return nil
}

// frameRelay decodes RFC 2427 multiprotocol encapsulation: a Q.922
// address, the UI control byte, optional padding, an NLPID.
func (p *Parsed) frameRelay(b []byte) error {
	// The address is two bytes unless its extension bits say more (up
	// to four).
	n := 2
	for n <= 4 && len(b) >= n && b[n-1]&1 == 0 {
		n++
	}
	if n > 4 {
		return ErrMalformed
	}
	if len(b) < n+2 {
		return ErrTruncated
	}
	b = b[n:]
	if b[0] != 0x03 {
		p.Other.LinkProto = 0x100 | uint16(b[0]) // not UI: a Cisco or other framing
		return nil
	}
	b = b[1:]
	if b[0] == 0x00 { // padding before SNAP
		b = b[1:]
		if len(b) < 1 {
			return ErrTruncated
		}
	}
	switch b[0] {
	case 0xcc:
		return p.ipv4(b[1:])
	case 0x8e:
		return p.ipv6(b[1:])
	case 0x80: // SNAP: OUI and an EtherType
		if len(b) < 6 {
			return ErrTruncated
		}
		return p.etherType(layers.EthernetType(binary.BigEndian.Uint16(b[4:])), b[6:])
	}
	p.Other.LinkProto = uint16(b[0]) // NLPID: Q.933, CLNP, IS-IS, ...
	return nil
}

// 802.11 frame kinds reported in Other.LinkProto for frames with no IP.
const (
	dot11Management = 1 + iota
	dot11Control
	dot11NoData
	dot11NotIP
)

// dot11 decodes an 802.11 frame: data frames carry LLC/SNAP and an
// EtherType. Protected (encrypted) data cannot be decoded: a loss.
func (p *Parsed) dot11(b []byte) error {
	if len(b) < 2 {
		return ErrTruncated
	}
	typ, sub, flags := (b[0]>>2)&3, b[0]>>4, b[1]
	switch typ {
	case 0:
		p.Other.LinkProto = dot11Management
		return nil
	case 1:
		p.Other.LinkProto = dot11Control
		return nil
	case 3:
		return ErrMalformed
	}
	if sub&0x4 != 0 { // null data: no payload
		p.Other.LinkProto = dot11NoData
		return nil
	}
	n := 24
	if flags&3 == 3 { // to and from the distribution system: a fourth address
		n += 6
	}
	if sub&0x8 != 0 { // QoS control, and HT control when ordered
		n += 2
		if flags&0x80 != 0 {
			n += 4
		}
	}
	if len(b) < n {
		return ErrTruncated
	}
	if flags&0x40 != 0 {
		return ErrLinkType // protected: the payload is encrypted
	}
	b = b[n:]
	if len(b) < 8 {
		return ErrTruncated
	}
	if b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 {
		p.Other.LinkProto = dot11NotIP
		return nil
	}
	return p.etherType(layers.EthernetType(binary.BigEndian.Uint16(b[6:])), b[8:])
}

// ARCNET protocol identifiers (RFC 1051, RFC 1201).
const (
	arcIPOld    = 0xf0
	arcARPOld   = 0xf1
	arcDiagnose = 0x80
	arcIP       = 0xd4
	arcIPv6     = 0xc4
)

// arcnet decodes Linux's ARCNET header: source, destination, a two-byte
// offset, the protocol, and (RFC 1201 protocols) a split flag and sequence
// number.
func (p *Parsed) arcnet(b []byte) error {
	if len(b) < 5 {
		return ErrTruncated
	}
	proto := b[4]
	n := 8
	switch proto {
	case arcIPOld, arcARPOld, arcDiagnose:
		n = 5
	}
	if len(b) < n {
		return ErrTruncated
	}
	switch proto {
	case arcIPOld, arcIP:
		return p.ipv4(b[n:])
	case arcIPv6:
		return p.ipv6(b[n:])
	}
	p.Other.LinkProto = uint16(proto)
	return nil
}

// nflog decodes Linux NFLOG: a four-byte header, then TLVs in host
// (little-endian) order, padded to four bytes; the payload TLV is the IP
// packet.
func (p *Parsed) nflog(b []byte) error {
	if len(b) < 4 {
		return ErrTruncated
	}
	b = b[4:]
	for range 64 {
		if len(b) < 4 {
			break
		}
		n, typ := int(binary.LittleEndian.Uint16(b)), binary.LittleEndian.Uint16(b[2:])
		if n < 4 {
			return ErrMalformed
		}
		if typ == 9 { // NFULA_PAYLOAD
			if len(b) < n {
				b = b[4:] // cut by the snap length: what is there
			} else {
				b = b[4:n]
			}
			return p.ip(b)
		}
		n = (n + 3) &^ 3
		if len(b) < n {
			return ErrTruncated
		}
		b = b[n:]
	}
	p.Other.LinkProto = 1 // no payload logged
	return nil
}

// juniperEther decodes the Juniper Ethernet pseudo-header ("MGC", flags,
// optional extension TLVs), then Ethernet, or a protocol family and IP
// when the flags say the layer 2 header was stripped.
func (p *Parsed) juniperEther(b []byte) error {
	if len(b) < 4 {
		return ErrTruncated
	}
	if b[0] != 'M' || b[1] != 'G' || b[2] != 'C' {
		return ErrMalformed
	}
	flags, n := b[3], 4
	if flags&0x80 != 0 { // extensions: their length follows
		if len(b) < 6 {
			return ErrTruncated
		}
		n = 6 + int(binary.BigEndian.Uint16(b[4:]))
	}
	if len(b) < n {
		return ErrTruncated
	}
	b = b[n:]
	if flags&0x02 != 0 { // no layer 2 header: a 4-byte protocol family, then IP
		if len(b) < 4 {
			return ErrTruncated
		}
		return p.ip(b[4:])
	}
	return p.ethernet(b)
}

// taggedEthernet decodes Ethernet with a switch tag of n bytes between the
// source address and the EtherType (Broadcom, Marvell DSA and EDSA).
func (p *Parsed) taggedEthernet(b []byte, n int) error {
	if len(b) < 14+n {
		return ErrTruncated
	}
	return p.etherType(layers.EthernetType(binary.BigEndian.Uint16(b[12+n:])), b[14+n:])
}

package packet

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// Tunnel is a kind of encapsulation Encapsulated recognises. The zero
// value is TunnelNone.
type Tunnel uint8

const (
	TunnelNone    Tunnel = iota
	TunnelVXLAN          // UDP 4789 (AWS VPC Traffic Mirroring)
	TunnelGENEVE         // UDP 6081 (AWS Gateway Load Balancer)
	TunnelGRE            // GRE carrying IP or Ethernet (transparent bridging)
	TunnelERSPAN2        // GRE carrying ERSPAN type I or II (switch mirroring)
	TunnelERSPAN3        // GRE carrying ERSPAN type III
	TunnelIPIP           // IPv4 or IPv6 inside IPv4 or IPv6
)

func (t Tunnel) String() string {
	return [...]string{"none", "vxlan", "geneve", "gre", "erspan-ii", "erspan-iii", "ip-in-ip"}[t]
}

// Tunnel ports, EtherTypes and IP protocols.
const (
	protoIPIP ipproto.Proto = 4
	protoIPv6 ipproto.Proto = 41
	protoGRE  ipproto.Proto = 47

	portVXLAN    = 4789
	portGENEVE   = 6081
	etherTEB     = 0x6558 // transparent Ethernet bridging
	etherERSPAN2 = 0x88be
	etherERSPAN3 = 0x22eb
)

// MaybeTunnel reports, cheaply, whether p may be the outer packet of a
// tunnel Encapsulated decodes: the common path asks it of every packet.
func (p *Parsed) MaybeTunnel() bool {
	t := &p.Tuple
	switch t.Proto {
	case ipproto.UDP:
		return t.DstPort == portVXLAN || t.DstPort == portGENEVE
	case protoGRE, protoIPIP, protoIPv6:
		return p.Kind == KindOther
	}
	return false
}

// Encapsulated returns the tunnel p is the outer packet of, the link type
// of the packet inside (Ethernet or raw IP) and its bytes, or TunnelNone
// when p carries no tunnel Encapsulated knows (or the tunnel header is cut
// short: the outer packet is then what was seen).
func (p *Parsed) Encapsulated() (Tunnel, layers.LinkType, []byte) {
	b := p.Payload
	switch p.Tuple.Proto {
	case ipproto.UDP:
		switch p.Tuple.DstPort {
		case portVXLAN:
			// Flags (the I bit says a VNI is present), reserved, VNI.
			if len(b) < 8 || b[0]&0x08 == 0 {
				return TunnelNone, 0, nil
			}
			return TunnelVXLAN, layers.LinkTypeEthernet, b[8:]
		case portGENEVE:
			if len(b) < 8 || b[0]>>6 != 0 {
				return TunnelNone, 0, nil
			}
			n := 8 + int(b[0]&0x3f)*4
			if len(b) < n {
				return TunnelNone, 0, nil
			}
			if link, ok := tunnelLink(binary.BigEndian.Uint16(b[2:])); ok {
				return TunnelGENEVE, link, b[n:]
			}
		}
	case protoGRE:
		return gre(b)
	case protoIPIP, protoIPv6:
		if p.Kind == KindOther {
			return TunnelIPIP, layers.LinkTypeRaw, b
		}
	}
	return TunnelNone, 0, nil
}

// tunnelLink is the link type of a tunnel's payload by its EtherType.
func tunnelLink(et uint16) (layers.LinkType, bool) {
	switch et {
	case etherTEB:
		return layers.LinkTypeEthernet, true
	case uint16(layers.EthernetTypeIPv4), uint16(layers.EthernetTypeIPv6):
		return layers.LinkTypeRaw, true
	}
	return 0, false
}

// gre decodes a GRE header (version 0; PPTP's version 1 carries PPP, left
// alone): optional checksum, key and sequence number, then the payload's
// EtherType, with ERSPAN's own headers after GRE's.
func gre(b []byte) (Tunnel, layers.LinkType, []byte) {
	if len(b) < 4 {
		return TunnelNone, 0, nil
	}
	flags, et := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	if flags&7 != 0 || flags&0x4000 != 0 { // version, source routing
		return TunnelNone, 0, nil
	}
	n := 4
	for _, bit := range [...]uint16{0x8000, 0x2000, 0x1000} { // checksum, key, sequence
		if flags&bit != 0 {
			n += 4
		}
	}
	if len(b) < n {
		return TunnelNone, 0, nil
	}
	switch et {
	case etherERSPAN2:
		// Type II has a sequence number and an 8-byte header; type I
		// neither.
		if flags&0x1000 != 0 {
			n += 8
		}
		if len(b) < n {
			return TunnelNone, 0, nil
		}
		return TunnelERSPAN2, layers.LinkTypeEthernet, b[n:]
	case etherERSPAN3:
		// A 12-byte header, and an 8-byte platform subheader when its
		// O bit (the last of the header) is set.
		if len(b) < n+12 {
			return TunnelNone, 0, nil
		}
		// Its frame type (FT) says what was mirrored: 0 Ethernet, 2
		// IP; other types are left as the GRE packet they are.
		ft := (binary.BigEndian.Uint16(b[n+10:]) >> 10) & 0x1f
		if b[n+11]&1 != 0 {
			n += 8
		}
		n += 12
		if len(b) < n {
			return TunnelNone, 0, nil
		}
		switch ft {
		case 0:
			return TunnelERSPAN3, layers.LinkTypeEthernet, b[n:]
		case 2:
			return TunnelERSPAN3, layers.LinkTypeRaw, b[n:]
		}
		return TunnelNone, 0, nil
	}
	if link, ok := tunnelLink(et); ok {
		return TunnelGRE, link, b[n:]
	}
	return TunnelNone, 0, nil
}

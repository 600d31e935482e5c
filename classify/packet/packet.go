package packet

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// Kind says what a decoded frame is, and so which fields of Parsed are set.
type Kind uint8

const (
	// KindOther is traffic that forms no port flow: ARP, LLC, IPv6 neighbour
	// discovery, IGMP, other IP protocols. Other says what it was.
	KindOther Kind = iota
	// KindTransport is TCP or UDP with ports, or an ICMP echo request or reply
	// (whose identifier stands in for both ports). Tuple is set.
	KindTransport
	// KindFragment is a non-first IP fragment. It carries no ports; Tuple has
	// the addresses and protocol, FragID ties it to its first fragment.
	KindFragment
	// KindICMPError is an ICMP or ICMPv6 error. Quoted is the tuple of the
	// packet it quotes; Tuple holds the error's own addresses.
	KindICMPError
)

// Errors returned by Decode. They are sentinels so that counting them costs
// nothing; the frame is then counted as malformed rather than as a flow.
var (
	ErrTruncated = errors.New("truncated header")
	ErrMalformed = errors.New("malformed header")
	ErrLinkType  = errors.New("unsupported link type")
)

// Tuple is a directional 5-tuple. Addresses are 16 bytes: IPv4 is stored
// IPv4-mapped (::ffff:a.b.c.d) so that one key shape covers both families.
// The zero Tuple has Proto Unknown and means "none".
type Tuple struct {
	Src, Dst         [16]byte
	SrcPort, DstPort uint16
	Proto            ipproto.Proto
}

// SrcAddr returns the source address, unmapped for IPv4.
func (t Tuple) SrcAddr() netip.Addr { return netip.AddrFrom16(t.Src).Unmap() }

// DstAddr returns the destination address, unmapped for IPv4.
func (t Tuple) DstAddr() netip.Addr { return netip.AddrFrom16(t.Dst).Unmap() }

// Other identifies traffic of KindOther for summaries. Fields that do not
// apply are zero. It is comparable, so it can key a map of counts.
type Other struct {
	LinkType  layers.LinkType
	EtherType layers.EthernetType // 0 for 802.3/LLC frames and link types without one
	IPProto   ipproto.Proto       // set for IP packets
	ICMPType  uint8               // set when IPProto is ICMP or ICMPv6
	IsICMP    bool
	// LinkProto is what a link header says a frame without IP is, in the
	// link type's own numbering: a PPP protocol (LCP, IPCP, ...), a frame
	// relay NLPID, an ARCNET protocol, an 802.11 frame kind.
	LinkProto uint16
}

// Parsed is one decoded frame. The zero value is ready for Decode.
type Parsed struct {
	Kind  Kind
	Tuple Tuple

	// TCPFlags holds the TCP flag byte (FIN 0x01 ... CWR 0x80).
	TCPFlags uint8
	// ICMPType and ICMPCode are set for ICMP and ICMPv6.
	ICMPType, ICMPCode uint8

	// Payload is the transport payload present in the frame; PayloadLen is the
	// payload length the IP header declares, which is larger when the capture
	// was cut by a snap length.
	Payload    []byte
	PayloadLen int

	// FirstFragment is set on the first fragment of a fragmented datagram;
	// FragID (with Tuple's addresses and protocol) identifies the datagram
	// for both the first and later fragments.
	FirstFragment bool
	FragID        uint32

	// Quoted is the tuple of the packet an ICMP error quotes.
	Quoted Tuple

	// Beyond is how many bytes the IP header declares past the end of
	// the frame's data. A snap length may have cut that many; a header
	// declaring more than the wire carried lies (CheckLength).
	Beyond int

	Other Other
}

// TCP flag bits.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// ICMP types the decoder distinguishes.
const (
	icmp4EchoReply   = 0
	icmp4Unreachable = 3
	icmp4Redirect    = 5
	icmp4Echo        = 8
	icmp4TimeExceed  = 11
	icmp4ParamProb   = 12
	icmp6Unreachable = 1
	icmp6ParamProb   = 4
	icmp6Echo        = 128
	icmp6EchoReply   = 129
)

// IsUnreachable reports whether an ICMP error of this protocol and type is a
// destination-unreachable message.
func IsUnreachable(proto ipproto.Proto, typ uint8) bool {
	return (proto == ipproto.ICMPv4 && typ == icmp4Unreachable) ||
		(proto == ipproto.ICMPv6 && typ == icmp6Unreachable)
}

// IsEchoRequest reports whether an ICMP type is an echo request.
func IsEchoRequest(proto ipproto.Proto, typ uint8) bool {
	return (proto == ipproto.ICMPv4 && typ == icmp4Echo) ||
		(proto == ipproto.ICMPv6 && typ == icmp6Echo)
}

// CheckLength returns err, or ErrMalformed when the IP header of the frame
// p was decoded from declares more bytes than the wire carried: captured of
// the frame's wireLen bytes were stored, and only the difference may be
// missing. An IPv4 header claiming 58,941 bytes in a 75-byte frame is not a
// flow, and a header cut short in such a frame (ErrTruncated) was not cut by
// the capture but lies. Segmentation offload (an IPv4 length of 0, an IPv6
// payload length of 0) declares nothing, and passes.
func (p *Parsed) CheckLength(err error, captured, wireLen int) error {
	if (err == nil || err == ErrTruncated) && p.Beyond > wireLen-captured {
		return ErrMalformed
	}
	return err
}

// Link types that exist under several numbers.
const (
	linkTypeRawOpenBSD = 12
	linkTypeRawBSD     = 14
)

// Decode decodes frame b, captured on a link of type link, into p. On error p
// still holds whatever was decoded before the damage (Other in particular).
func (p *Parsed) Decode(link layers.LinkType, b []byte) error {
	*p = Parsed{}
	p.Other.LinkType = link
	if link == layers.LinkTypeEthernet { // nearly every frame
		return p.ethernet(b)
	}
	return p.decodeLink(link, b, 0)
}

// decodeLink is Decode after the reset, for link headers that carry another
// link type too (depth of them already walked).
func (p *Parsed) decodeLink(link layers.LinkType, b []byte, depth int) error {
	switch link {
	case layers.LinkTypeEthernet:
		return p.ethernet(b)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// A 4-byte address family in the capturing host's byte order (NULL)
		// or network order (LOOP), with different values per OS: the IP
		// version nibble is the reliable signal.
		if len(b) < 4 {
			return ErrTruncated
		}
		return p.ip(b[4:])
	case layers.LinkTypeRaw, linkTypeRawOpenBSD, linkTypeRawBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return p.ip(b)
	case layers.LinkTypeLinuxSLL:
		if len(b) < 16 {
			return ErrTruncated
		}
		return p.etherType(layers.EthernetType(binary.BigEndian.Uint16(b[14:])), b[16:])
	case layers.LinkTypeLinuxSLL2:
		if len(b) < 20 {
			return ErrTruncated
		}
		return p.etherType(layers.EthernetType(binary.BigEndian.Uint16(b[0:])), b[20:])
	}
	return p.link(link, b, depth)
}

func (p *Parsed) ethernet(b []byte) error {
	if len(b) < 14 {
		return ErrTruncated
	}
	return p.etherType(layers.EthernetType(binary.BigEndian.Uint16(b[12:])), b[14:])
}

// maxTags bounds the VLAN/MPLS tags walked, so a crafted frame of endless
// tags costs a fixed amount.
const maxTags = 8

func (p *Parsed) etherType(et layers.EthernetType, b []byte) error {
	for range maxTags {
		switch et {
		case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ, 0x9100, 0x9200:
			if len(b) < 4 {
				p.Other.EtherType = et
				return ErrTruncated
			}
			et, b = layers.EthernetType(binary.BigEndian.Uint16(b[2:])), b[4:]
			continue
		case layers.EthernetTypeMPLSUnicast, layers.EthernetTypeMPLSMulticast:
			// Pop labels to the bottom of the stack; what follows has no type
			// field, so the IP version nibble decides.
			for range maxTags {
				if len(b) < 4 {
					p.Other.EtherType = et
					return ErrTruncated
				}
				bottom := b[2]&1 != 0
				b = b[4:]
				if bottom {
					return p.ip(b)
				}
			}
			p.Other.EtherType = et
			return ErrMalformed
		case layers.EthernetTypePPPoESession:
			if len(b) < 8 {
				p.Other.EtherType = et
				return ErrTruncated
			}
			switch binary.BigEndian.Uint16(b[6:]) {
			case 0x0021:
				return p.ipv4(b[8:])
			case 0x0057:
				return p.ipv6(b[8:])
			}
		case layers.EthernetTypeIPv4:
			return p.ipv4(b)
		case layers.EthernetTypeIPv6:
			return p.ipv6(b)
		}
		if et < 0x0600 {
			et = 0 // an 802.3 length, not a type: LLC/SNAP (STP, CDP, ...)
		}
		p.Other.EtherType = et
		return nil
	}
	p.Other.EtherType = et
	return ErrMalformed
}

// ip dispatches on the version nibble, for link types without a type field.
func (p *Parsed) ip(b []byte) error {
	if len(b) < 1 {
		return ErrTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return p.ipv4(b)
	case 6:
		return p.ipv6(b)
	}
	return ErrMalformed
}

func (p *Parsed) ipv4(b []byte) error {
	p.Other.EtherType = layers.EthernetTypeIPv4
	if len(b) < 20 {
		return ErrTruncated
	}
	ihl := int(b[0]&0x0f) * 4
	if b[0]>>4 != 4 || ihl < 20 {
		return ErrMalformed
	}
	if len(b) < ihl {
		return ErrTruncated
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	switch {
	case total == 0:
		// Segmentation offload: the NIC fills in the length later, so the
		// capture is the only measure.
		total = len(b)
	case total < ihl:
		return ErrMalformed
	case total < len(b):
		b = b[:total] // drop link-layer padding
	default:
		p.Beyond = total - len(b)
	}
	proto := ipproto.Proto(b[9])
	p.Other.IPProto = proto
	t := &p.Tuple
	t.Proto = proto
	t.Src = mapped4(b[12:16])
	t.Dst = mapped4(b[16:20])

	frag := binary.BigEndian.Uint16(b[6:])
	if off := frag & 0x1fff; off != 0 {
		p.Kind = KindFragment
		p.FragID = uint32(binary.BigEndian.Uint16(b[4:]))
		p.PayloadLen = total - ihl
		return nil
	}
	if frag&0x2000 != 0 {
		p.FirstFragment = true
		p.FragID = uint32(binary.BigEndian.Uint16(b[4:]))
	}
	return p.transport(proto, b[ihl:], total-ihl, false)
}

// maxExtHeaders bounds the IPv6 extension header chain.
const maxExtHeaders = 8

func (p *Parsed) ipv6(b []byte) error {
	p.Other.EtherType = layers.EthernetTypeIPv6
	if len(b) < 40 {
		return ErrTruncated
	}
	if b[0]>>4 != 6 {
		return ErrMalformed
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	switch {
	case plen == 0:
		// A jumbogram or a BIG TCP/offload capture: the length lives
		// elsewhere or nowhere; trust the capture.
		plen = len(b) - 40
	case 40+plen < len(b):
		b = b[:40+plen]
	default:
		p.Beyond = 40 + plen - len(b)
	}
	t := &p.Tuple
	copy(t.Src[:], b[8:24])
	copy(t.Dst[:], b[24:40])
	next := ipproto.Proto(b[6])
	b = b[40:]
	for range maxExtHeaders {
		var hlen int
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, destination, mobility, HIP, shim6
			if len(b) < 8 {
				p.Other.IPProto = next
				return ErrTruncated
			}
			hlen = (int(b[1]) + 1) * 8
		case 51: // AH counts in 4-byte units, less two
			if len(b) < 8 {
				p.Other.IPProto = next
				return ErrTruncated
			}
			hlen = (int(b[1]) + 2) * 4
		case 44: // fragment
			if len(b) < 8 {
				p.Other.IPProto = next
				return ErrTruncated
			}
			p.FragID = binary.BigEndian.Uint32(b[4:])
			off := binary.BigEndian.Uint16(b[2:]) >> 3
			if off != 0 {
				next = ipproto.Proto(b[0])
				p.Kind = KindFragment
				p.PayloadLen = plen - 8
				t.Proto = next
				p.Other.IPProto = next
				return nil
			}
			p.FirstFragment = binary.BigEndian.Uint16(b[2:])&1 != 0
			hlen = 8
		default:
			p.Other.IPProto = next
			t.Proto = next
			return p.transport(next, b, plen, true)
		}
		if len(b) < hlen {
			p.Other.IPProto = next
			return ErrTruncated
		}
		next = ipproto.Proto(b[0])
		b, plen = b[hlen:], plen-hlen
	}
	p.Other.IPProto = next
	return ErrMalformed
}

// transport decodes the layer-4 header in b, whose length per the IP header
// is l4len (b may be shorter when snapped).
func (p *Parsed) transport(proto ipproto.Proto, b []byte, l4len int, v6 bool) error {
	if l4len < len(b) {
		b = b[:max(l4len, 0)]
	}
	t := &p.Tuple
	switch proto {
	case ipproto.TCP:
		if len(b) < 20 {
			return ErrTruncated
		}
		off := int(b[12]>>4) * 4
		if off < 20 || off > l4len {
			return ErrMalformed
		}
		t.SrcPort = binary.BigEndian.Uint16(b[0:])
		t.DstPort = binary.BigEndian.Uint16(b[2:])
		p.TCPFlags = b[13]
		p.PayloadLen = l4len - off
		if off < len(b) {
			p.Payload = b[off:]
		}
		p.Kind = KindTransport
		return nil
	case ipproto.UDP:
		if len(b) < 8 {
			return ErrTruncated
		}
		t.SrcPort = binary.BigEndian.Uint16(b[0:])
		t.DstPort = binary.BigEndian.Uint16(b[2:])
		p.PayloadLen = l4len - 8
		p.Payload = b[8:]
		p.Kind = KindTransport
		return nil
	case ipproto.ICMPv4, ipproto.ICMPv6:
		if (proto == ipproto.ICMPv6) != v6 {
			return nil // ICMP for the other IP version: leave it as Other
		}
		if len(b) < 4 {
			return ErrTruncated
		}
		p.ICMPType, p.ICMPCode = b[0], b[1]
		p.Other.ICMPType, p.Other.IsICMP = b[0], true
		return p.icmp(proto, b, l4len)
	}
	// Another protocol: Encapsulated reads tunnels' payload, and its
	// declared length is the carried packet's length on the wire.
	p.Payload, p.PayloadLen = b, l4len
	return nil
}

func (p *Parsed) icmp(proto ipproto.Proto, b []byte, l4len int) error {
	typ := p.ICMPType
	switch {
	case proto == ipproto.ICMPv4 && (typ == icmp4Echo || typ == icmp4EchoReply),
		proto == ipproto.ICMPv6 && (typ == icmp6Echo || typ == icmp6EchoReply):
		if len(b) < 8 {
			return ErrTruncated
		}
		id := binary.BigEndian.Uint16(b[4:])
		p.Tuple.SrcPort, p.Tuple.DstPort = id, id
		p.PayloadLen = l4len - 8
		p.Payload = b[8:]
		p.Kind = KindTransport
		return nil
	case proto == ipproto.ICMPv4 && (typ == icmp4Unreachable || (typ >= icmp4Redirect-1 && typ <= icmp4Redirect) || typ == icmp4TimeExceed || typ == icmp4ParamProb),
		proto == ipproto.ICMPv6 && typ >= icmp6Unreachable && typ <= icmp6ParamProb:
		if len(b) < 8 {
			return ErrTruncated
		}
		if err := p.Quoted.decodeQuoted(b[8:]); err != nil {
			return err
		}
		p.Kind = KindICMPError
	}
	return nil
}

// decodeQuoted reads the tuple of the IP packet an ICMP error quotes. The
// quote is cut short by design (RFC 792 keeps 8 bytes of layer 4), so only the
// IP header and the first four layer-4 bytes are required.
func (t *Tuple) decodeQuoted(b []byte) error {
	if len(b) < 1 {
		return ErrTruncated
	}
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return ErrTruncated
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 {
			return ErrMalformed
		}
		if len(b) < ihl {
			return ErrTruncated
		}
		if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
			return ErrMalformed // a quoted later fragment has no ports to match
		}
		t.Proto = ipproto.Proto(b[9])
		t.Src, t.Dst = mapped4(b[12:16]), mapped4(b[16:20])
		l4 = b[ihl:]
	case 6:
		if len(b) < 40 {
			return ErrTruncated
		}
		copy(t.Src[:], b[8:24])
		copy(t.Dst[:], b[24:40])
		next, rest := ipproto.Proto(b[6]), b[40:]
		for range maxExtHeaders {
			if next != 0 && next != 43 && next != 60 && next != 44 {
				break
			}
			if len(rest) < 8 {
				return ErrTruncated
			}
			hlen := (int(rest[1]) + 1) * 8
			if next == 44 {
				hlen = 8
			}
			if len(rest) < hlen {
				return ErrTruncated
			}
			next, rest = ipproto.Proto(rest[0]), rest[hlen:]
		}
		t.Proto = next
		l4 = rest
	default:
		return ErrMalformed
	}
	switch t.Proto {
	case ipproto.TCP, ipproto.UDP:
		if len(l4) < 4 {
			return ErrTruncated
		}
		t.SrcPort = binary.BigEndian.Uint16(l4[0:])
		t.DstPort = binary.BigEndian.Uint16(l4[2:])
	case ipproto.ICMPv4, ipproto.ICMPv6:
		if len(l4) < 8 {
			return ErrTruncated
		}
		if !IsEchoRequest(t.Proto, l4[0]) && l4[0] != icmp4EchoReply && l4[0] != icmp6EchoReply {
			return ErrMalformed // only echo has an identity to tie the error to
		}
		id := binary.BigEndian.Uint16(l4[4:])
		t.SrcPort, t.DstPort = id, id
	default:
		return ErrMalformed
	}
	return nil
}

func mapped4(b []byte) (a [16]byte) {
	a[10], a[11] = 0xff, 0xff
	copy(a[12:], b[:4])
	return a
}

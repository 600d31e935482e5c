package flow

import (
	"bytes"
	"net/netip"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// Key identifies a bidirectional flow. Its endpoints are ordered (A is the
// lower address, then the lower port) so that both directions of a
// conversation have the same Key. Addresses are 16 bytes, IPv4 stored
// IPv4-mapped. For ICMP echo flows both ports hold the echo identifier.
//
// The layout follows tailscale's flowtrack.Tuple: a packed array key hashes
// and compares about twice as fast as one built from netip.AddrPort.
type Key struct {
	A, B         [16]byte
	APort, BPort uint16
	Proto        ipproto.Proto
}

// Side names one endpoint of a Key: SideA or SideB.
type Side uint8

const (
	SideA Side = 0
	SideB Side = 1
)

// Other returns the opposite side.
func (s Side) Other() Side { return s ^ 1 }

// KeyOf returns the Key of a directional tuple and the side that sent it.
func KeyOf(t packet.Tuple) (Key, Side) {
	var k Key
	return k, k.set(&t)
}

// set makes k the Key of t and returns the side that sent t. It writes the
// fields in place: building a Key and copying it, as KeyOf's callers did,
// went through the stack in overlapping 16-byte moves that stalled on store
// forwarding, and cost the reading goroutine of classify.Read more than
// decoding the packet.
func (k *Key) set(t *packet.Tuple) Side {
	c := bytes.Compare(t.Src[:], t.Dst[:])
	k.Proto = t.Proto
	if c < 0 || (c == 0 && t.SrcPort <= t.DstPort) {
		k.A, k.B, k.APort, k.BPort = t.Src, t.Dst, t.SrcPort, t.DstPort
		return SideA
	}
	k.A, k.B, k.APort, k.BPort = t.Dst, t.Src, t.DstPort, t.SrcPort
	return SideB
}

// equal is k == *o field by field: == on the whole struct calls
// runtime.memequal (its 38 bytes are no power of two), once per packet.
func (k *Key) equal(o *Key) bool {
	return k.A == o.A && k.B == o.B && k.APort == o.APort && k.BPort == o.BPort && k.Proto == o.Proto
}

// Addr returns the address of side s, unmapped for IPv4.
func (k Key) Addr(s Side) netip.Addr {
	if s == SideA {
		return netip.AddrFrom16(k.A).Unmap()
	}
	return netip.AddrFrom16(k.B).Unmap()
}

// Port returns the port of side s.
func (k Key) Port(s Side) uint16 {
	if s == SideA {
		return k.APort
	}
	return k.BPort
}

// MakeKey builds the Key of a conversation between two address/port pairs,
// in either order. It is the inverse of Key.Addr and Key.Port at the API edge.
func MakeKey(proto ipproto.Proto, a netip.AddrPort, b netip.AddrPort) Key {
	k, _ := KeyOf(packet.Tuple{
		Src: a.Addr().As16(), Dst: b.Addr().As16(),
		SrcPort: a.Port(), DstPort: b.Port(), Proto: proto,
	})
	return k
}

// From returns the directional tuple of a packet that side s sent.
func (k Key) From(s Side) packet.Tuple {
	if s == SideA {
		return packet.Tuple{Src: k.A, Dst: k.B, SrcPort: k.APort, DstPort: k.BPort, Proto: k.Proto}
	}
	return packet.Tuple{Src: k.B, Dst: k.A, SrcPort: k.BPort, DstPort: k.APort, Proto: k.Proto}
}

//go:build linux && (amd64 || arm64)

package bpf

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/packet"
)

// greHeader is a GRE header with the flags and EtherType given, and four
// bytes for each of checksum, key and sequence number the flags announce.
func greHeader(flags, et uint16) []byte {
	h := binary.BigEndian.AppendUint16(nil, flags)
	h = binary.BigEndian.AppendUint16(h, et)
	for _, bit := range []uint16{0x8000, 0x2000, 0x1000} {
		if flags&bit != 0 {
			h = append(h, 0, 0, 0, 1)
		}
	}
	return h
}

// erspan3 is an ERSPAN type III header of frame type ft, with the 8-byte
// platform subheader when o is set.
func erspan3(ft uint16, o bool) []byte {
	h := make([]byte, 12)
	h[0] = 0x20 // version 2 (type III)
	binary.BigEndian.PutUint16(h[10:], ft<<10)
	if o {
		h[11] |= 1
		h = append(h, make([]byte, 8)...)
	}
	return h
}

// tunnelFrames are GRE, ERSPAN and IP-in-IP packets between cli4 and srv4
// (or cli6 and srv6), each carrying a UDP datagram, and GRE packets that are
// no tunnel classify decapsulates. It returns the frames and, per tunnel
// direction, the packets that are tunnels.
func tunnelFrames(tb testing.TB) ([][]byte, map[Tunnel]uint64) {
	inner4 := udp4(tb, net4(10, 9, 0, 1), net4(10, 9, 0, 2), 4000, 53, "query")
	innerIP := inner4[14:]
	over4 := func(p layers.IPProtocol, payload ...[]byte) []byte {
		var b []byte
		for _, p := range payload {
			b = append(b, p...)
		}
		return build(tb, eth(layers.EthernetTypeIPv4), ip4(cli4, srv4, p), gopacket.Payload(b))
	}
	frames := [][]byte{
		over4(layers.IPProtocolGRE, greHeader(0, 0x0800), innerIP),                                                 // GRE, IPv4
		over4(layers.IPProtocolGRE, greHeader(0xb000, 0x6558), inner4),                                             // GRE with checksum, key, sequence; Ethernet
		over4(layers.IPProtocolGRE, greHeader(0, 0x88be), inner4),                                                  // ERSPAN type I
		over4(layers.IPProtocolGRE, greHeader(0x1000, 0x88be), make([]byte, 8), inner4),                            // ERSPAN type II
		over4(layers.IPProtocolGRE, greHeader(0, 0x22eb), erspan3(0, true), inner4),                                // ERSPAN type III, Ethernet, subheader
		over4(layers.IPProtocolGRE, greHeader(0, 0x22eb), erspan3(2, false), innerIP),                              // ERSPAN type III, IP
		over4(layers.IPProtocolIPv4, innerIP),                                                                      // IP-in-IP
		build(tb, eth(layers.EthernetTypeIPv6), ip6(cli6, srv6, layers.IPProtocolIPv4), gopacket.Payload(innerIP)), // IPv4 in IPv6
		// No tunnel classify decapsulates: other traffic only.
		over4(layers.IPProtocolGRE, greHeader(0, 0x0800)),                            // nothing inside
		over4(layers.IPProtocolGRE, greHeader(0x3001, 0x880b), inner4),               // PPTP's GRE (version 1)
		over4(layers.IPProtocolGRE, greHeader(0x4000, 0x0800), innerIP),              // source routing
		over4(layers.IPProtocolGRE, greHeader(0, 0x22eb), erspan3(7, false), inner4), // ERSPAN III of another frame type
		over4(layers.IPProtocolGRE, greHeader(0x2000, 0x0800)[:6]),                   // key cut short
		over4(layers.IPProtocolGRE, greHeader(0, 0x0806), inner4),                    // ARP inside
		over4(layers.IPProtocolIPv4),                                                 // IP-in-IP with nothing inside
	}
	a4, b4 := netip.AddrFrom4([4]byte(cli4.To4())), netip.AddrFrom4([4]byte(srv4.To4()))
	a6, _ := netip.AddrFromSlice(srv6)
	c6, _ := netip.AddrFromSlice(cli6)
	want := map[Tunnel]uint64{
		{Src: a4, Dst: b4, Kind: packet.TunnelGRE}:     2,
		{Src: a4, Dst: b4, Kind: packet.TunnelERSPAN2}: 2,
		{Src: a4, Dst: b4, Kind: packet.TunnelERSPAN3}: 2,
		{Src: a4, Dst: b4, Kind: packet.TunnelIPIP}:    1,
		{Src: c6, Dst: a6, Kind: packet.TunnelIPIP}:    1,
	}
	return frames, want
}

func net4(a, b, c, d byte) []byte { return []byte{a, b, c, d} }

// TestTunnelsCountedApart: the kernel counts the GRE, ERSPAN and IP-in-IP
// packets classify would decapsulate apart, per direction and kind, as
// well as other traffic (so that the totals still add up), and nothing
// else; engines.check holds the kernel to classify's packet.Encapsulated.
func TestTunnelsCountedApart(t *testing.T) {
	e := newEngines(t, Options{})
	frames, want := tunnelFrames(t)
	e.feed(frames...)
	e.feed(frames[0])
	want[Tunnel{Src: netip.AddrFrom4([4]byte(cli4.To4())), Dst: netip.AddrFrom4([4]byte(srv4.To4())), Kind: packet.TunnelGRE}]++
	if fs := e.check(); len(fs) != 0 {
		t.Errorf("%d flows from tunnel packets, want none (the kernel does not decapsulate)", len(fs))
	}
	got, err := e.c.Tunnels()
	if err != nil {
		t.Fatal(err)
	}
	gotN := map[Tunnel]uint64{}
	for _, tn := range got {
		n := tn.Packets
		tn.Packets, tn.Bytes = 0, 0
		gotN[tn] = n
	}
	for k, n := range want {
		if gotN[k] != n {
			t.Errorf("%v %v -> %v: %d packets, want %d", k.Kind, k.Src, k.Dst, gotN[k], n)
		}
	}
	if len(gotN) != len(want) {
		t.Errorf("tunnels %v, want %v", gotN, want)
	}
	st, err := e.c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.TunnelPackets != 9 || st.OtherPackets != uint64(len(frames)+1) {
		t.Errorf("tunnel packets %d of other %d, want 9 of %d", st.TunnelPackets, st.OtherPackets, len(frames)+1)
	}
}

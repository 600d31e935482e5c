//go:build linux && (amd64 || arm64)

package bpf

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/flow"
)

// TestNewFlowRecordNamesTheClient: a new-flow record carries what the
// creating packet says about who opened the flow, so that NewFlow.Flow
// tells client from server as the flow map would after that one packet. An
// alert is judged from the record alone; without the opening, an ICMP echo
// request looked like an echo reply and its alert named the wrong client.
func TestNewFlowRecordNamesTheClient(t *testing.T) {
	echo := func(typ uint8, from, to []byte) []byte {
		return build(t, eth(layers.EthernetTypeIPv4), ip4(from, to, layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: 9}, gopacket.Payload("ping"))
	}
	cli := netip.MustParseAddr("10.0.0.5")
	for _, tc := range []struct {
		name          string
		frame         []byte
		client        netip.Addr
		flags         uint8
		opening, quot bool
	}{
		{"tcp syn", tcp4(t, true, 40000, 7000, "S", ""), cli, 0x02, true, false},
		// High ports both: only the flags can say who the client is.
		{"tcp syn-ack first", tcp4(t, false, 50010, 40000, "SA", ""), cli, 0x12, false, false},
		{"udp", udp4(t, cli4, srv4, 40001, 5000, "x"), cli, 0, false, false},
		{"icmp echo request", echo(8, cli4, srv4), cli, 0, true, false},
		{"icmp echo reply first", echo(0, srv4, cli4), cli, 0, false, false},
		{"quoted by an unreachable", icmpUnreachable4(t, srv4, cli4, 3, udp4(t, cli4, srv4, 40003, 6000, "")), cli, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loadCounter(t, Options{})
			c.run(t, tc.frame)
			nf := receive(t, c, 1)[0]
			if nf.Flags != tc.flags || nf.Opening != tc.opening || nf.Quoted != tc.quot {
				t.Errorf("record flags %#x opening %v quoted %v, want %#x %v %v", nf.Flags, nf.Opening, nf.Quoted, tc.flags, tc.opening, tc.quot)
			}
			f := nf.Flow()
			side, _ := f.Client(flow.PortHints{})
			if got := f.Key.Addr(side); got != tc.client {
				t.Errorf("the record's flow names client %v, want %v", got, tc.client)
			}
			// The map's flow after the same packet agrees on roles and
			// on what was counted.
			fs, err := c.Flows()
			if err != nil {
				t.Fatal(err)
			}
			m := oneFlow(t, fs)
			mside, _ := m.Client(flow.PortHints{})
			if m.Key != f.Key || mside != side || m.Packets != f.Packets || m.SYNs != f.SYNs || m.Flags != f.Flags || m.FirstSide != f.FirstSide || (m.Unreachable != 0) != (f.Unreachable != 0) {
				t.Errorf("record's flow %s\n  map's flow %s", describe(&f), describe(&m))
			}
			if f.State(side) != m.State(mside) {
				t.Errorf("state %v from the record, %v from the map", f.State(side), m.State(mside))
			}
		})
	}
}

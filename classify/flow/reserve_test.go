package flow_test

import (
	"slices"
	"testing"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// TestReserveKeepsFlowsInPlace: a table that reserved room for its flows
// never moves them, and counts exactly what a table that grows counts.
func TestReserveKeepsFlowsInPlace(t *testing.T) {
	ps := parsed(t, 40_000, 3_000)
	grown, reserved := flow.NewTable(16), flow.NewTable(16)
	reserved.Reserve(4_000)
	var first *flow.Flow
	for i := range ps {
		grown.Packet(&ps[i], int64(i), 100)
		reserved.Packet(&ps[i], int64(i), 100)
		if first == nil {
			first = reserved.Flow(0)
		}
		if reserved.Flow(0) != first {
			t.Fatalf("packet %d moved the reserved flows (%d flows)", i, reserved.Len())
		}
	}
	if reserved.Len() != 3_000 || !slices.Equal(grown.Flows(), reserved.Flows()) {
		t.Errorf("reserved table: %d flows, equal to the grown table's: %v", reserved.Len(), slices.Equal(grown.Flows(), reserved.Flows()))
	}
}

// TestSetMaxRefusesNewFlows: a full table still counts the packets of the
// flows it holds, and takes no new flow, from a packet or from an ICMP
// error's quote.
func TestSetMaxRefusesNewFlows(t *testing.T) {
	ps := parsed(t, 5_000, 300)
	tab := flow.NewTable(16)
	tab.SetMax(100)
	held, refused := 0, 0
	for i := range ps {
		switch j, _, _ := tab.Packet(&ps[i], int64(i), 100); {
		case j >= 0:
			held++
		default:
			refused++
		}
	}
	if tab.Len() != 100 || refused == 0 {
		t.Fatalf("%d flows held, %d packets refused; want 100 and some", tab.Len(), refused)
	}
	var inHeld uint64
	for _, f := range tab.Flows() {
		p, _ := f.Total()
		inHeld += p
	}
	if inHeld != uint64(held) {
		t.Errorf("the held flows count %d packets, want every one not refused (%d)", inHeld, held)
	}
	p := ps[len(ps)-1]
	quote := packet.Parsed{Kind: packet.KindICMPError, ICMPType: 3, ICMPCode: 3, Quoted: p.Tuple,
		Tuple: packet.Tuple{Src: p.Tuple.Dst, Dst: p.Tuple.Src, Proto: ipproto.ICMPv4}}
	quote.Quoted.SrcPort = 1 // a flow the table cannot hold
	if i := tab.ICMPError(&quote, 1); i >= 0 || tab.Len() != 100 {
		t.Errorf("an error's quote of a new flow went to flow %d (%d flows)", i, tab.Len())
	}
}

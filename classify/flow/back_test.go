package flow

import (
	"net/netip"
	"testing"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// TestTableBacksAhead: through growth and Reserve, the pages of every flow
// the table holds were backed before it was written,
// and backing never claims beyond the array.
func TestTableBacksAhead(t *testing.T) {
	tab := NewTable(16)
	server := netip.MustParseAddr("192.0.2.1").As16()
	check := func(when string) {
		t.Helper()
		if tab.backed < len(tab.flows) || tab.backed > cap(tab.flows) {
			t.Fatalf("%s: %d flows of capacity %d, %d backed", when, len(tab.flows), cap(tab.flows), tab.backed)
		}
	}
	add := func(n int) {
		for range n {
			a := netip.AddrFrom4([4]byte{10, 0, byte(tab.Len() >> 8), byte(tab.Len())})
			k, _ := KeyOf(packet.Tuple{Proto: ipproto.TCP, Src: a.As16(), Dst: server, SrcPort: 40000, DstPort: 443})
			if _, isNew := tab.get(k); !isNew {
				t.Fatalf("flow %d was not new", tab.Len())
			}
			check("adding")
		}
	}
	add(5_000) // past NewTable's 16 and several doublings
	tab.Reserve(20_000)
	check("after Reserve")
	add(10_000) // past the first backStep of the reserved array
	if tab.backed == cap(tab.flows) {
		t.Errorf("all %d flows of the reserved array backed for %d flows: backing should run only ahead", cap(tab.flows), tab.Len())
	}
}

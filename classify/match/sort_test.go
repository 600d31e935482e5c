package match

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// TestReportOrderMatchesCompareFlows: sorting the flows' byte keys gives
// the order compareFlows defines on the judged results, across protocols,
// address families and flows seen from either side.
func TestReportOrderMatchesCompareFlows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := &Matcher{}
	h := m.PortHints()
	addr := func() netip.Addr {
		if r.IntN(4) == 0 {
			return netip.AddrFrom16([16]byte{0xfd, 15: byte(r.IntN(4))})
		}
		return netip.AddrFrom4([4]byte{10, byte(r.IntN(2)), 0, byte(r.IntN(4))})
	}
	for _, n := range []int{0, 1, 2, 3, 17, 1000, 3*minPart + 1} {
		seen := map[flow.Key]bool{}
		var flows []flow.Flow
		for len(flows) < n {
			proto := ipproto.Proto([]uint8{1, 6, 17}[r.IntN(3)])
			client, server := addr(), addr()
			if client.Is4() != server.Is4() {
				continue
			}
			cport, sport := uint16(1024+r.IntN(50000)), uint16(r.IntN(3))
			k := flow.MakeKey(proto, netip.AddrPortFrom(client, cport), netip.AddrPortFrom(server, sport))
			if seen[k] {
				continue
			}
			seen[k] = true
			f := flow.Flow{Key: k}
			// The client opened it: the orientation comes from the SYN.
			s := flow.SideA
			if k.Addr(flow.SideB) == client && k.Port(flow.SideB) == cport {
				s = flow.SideB
			}
			f.SYNs[s], f.Packets[s] = 1, 1
			flows = append(flows, f)
		}
		var got []FlowResult
		order, _ := reportOrder(flows, h)
		for _, i := range order {
			got = append(got, m.Flow(&flows[i], nil, nil, nil))
		}
		if !slices.IsSortedFunc(got, func(a, b FlowResult) int { return compareFlows(&a, &b) }) {
			t.Fatalf("n=%d: reportOrder does not follow compareFlows", n)
		}
		if len(got) != n {
			t.Fatalf("n=%d: %d flows ordered", n, len(got))
		}
	}
}

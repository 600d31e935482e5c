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
			// Bytes on both sides of the key's word boundaries vary.
			return netip.AddrFrom16([16]byte{0xfd, 6: byte(r.IntN(2)), 7: byte(r.IntN(2)), 15: byte(r.IntN(4))})
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

// TestSortV4: the radix sort puts keys in compareV4's order, whether their
// bytes vary everywhere, in a few places only (the passes it skips) or
// nowhere.
func TestSortV4(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 3, 255, 256, 257, 5000} {
		for _, mask := range []struct{ hi, lo uint64 }{{^uint64(0), ^uint64(0)}, {0x00ff_0000_00ff_0001, 0xf0_0000_0f00}, {0, 0}} {
			keys := make([]v4Key, n)
			for i := range keys {
				keys[i] = v4Key{hi: r.Uint64() & mask.hi, lo: r.Uint64() & mask.lo, i: int32(i)}
			}
			want := slices.Clone(keys)
			slices.SortStableFunc(want, compareV4)
			sortV4(keys)
			if !slices.Equal(keys, want) {
				t.Fatalf("n=%d, mask %x: not in compareV4's order (or not stable)", n, mask)
			}
		}
	}
}

func BenchmarkSortV4(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	src := make([]v4Key, 85_000)
	for i := range src {
		// As in the benchmark capture: a few servers and ports, many clients.
		src[i] = v4Key{
			hi: 6<<48 | uint64(0xac10_0000+r.IntN(64))<<16 | 443,
			lo: uint64(0x0a01_0000+r.IntN(1<<16))<<16 | uint64(30000+r.IntN(30000)),
			i:  int32(i),
		}
	}
	keys := make([]v4Key, len(src))
	b.Run("radix", func(b *testing.B) {
		for range b.N {
			copy(keys, src)
			sortV4(keys)
		}
	})
	b.Run("slices.SortFunc", func(b *testing.B) {
		for range b.N {
			copy(keys, src)
			slices.SortFunc(keys, compareV4)
		}
	})
}

package match

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// TestSortFlowsMatchesSortFunc: sorting positions and moving each result
// along the permutation's cycles gives what sorting the results does.
func TestSortFlowsMatchesSortFunc(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 3, 17, 1000} {
		fs := make([]FlowResult, n)
		for i := range fs {
			f := &fs[i]
			f.Proto = ipproto.Proto([]uint8{1, 6, 17}[r.IntN(3)])
			f.Server = netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(4))})
			f.Client = netip.AddrFrom4([4]byte{10, 1, byte(r.IntN(3)), byte(r.IntN(256))})
			f.ServerPort, f.ClientPort = uint16(r.IntN(3)), uint16(i) // ClientPort makes every key unique
			f.Why = []string{f.Client.String()}                       // a pointer field travels with its result
		}
		want := slices.Clone(fs)
		slices.SortFunc(want, func(a, b FlowResult) int { return compareFlows(&a, &b) })
		sortFlows(fs)
		for i := range fs {
			if fs[i].ClientPort != want[i].ClientPort || fs[i].Why[0] != fs[i].Client.String() {
				t.Fatalf("n=%d: position %d holds flow %d, want %d", n, i, fs[i].ClientPort, want[i].ClientPort)
			}
		}
	}
}

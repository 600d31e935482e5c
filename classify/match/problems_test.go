package match_test

import (
	"net/netip"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestProblemsAreData: listing and folding the problems of a capture whose
// every flow is one allocates a fixed number of times, not once per
// problem: problems are data, and only the report words them, after they
// fold (issue 22; issue 20's memory at a million flows). Words per
// problem, as before, were an allocation or more each.
func TestProblemsAreData(t *testing.T) {
	const flows = 20_000
	res := everyFlowAProblem(t, flows, 2)
	problems := res.Problems()
	if len(problems) < flows/2 {
		t.Fatalf("%d problems of %d flows: the capture no longer makes most flows a problem", len(problems), flows)
	}
	allocs := testing.AllocsPerRun(3, func() { res.Findings(res.Problems()) })
	if allocs > 1000 {
		t.Errorf("Problems and Findings allocate %.0f times for %d problems; want a fixed number (under 1000)", allocs, len(problems))
	}
}

// everyFlowAProblem judges a generated capture of the benchmark mix against
// storage-gateway/common, which makes nearly every flow unexpected.
func everyFlowAProblem(tb testing.TB, flows int, seed uint64) *match.Result {
	tb.Helper()
	obs := testobs.Generated(tb, gencap.Config{Packets: 4 * flows, Flows: flows, Seed: seed})
	set, err := profile.Load("storage-gateway/common")
	if err != nil {
		tb.Fatal(err)
	}
	m, err := match.New(set, match.Options{Host: []netip.Prefix{netip.MustParsePrefix("10.1.0.1/32")}})
	if err != nil {
		tb.Fatal(err)
	}
	return m.Evaluate(obs)
}

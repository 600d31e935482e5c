package match_test

import (
	"net/netip"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// BenchmarkEvaluate judges every flow of a 50,000-flow capture of the
// benchmark mix, against the benchmark's profile (every service allowed)
// and against storage-gateway/common (almost every flow unexpected, the
// most work per flow). ns/flow is the figure to read.
func BenchmarkEvaluate(b *testing.B) {
	const flows = 50_000
	obs := testobs.Generated(b, gencap.Config{Packets: 4 * flows, Flows: flows, Seed: 1})
	for _, bc := range []struct{ name, profile string }{
		{"expected", "../../bench/profile.yaml"},
		{"unexpected", "storage-gateway/common"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			set, err := profile.Load(bc.profile)
			if err != nil {
				b.Fatal(err)
			}
			m, err := match.New(set, match.Options{Host: []netip.Prefix{netip.MustParsePrefix("10.1.0.1/32")}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if res := m.Evaluate(obs); len(res.Flows) != flows {
					b.Fatalf("%d flows judged, want %d", len(res.Flows), flows)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*flows), "ns/flow")
		})
	}
}

// BenchmarkProblems lists and folds the problems of a 50,000-flow capture
// of the benchmark mix under storage-gateway/common, where nearly every
// flow is one: what every report format does before it writes. ns/flow is
// the figure to read.
func BenchmarkProblems(b *testing.B) {
	const flows = 50_000
	res := everyFlowAProblem(b, flows, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if fs := res.Findings(res.Problems()); len(fs.List) < flows/2 {
			b.Fatalf("%d findings of %d flows, want most of them", len(fs.List), flows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*flows), "ns/flow")
}

package match_test

import (
	"reflect"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestEvaluateEqualsFlowAlone: Evaluate shares names, rule lists and
// explanations among results (a filter of named addresses, caches, the
// previous result's answers); each judged flow must read as Matcher.Flow
// judges it alone, without any of them, names and server names included.
func TestEvaluateEqualsFlowAlone(t *testing.T) {
	const flows = 20_000
	obs := testobs.Generated(t, gencap.Config{Packets: 4 * flows, Flows: flows, Seed: 9})
	if obs.Names.Len() == 0 || len(obs.ServerNames) == 0 {
		t.Fatalf("%d named addresses and %d server names: the capture must have both", obs.Names.Len(), len(obs.ServerNames))
	}
	type view struct {
		Verdict                               match.FlowVerdict
		Rule                                  *profile.Rule
		Rules                                 []*profile.Rule
		Client, Server, Service, SNI          string
		ClientNames, ServerNames, Labels, Why []string
		Unverified                            []string
		Direction                             match.Direction
	}
	see := func(f *match.FlowResult) view {
		return view{f.Verdict, f.Rule, f.Rules(), f.Client().String(), f.Server().String(), f.Service(), f.SNI(),
			f.ClientNames(), f.ServerNames(), f.ServerLabels(), f.Why(), f.Unverified(), f.Direction}
	}
	for _, ref := range []string{"../../bench/profile.yaml", "storage-gateway/common"} {
		m := matcherFor(t, ref)
		res := m.Evaluate(obs)
		named := 0
		for i := range res.Flows {
			got := &res.Flows[i]
			if got.Related() != nil {
				continue // relating flows is Evaluate's alone
			}
			alone := m.Flow(got.Flow, res.Host, obs.Names, obs.ServerNames)
			if g, w := see(got), see(&alone); !reflect.DeepEqual(g, w) {
				t.Fatalf("%s: flow %d judged\n%+v\nin Evaluate, alone\n%+v", ref, i, g, w)
			}
			if len(got.ClientNames())+len(got.ServerNames()) > 0 {
				named++
			}
		}
		if named < flows/100 {
			t.Fatalf("%s: %d flows with names, too few to test their sharing", ref, named)
		}
	}
}

// matcherFor is the matcher of the profile ref with no options (the host
// inferred).
func matcherFor(tb testing.TB, ref string) *match.Matcher {
	tb.Helper()
	set, err := profile.Load(ref)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := match.New(set, match.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

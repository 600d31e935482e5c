package match_test

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestFindingsFold checks Findings against what a person sees: flow
// problems fold exactly when their kind, rule, what (direction, protocol,
// port, service, both endpoints and their names) and state are the same;
// the counts add up to the problems; each flow names the findings of its
// problems and of the blocked rule it tried. Real captures from the shared
// corpus (DHCP, NTP and HTTPS retried from many ports), the faulty gateway
// (a blocked rule) and a generated capture of 5,000 flows.
func TestFindingsFold(t *testing.T) {
	corpus := "../../../shared/corpus/protocols"
	cases := []struct {
		name string
		obs  *classify.Observation
		ref  string
		host string
	}{
		{"monitor", testobs.File(t, filepath.Join(corpus, "google-testrun__conn__captures__monitor.pcap")), "storage-gateway/common", ""},
		{"ntp", testobs.File(t, filepath.Join(corpus, "google-testrun__ntp__captures__ntp.pcap")), "storage-gateway/common", ""},
		{"nfs3", testobs.File(t, filepath.Join(corpus, "suricata-verify__nfs3-procedure__input.pcap")), "storage-gateway/common", ""},
		{"faulty", testobs.File(t, "../../testdata/captures/filegw-faulty.pcap"), "storage-gateway/file-nfs", "10.0.0.5/32"},
		{"generated", testobs.Generated(t, gencap.Config{Packets: 20_000, Flows: 5_000, Seed: 3}), "storage-gateway/common", ""},
	}
	folded, blocked := 0, 0
	for _, tc := range cases {
		set, err := profile.Load(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		var opts match.Options
		if tc.host != "" {
			opts.Host = []netip.Prefix{netip.MustParsePrefix(tc.host)}
		}
		m, err := match.New(set, opts)
		if err != nil {
			t.Fatal(err)
		}
		res := m.Evaluate(tc.obs)
		problems := res.Problems()
		fs := res.Findings(problems)

		// What a person reads as the same finding, worded independently
		// of the fold's key.
		same := func(p *match.Problem) string {
			f := &res.Flows[p.Flow]
			rule := ""
			if p.Rule != nil {
				rule = p.Rule.ID()
			}
			what := fmt.Sprintf("%s %s %s from %s to %s", f.Direction, report.ProtoPort(f.Proto, f.ServerPort), f.Service(),
				report.Endpoint(f.Client(), f.ClientNames()), report.Endpoint(f.Server(), f.ServerLabels()))
			return fmt.Sprintf("%s|%s|%s|%s|%d/%d/%v|%s", p.Kind, rule, what, f.State, f.Flow.UnreachableType, f.Flow.UnreachableCode, f.Flow.UnreachableFrom, f.App)
		}
		seen := map[string]int{}
		flowProblems, counted := 0, 0
		for j := range fs.List {
			fd := &fs.List[j]
			switch {
			case fd.Kind == match.ProblemBlocked:
				blocked++
				// A blocked finding stands for its endpoint's failed attempts
				// (issue 17: other endpoints of the rule may have worked).
				rr := ruleOf(res, fd.Rule)
				attempts := rr.Flows
				for _, fe := range rr.Failed {
					if !fe.Reached && fe.Flows[0] == fd.Flow {
						attempts = fe.Flows
					}
				}
				if fd.Flows != len(attempts) || fd.Flows == 0 {
					t.Errorf("%s: blocked finding counts %d flows; its endpoint had %d failed attempts", tc.name, fd.Flows, len(attempts))
				}
				for _, fi := range attempts {
					if !slices.Contains(fs.Of(nil, fi), j) {
						t.Errorf("%s: flow %d of blocked rule %s does not name its finding", tc.name, fi, fd.Rule.ID())
					}
				}
			case fd.Flow >= 0:
				counted += fd.Flows
				if fd.Flows > 1 {
					folded++
				}
				k := same(&fd.Problem)
				if prev, ok := seen[k]; ok {
					t.Errorf("%s: findings %d and %d are the same: %s", tc.name, prev, j, k)
				}
				seen[k] = j
			default:
				if fd.Flows != 0 {
					t.Errorf("%s: %s finding without a flow counts %d flows", tc.name, fd.Kind, fd.Flows)
				}
			}
		}
		for k := range problems {
			p := &problems[k]
			if p.Flow < 0 || p.Kind == match.ProblemBlocked {
				continue
			}
			flowProblems++
			j, ok := seen[same(p)]
			if !ok {
				t.Errorf("%s: problem %d (%s) folded into no finding like it", tc.name, k, report.ProblemText(res, p))
				continue
			}
			if !slices.Contains(fs.Of(nil, p.Flow), j) {
				t.Errorf("%s: flow %d does not name finding %d of its problem %q", tc.name, p.Flow, j, report.ProblemText(res, p))
			}
		}
		if counted != flowProblems {
			t.Errorf("%s: flow findings count %d flows; there are %d flow problems", tc.name, counted, flowProblems)
		}
		if len(fs.List) > len(problems) {
			t.Errorf("%s: %d findings of %d problems", tc.name, len(fs.List), len(problems))
		}
	}
	if folded == 0 || blocked == 0 {
		t.Fatalf("%d folded findings and %d blocked ones: the captures no longer test the fold", folded, blocked)
	}
}

func ruleOf(res *match.Result, r *profile.Rule) *match.RuleResult {
	for i := range res.Rules {
		if res.Rules[i].Rule == r {
			return &res.Rules[i]
		}
	}
	return nil
}

package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"
	"golang.org/x/net/html"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// monitorCapture is a real device's traffic (shared corpus) in which
// HTTPS, NTP and DHCP were retried from many client ports: against
// storage-gateway/common every flow is unexpected, and 92 flows are 15
// findings.
const monitorCapture = "../../../shared/corpus/protocols/google-testrun__conn__captures__monitor.pcap"

// TestProblemsFoldInEveryFormat: every format lists a finding once, with
// its count, and JSON keeps every flow and names each flow's finding.
func TestProblemsFoldInEveryFormat(t *testing.T) {
	res := judged(t, testobs.File(t, monitorCapture), "storage-gateway/common")
	problems := res.Problems()
	fs := res.Findings(problems)
	// many counts the flow findings of several flows, which carry the count
	// line (a blocked rule's finding says "and N more failed attempts").
	many, fails := 0, 0
	for _, f := range fs.List {
		if f.Flows > 1 && f.Kind != match.ProblemBlocked {
			many++
		}
		if f.Fails {
			fails++
		}
	}
	if many == 0 || len(fs.List) >= len(problems) {
		t.Fatalf("%d problems, %d findings, %d of several flows: nothing to fold", len(problems), len(fs.List), many)
	}
	countRE := regexp.MustCompile(`\(one of (\d+) flows with the same service, peer and outcome\)`)

	t.Run("text", func(t *testing.T) {
		out := string(render(t, func(b *bytes.Buffer, r *match.Result) error { return Text(b, r) }, res))
		section := out[strings.Index(out, "\nProblems:\n"):strings.Index(out, "\nRules:\n")]
		if n := strings.Count(section, "\n  "); n != len(fs.List) {
			t.Errorf("%d problem lines, want %d findings", n, len(fs.List))
		}
		if n := len(countRE.FindAllString(section, -1)); n != many {
			t.Errorf("%d lines give a count, want %d", n, many)
		}
		if !strings.HasPrefix(out, fmt.Sprintf("NOT CONFORMANT: %d problems\n", fails)) {
			t.Errorf("headline %q, want the findings counted", out[:strings.Index(out, "\n")])
		}
	})
	t.Run("markdown", func(t *testing.T) {
		out := string(render(t, func(b *bytes.Buffer, r *match.Result) error { return Markdown(b, r) }, res))
		if n := len(regexp.MustCompile(`(?m)^\d+\. \*\*`).FindAllString(out, -1)); n != fails {
			t.Errorf("%d numbered problem items, want %d failing findings", n, fails)
		}
		if n := len(countRE.FindAllString(out, -1)); n != many {
			t.Errorf("%d items give a count, want %d", n, many)
		}
	})
	t.Run("html", func(t *testing.T) {
		doc, err := html.Parse(bytes.NewReader(render(t, func(b *bytes.Buffer, r *match.Result) error { return HTML(b, r) }, res)))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(findAll(byID(doc, "problems"), "li")); n != len(fs.List) {
			t.Errorf("%d problem items, want %d", n, len(fs.List))
		}
		if n := len(countRE.FindAllString(text(byID(doc, "problems")), -1)); n != many {
			t.Errorf("%d items give a count, want %d", n, many)
		}
	})
	t.Run("sarif", func(t *testing.T) {
		var raw struct {
			Runs []struct {
				Results []struct {
					Properties map[string]any `json:"properties"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(render(t, func(b *bytes.Buffer, r *match.Result) error { return SARIF(b, r) }, res), &raw); err != nil {
			t.Fatal(err)
		}
		rs := raw.Runs[0].Results
		if len(rs) != len(fs.List) {
			t.Fatalf("%d results, want %d", len(rs), len(fs.List))
		}
		for i, r := range rs {
			want := fs.List[i].Flows
			got, ok := r.Properties["flows"].(float64)
			if (want > 1) != ok || (ok && int(got) != want) {
				t.Errorf("result %d: flows property %v, want %d", i, r.Properties["flows"], want)
			}
		}
	})
	t.Run("junit", func(t *testing.T) {
		suites, err := junit.Ingest(render(t, func(b *bytes.Buffer, r *match.Result) error { return JUnit(b, r) }, res))
		if err != nil {
			t.Fatal(err)
		}
		failing := 0
		for _, f := range fs.List {
			if f.Fails && f.Flow >= 0 && (f.Kind == match.ProblemUnexpected || f.Kind == match.ProblemForbidden) {
				failing++
			}
		}
		for _, s := range suites {
			if s.Name == "flows" && s.Totals.Failed != failing {
				t.Errorf("flows suite: %d failing cases, want %d findings", s.Totals.Failed, failing)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		var rep Report
		if err := json.Unmarshal(render(t, func(b *bytes.Buffer, r *match.Result) error { return JSON(b, r) }, res), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Flows) != len(res.Flows) || len(rep.Problems) != len(fs.List) {
			t.Fatalf("%d flows, %d problems; want %d and %d", len(rep.Flows), len(rep.Problems), len(res.Flows), len(fs.List))
		}
		members := make([]int, len(rep.Problems))
		for i, f := range rep.Flows {
			for _, p := range f.Problems {
				members[p]++
				if f.Verdict == "unexpected" && rep.Problems[p].Kind != "unexpected" {
					t.Errorf("flow %d: unexpected, in a %s problem", i, rep.Problems[p].Kind)
				}
			}
			if f.Verdict == "unexpected" && len(f.Problems) == 0 {
				t.Errorf("flow %d is unexpected and in no problem", i)
			}
		}
		for i, p := range rep.Problems {
			if members[i] != p.Count {
				t.Errorf("problem %d counts %d flows; %d flows name it", i, p.Count, members[i])
			}
			if p.Flow != nil && !contains(rep.Flows[*p.Flow].Problems, i) {
				t.Errorf("problem %d: its example flow %d does not name it", i, *p.Flow)
			}
		}
	})
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

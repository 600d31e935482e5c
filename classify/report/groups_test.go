package report

import (
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestFailingFlowsGroupEachFailingFlowOnce: JUnit's cases of failing flows
// (failingFlows) put every unexpected or forbidden flow in the group of its
// finding, once, in the order of the problems, and a group has as many
// flows as its finding counts; on a generated capture where some findings
// fold several flows and most stand for one.
func TestFailingFlowsGroupEachFailingFlowOnce(t *testing.T) {
	const flows = 3_000
	res := judged(t, testobs.Generated(t, gencap.Config{Packets: 4 * flows, Flows: flows, Seed: 4}), "storage-gateway/common")
	problems := res.Problems()
	fs := res.Findings(problems)
	groups := failingFlows(res, problems, fs)
	group := map[int]int{} // flow -> group
	folded := 0
	for gi := range groups {
		g := &groups[gi]
		if len(g.flows) != g.finding.Flows {
			t.Errorf("group %d has %d flows; its finding counts %d", gi, len(g.flows), g.finding.Flows)
		}
		if len(g.flows) > 1 {
			folded++
		}
		for _, fi := range g.flows {
			if prev, ok := group[fi]; ok {
				t.Errorf("flow %d is in groups %d and %d", fi, prev, gi)
			}
			group[fi] = gi
		}
	}
	next := 0 // groups appear in the order of their first problem
	for k := range problems {
		p := &problems[k]
		if !p.Fails || p.Flow < 0 || (p.Kind != match.ProblemUnexpected && p.Kind != match.ProblemForbidden) {
			continue
		}
		gi, ok := group[p.Flow]
		switch {
		case !ok:
			t.Fatalf("failing flow %d is in no group", p.Flow)
		case groups[gi].finding != &fs.List[fs.OfProblem(k)]:
			t.Errorf("flow %d is in a group of another finding", p.Flow)
		case gi > next:
			t.Errorf("group %d comes before group %d's first problem", next, gi)
		case gi == next:
			next++
		}
	}
	if next != len(groups) || folded == 0 || len(groups) < 100 {
		t.Errorf("%d groups, %d reached in order, %d of several flows: the capture no longer tests the grouping", len(groups), next, folded)
	}
}

package match

import (
	"fmt"
	"strings"

	"github.com/wirecheck/wirecheck/internal/textout"
)

// foldedProblem says that flows beyond the flow limit were counted per
// service but not judged, and which services they were: a forbidden or
// unexpected flow may be among them, so a clean verdict cannot be given.
func (r *Result) foldedProblem() (Problem, bool) {
	fo := &r.Obs.Folded
	if len(fo.Services) == 0 {
		return Problem{}, false
	}
	var top []string
	for i, s := range fo.Services {
		if i == 3 {
			top = append(top, fmt.Sprintf("and %d more", len(fo.Services)-i))
			break
		}
		top = append(top, fmt.Sprintf("%s %s (%s)", s.Direction, ProtoPort(s.Proto, s.ServerPort), textout.Count(s.Flows, "flow")))
	}
	n := fmt.Sprint(fo.Flows)
	if !fo.Exact {
		n = "at least " + n
	}
	return Problem{ProblemFolded, false, nil, -1, fmt.Sprintf(
		"folded: %s flows beyond the flow limit were counted per service but not judged: %s — raise --max-flows or narrow the capture with --filter to judge them",
		n, strings.Join(top, ", "))}, true
}

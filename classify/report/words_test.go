package report

import (
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
)

// TestEveryProblemKindIsWorded: every problem of the test captures is
// worded by its kind's function, which starts the line with the kind as a
// person reads it; no kind falls through to a bare name. The captures
// between them raise most kinds; the test fails if they stop doing so.
func TestEveryProblemKindIsWorded(t *testing.T) {
	prefix := map[match.ProblemKind]string{
		match.ProblemBlocked: "blocked: ", match.ProblemMissing: "missing: ", match.ProblemForbidden: "forbidden: ",
		match.ProblemUnexpected: "unexpected: ", match.ProblemInconclusive: "inconclusive: ",
		match.ProblemDiscouraged: "discouraged: ", match.ProblemMismatch: "protocol mismatch: ",
		match.ProblemFolded: "folded: ", match.ProblemFailedAttempt: "failed attempt: ", match.ProblemUnbound: "unbound: ",
	}
	seen := map[match.ProblemKind]bool{}
	for _, c := range []struct {
		file    string
		fixture bool
	}{{"filegw-faulty.pcap", true}, {"filegw-faulty.pcap", false}, {"misc.pcapng", false}, {"halfopen.pcap", false}, {"tls-legacy.pcapng", true}, {"datasync-vpc.pcapng", false}} {
		res := evaluate(t, c.file, c.fixture)
		for _, p := range res.Problems() {
			text := ProblemText(res, &p)
			if !strings.HasPrefix(text, prefix[p.Kind]) || len(text) < len(prefix[p.Kind])+20 {
				t.Errorf("%s: %s problem worded %q", c.file, p.Kind, text)
			}
			seen[p.Kind] = true
		}
	}
	if len(seen) < 8 {
		t.Errorf("the captures raise %d kinds of problem (%v); the test needs most of them", len(seen), seen)
	}
	t.Logf("kinds worded: %v", seen)
}

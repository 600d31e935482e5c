package report

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestTextFitsTheTerminal: at 80 columns (and 60) every line of the text
// report fits, on the faulty gateway, every rule status with markup (the
// fixture), and a real capture with long names and IPv6 (monitor); no word
// of the wide report is lost; a problem's continuation lines are indented
// past its number; the wide layout (width 0) is Text's.
func TestTextFitsTheTerminal(t *testing.T) {
	results := map[string]*match.Result{
		"faulty":  evaluate(t, "filegw-faulty.pcap", false),
		"fixture": evaluate(t, "filegw-faulty.pcap", true),
		"misc":    evaluate(t, "misc.pcapng", false),
		"monitor": judged(t, testobs.File(t, monitorCapture), "storage-gateway/common"),
	}
	for name, res := range results {
		wide := render(t, func(b *bytes.Buffer, r *match.Result) error { return Text(b, r) }, res)
		if zero := render(t, func(b *bytes.Buffer, r *match.Result) error { return TextWidth(b, r, 0) }, res); !bytes.Equal(zero, wide) {
			t.Errorf("%s: width 0 is not Text's layout", name)
		}
		for _, width := range []int{80, 60} {
			out := string(render(t, func(b *bytes.Buffer, r *match.Result) error { return TextWidth(b, r, width) }, res))
			for i, l := range strings.Split(out, "\n") {
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("%s, %d columns: line %d has %d: %q", name, width, i+1, n, l)
				}
			}
			// Every word of the wide report's problems is in the narrow one,
			// in order, and a problem wraps under its text.
			problems := func(s string) string {
				s = s[strings.Index(s, "\nProblems:\n"):strings.Index(s, "\nRules:\n")]
				return strings.Join(strings.Fields(s), " ")
			}
			if problems(out) != problems(string(wide)) {
				t.Errorf("%s, %d columns: the problems' words differ from the wide report's", name, width)
			}
			if strings.Contains(out, "\n  1. ") && !strings.Contains(out, "\n     ") {
				t.Errorf("%s, %d columns: no problem line continues under its text", name, width)
			}
			// Each flow's words are all there.
			for i := range res.Flows {
				f := &res.Flows[i]
				if !strings.Contains(out, f.Client().String()) || !strings.Contains(out, f.Server().String()) {
					t.Errorf("%s, %d columns: flow %d's endpoints are missing", name, width, i)
				}
			}
		}
	}
}

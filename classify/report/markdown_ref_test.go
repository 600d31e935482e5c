package report

import (
	"bytes"
	"cmp"
	"fmt"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestMarkdownFlowsAreTheModels holds the streamed flows table to the
// rows the report model's flows (Build) give, as Markdown wrote them
// before it streamed: IPv6, ICMP, names, markup (the fixture), several
// chunks (generated).
func TestMarkdownFlowsAreTheModels(t *testing.T) {
	for name, res := range map[string]*match.Result{
		"fixture":   evaluate(t, "filegw-faulty.pcap", true),
		"misc":      evaluate(t, "misc.pcapng", false),
		"monitor":   judged(t, testobs.File(t, monitorCapture), "storage-gateway/common"),
		"generated": judged(t, testobs.Generated(t, gencap.Config{Packets: 12_000, Flows: 3 * streamChunk, Seed: 4}), "storage-gateway/common"),
	} {
		var want strings.Builder
		for _, f := range Build(res).Flows {
			verdict := mdText(f.Verdict)
			if f.Verdict == "unexpected" || f.Verdict == "forbidden" {
				verdict = "**" + verdict + "**"
			}
			rule := "–"
			if f.Rule != nil {
				rule = mdText(ruleCell(&f))
			}
			fmt.Fprintf(&want, "| %s | %s | %s | %s | %s | %s | %s | %d | %d | %s |\n", verdict, f.Proto,
				mdText(joinHostPort(f.Client, f.ClientPort, f.Proto)), mdText(serverCell(&f)),
				mdText(cmp.Or(serviceCell(&f), "–")), f.Direction, f.State, f.Packets, f.Bytes, rule)
		}
		out := string(render(t, func(b *bytes.Buffer, r *match.Result) error { return Markdown(b, r) }, res))
		_, table, _ := strings.Cut(out, "|---|---|---|---|---|---|---|--:|--:|---|\n")
		table, _, _ = strings.Cut(table, "\n</details>")
		if table != want.String() {
			t.Errorf("%s: the flows table differs from the model's:\n%s", name, firstDiff([]byte(table), []byte(want.String())))
		}
	}
}

package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
)

// TestJSONStreamsWhatMarshalIndentWrites holds the streaming JSON writer to
// the bytes encoding/json writes for the whole report at once, on captures
// with flows, with every rule status (the fixture), and with none.
func TestJSONStreamsWhatMarshalIndentWrites(t *testing.T) {
	results := map[string]*match.Result{
		"faulty":  evaluate(t, "filegw-faulty.pcap", false),
		"misc":    evaluate(t, "misc.pcapng", false),
		"fixture": evaluate(t, "filegw-conformant.pcapng", true),
	}
	empty := *results["misc"]
	empty.Flows = nil
	results["no flows"] = &empty
	for name, res := range results {
		want, err := json.MarshalIndent(Build(res), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		got := render(t, func(b *bytes.Buffer, r *match.Result) error { return JSON(b, r) }, res)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: streamed JSON differs from MarshalIndent's:\n%s", name, firstDiff(got, want))
		}
	}
}

func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return "got:  ..." + string(got[lo:min(len(got), i+80)]) + "\nwant: ..." + string(want[lo:min(len(want), i+80)])
}

package report

import (
	"bytes"
	"html"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestTunnelsInEveryFormat judges libpcap's VXLAN capture, whose ICMP flow
// is inside one tunnel, and checks every format lists the tunnel with its
// packets and flows, and says what decapsulation meant (JSON has it as
// tunnels[] and flows[].tunnel).
func TestTunnelsInEveryFormat(t *testing.T) {
	res := judged(t, testobs.File(t, filepath.Join(testcorpus.Dir(t, "protocols"), "libpcap__vxlan.pcap")), "storage-gateway/common")
	const tunnel = "vxlan 192.168.203.1 -> 192.168.202.1: 10 packets, 1 flow"
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer, *match.Result) error
		want  string
	}{
		{"text", func(b *bytes.Buffer, r *match.Result) error { return Text(b, r) }, "Tunnels (" + tunnelsNote + "):\n  " + tunnel + "\n"},
		{"markdown", func(b *bytes.Buffer, r *match.Result) error { return Markdown(b, r) }, "- **Tunnel** (" + tunnelsNote + "): " + html.EscapeString(tunnel) + "\n"},
		{"html", func(b *bytes.Buffer, r *match.Result) error { return HTML(b, r) }, "<dt>Tunnel</dt><dd>" + html.EscapeString(tunnel) + " (" + html.EscapeString(tunnelsNote) + ")</dd>"},
		{"junit", func(b *bytes.Buffer, r *match.Result) error { return JUnit(b, r) }, "tunnel (" + tunnelsNote + "): " + tunnel + "\n"},      // in CDATA
		{"sarif", func(b *bytes.Buffer, r *match.Result) error { return SARIF(b, r) }, `"` + strings.ReplaceAll(tunnel, ">", `\u003e`) + `"`}, // in the run's properties
	} {
		out := string(render(t, f.write, res))
		if !strings.Contains(out, f.want) {
			t.Errorf("%s does not say %q:\n%s", f.name, f.want, out)
		}
	}
	// Without a tunnel, no format mentions one.
	plain := evaluate(t, "filegw-faulty.pcap", false)
	for name, write := range map[string]func(*bytes.Buffer, *match.Result) error{
		"text": func(b *bytes.Buffer, r *match.Result) error { return Text(b, r) }, "markdown": func(b *bytes.Buffer, r *match.Result) error { return Markdown(b, r) },
		"html": func(b *bytes.Buffer, r *match.Result) error { return HTML(b, r) }, "junit": func(b *bytes.Buffer, r *match.Result) error { return JUnit(b, r) },
		"sarif": func(b *bytes.Buffer, r *match.Result) error { return SARIF(b, r) },
	} {
		if out := string(render(t, write, plain)); strings.Contains(strings.ToLower(out), "tunnel") {
			t.Errorf("%s mentions a tunnel for a capture without one", name)
		}
	}
}

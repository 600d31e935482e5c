package report

import (
	"bytes"
	"encoding/json"
	"html"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestRelatedInEveryFormat judges suricata-verify's nfs3-procedure capture,
// whose mount flows go to a port rpcbind announced (GETADDR for mountd), and
// checks every format names the relation: how, the control flow, the rule.
func TestRelatedInEveryFormat(t *testing.T) {
	obs := testobs.File(t, filepath.Join(testcorpus.Dir(t, "protocols"), "suricata-verify__nfs3-procedure__input.pcap"))
	set, err := profile.LoadWith(func(string) ([]byte, error) {
		return []byte(`version: 1
profile: test/nfs
rules:
  - {name: portmapper, from: any, to: any, proto: both, ports: [111], level: required, related: ["rpc:mountd"]}
  - {name: nfs, from: any, to: any, proto: both, ports: [2049], level: required}
`), nil
	}, "nfs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := match.New(set, match.Options{Host: []netip.Prefix{netip.MustParsePrefix("139.25.22.102/32")}})
	if err != nil {
		t.Fatal(err)
	}
	res := m.Evaluate(obs)
	if res.Verdict != match.Conformant {
		t.Fatalf("verdict %s: %v", res.Verdict, res.Problems())
	}
	// The flow from 139.25.22.2:722 followed the third GETADDR, from 3299.
	const want = "GETADDR of mountd (100005) in udp 139.25.22.2:3299 -> 139.25.22.102:111"
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer, *match.Result) error
		want  string
	}{
		{"text", func(b *bytes.Buffer, r *match.Result) error { return Text(b, r) }, "test/nfs:portmapper (related: " + want + ")"},
		{"markdown", func(b *bytes.Buffer, r *match.Result) error { return Markdown(b, r) }, html.EscapeString("test/nfs:portmapper (related: " + want + ")")},
		{"junit", func(b *bytes.Buffer, r *match.Result) error { return JUnit(b, r) }, "related: " + want + " under test/nfs:portmapper"}, // in CDATA,
		// In the flow groups table too, not only in the diagram's
		// tooltips, which stop at 20 flows: the three mountd flows are
		// one group, named after its first flow's announcement.
		{"html", func(b *bytes.Buffer, r *match.Result) error { return HTML(b, r) }, `<small class="names">` + html.EscapeString("related: GETADDR of mountd (100005) in udp 139.25.22.2:3295 -> 139.25.22.102:111 (the first of 3)")},
		{"sarif", func(b *bytes.Buffer, r *match.Result) error { return SARIF(b, r) }, strings.ReplaceAll("related: "+want+" under test/nfs:portmapper", ">", `\u003e`)},
	} {
		out := string(render(t, f.write, res))
		if !strings.Contains(out, f.want) {
			t.Errorf("%s does not say %q", f.name, f.want)
		}
	}
	var rep Report
	if err := json.Unmarshal(render(t, func(b *bytes.Buffer, r *match.Result) error { return JSON(b, r) }, res), &rep); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range rep.Flows {
		if f.Related == nil {
			continue
		}
		n++
		r := f.Related
		if f.ServerPort != 1048 || r.How != "GETADDR" || r.Program != 100005 || r.ProgramName != "mountd" || r.Rule != "test/nfs:portmapper" ||
			r.AnnouncedBy != "139.25.22.102:111" || r.ControlFlow == nil || rep.Flows[*r.ControlFlow].ServerPort != 111 || !strings.HasPrefix(r.Control, "udp 139.25.22.2:") {
			t.Errorf("related %+v on flow to %d", r, f.ServerPort)
		}
	}
	if n != 3 {
		t.Errorf("%d related flows in JSON, want 3", n)
	}
}

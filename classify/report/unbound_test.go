package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestUnboundVisibleInEveryFormat: the conforming file gateway capture,
// judged with nfs-clients unbound, names the group and the --peer to bind
// in every format; with --strict that is a failure in every format.
func TestUnboundVisibleInEveryFormat(t *testing.T) {
	set, err := profile.Load("storage-gateway/file-nfs")
	if err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		m, err := match.New(set, match.Options{Host: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}, Strict: strict,
			Peers: map[string][]netip.Prefix{"dns-servers": {netip.MustParsePrefix("10.0.0.53/32")}, "browser": {netip.MustParsePrefix("10.0.0.20/32")}}})
		if err != nil {
			t.Fatal(err)
		}
		res := m.Evaluate(testobs.File(t, filepath.Join(captures, "filegw-conformant.pcapng")))
		if want := map[bool]match.Verdict{false: match.Conformant, true: match.NotConformant}[strict]; res.Verdict != want {
			t.Fatalf("strict=%v: verdict %s, want %s", strict, res.Verdict, want)
		}
		for name, write := range map[string]func(*bytes.Buffer, *match.Result) error{
			"text":     func(b *bytes.Buffer, r *match.Result) error { return Text(b, r) },
			"json":     func(b *bytes.Buffer, r *match.Result) error { return JSON(b, r) },
			"markdown": func(b *bytes.Buffer, r *match.Result) error { return Markdown(b, r) },
			"junit":    func(b *bytes.Buffer, r *match.Result) error { return JUnit(b, r) },
			"html":     func(b *bytes.Buffer, r *match.Result) error { return HTML(b, r) },
			"sarif":    func(b *bytes.Buffer, r *match.Result) error { return SARIF(b, r) },
		} {
			out := string(render(t, write, res))
			if !strings.Contains(out, "group nfs-clients is unbound") || !strings.Contains(out, "--peer nfs-clients=CIDR") {
				t.Errorf("strict=%v %s: the unbound group and its --peer are not shown", strict, name)
			}
			if strings.Contains(out, "group dns-servers is unbound") {
				t.Errorf("strict=%v %s: dns-servers is bound, yet reported unbound", strict, name)
			}
			if strict && name == "junit" && !strings.Contains(out, `<testcase classname="flows" name="no flow accepted only through an unbound group (storage-gateway/file-nfs:`) ||
				strict && name == "junit" && !strings.Contains(out, `<failure message="unbound: `) {
				t.Errorf("strict junit: the unbound acceptance is not a failing test case:\n%s", out)
			}
			if !strict && name == "junit" && strings.Contains(out, `type="unbound"`) {
				t.Errorf("junit without --strict: an unbound acceptance fails a case")
			}
			if strict && name == "sarif" && !strings.Contains(out, `"level": "error"`) {
				t.Errorf("strict sarif: no error-level result")
			}
		}
		var rep Report
		if err := json.Unmarshal(render(t, func(b *bytes.Buffer, r *match.Result) error { return JSON(b, r) }, res), &rep); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range rep.Flows {
			if len(f.Unbound) > 0 {
				n++
				if f.Unbound[0] != "nfs-clients" || f.Direction != "inbound" {
					t.Errorf("flow %s:%d unbound %v (%s)", f.Server, f.ServerPort, f.Unbound, f.Direction)
				}
			}
		}
		if n != 5 || !rep.Strict == strict {
			t.Errorf("strict=%v: %d flows marked unbound (want the 5 NFS flows), report strict %v", strict, n, rep.Strict)
		}
	}
}

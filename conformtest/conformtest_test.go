package conformtest

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/match"
)

// recorder is a TB that records instead of failing. Its Fatalf returns,
// unlike testing's: the assertions return right after calling it.
type recorder struct {
	errors, fatals []string
}

func (*recorder) Helper() {}
func (r *recorder) Errorf(f string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(f, a...))
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(f, a...))
}

const captures = "../testdata/captures"

var gw = Options{Profiles: []string{"storage-gateway/file-nfs"}, Host: []string{"10.0.0.5"}}

func TestAssertConforms(t *testing.T) {
	// The real thing passes on the conforming capture.
	if res := AssertConforms(t, filepath.Join(captures, "filegw-conformant.pcapng"), gw); res == nil || len(res.Flows) != 13 {
		t.Fatalf("result %v", res)
	}
	var r recorder
	res := AssertConforms(&r, filepath.Join(captures, "filegw-faulty.pcap"), gw)
	if res == nil || len(r.errors) != 1 || len(r.fatals) != 0 {
		t.Fatalf("errors %q fatals %q", r.errors, r.fatals)
	}
	msg := r.errors[0]
	for _, want := range []string{
		"does not conform to storage-gateway/common, storage-gateway/file-nfs (host 10.0.0.5): 4 problems",
		"\n  1. blocked: TCP 443 to 198.51.100.10",
		"\n  2. missing: UDP 123",
		"\n      - name: smtp-out\n",
		"\n      - name: telnet-in\n",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
}

func TestAssertConformsErrors(t *testing.T) {
	tests := []struct {
		name    string
		capture string
		opts    Options
		want    string
	}{
		{"no profile", "filegw-conformant.pcapng", Options{}, "Options.Profiles names no profile"},
		{"unknown profile", "filegw-conformant.pcapng", Options{Profiles: []string{"nope/none"}}, "no built-in profile of that name"},
		{"bad host", "filegw-conformant.pcapng", Options{Profiles: gw.Profiles, Host: []string{"10.0.0.5/8"}}, "Options.Host"},
		{"unknown peer group", "filegw-conformant.pcapng", Options{Profiles: gw.Profiles, Peers: map[string][]string{"nobody": {"10.0.0.1"}}}, "Options.Peers nobody: no profile defines a peer group"},
		{"missing capture", "nope.pcap", gw, "no such file"},
		{"bad tunnels", "filegw-conformant.pcapng", Options{Profiles: gw.Profiles, Tunnels: "on"}, `Options.Tunnels "on": want auto or off`},
		{"bad filter", "filegw-conformant.pcapng", Options{Profiles: gw.Profiles, Filter: "tcp port"}, `Options.Filter: filter "tcp port"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			if res := AssertConforms(&r, filepath.Join(captures, tc.capture), tc.opts); res != nil {
				t.Error("a result for a check that could not run")
			}
			if len(r.fatals) != 1 || !strings.Contains(r.fatals[0], tc.want) {
				t.Errorf("fatals %q, want one containing %q", r.fatals, tc.want)
			}
		})
	}
}

// TestDamagedCapture: the packets before the damage are judged, and the
// damage fails the test too.
func TestDamagedCapture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(captures, "filegw-conformant.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcapng")
	if err := os.WriteFile(cut, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	var r recorder
	res := AssertConforms(&r, cut, gw)
	if res == nil || len(res.Flows) == 0 {
		t.Fatal("nothing judged before the damage")
	}
	if len(r.errors) == 0 || !strings.Contains(r.errors[0], "reading stopped after packet") {
		t.Errorf("errors %q", r.errors)
	}
}

func TestAssertNoWorseThan(t *testing.T) {
	golden := "../testdata/golden"
	var r recorder
	AssertNoWorseThan(&r, filepath.Join(captures, "filegw-faulty.pcap"), filepath.Join(golden, "filegw-faulty.json"), gw)
	if len(r.errors)+len(r.fatals) != 0 {
		t.Errorf("known problems failed the test: %q %q", r.errors, r.fatals)
	}
	r = recorder{}
	AssertNoWorseThan(&r, filepath.Join(captures, "filegw-faulty.pcap"), filepath.Join(golden, "filegw-conformant.json"), gw)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "is worse than the baseline") ||
		!strings.Contains(r.errors[0], "\n  WORSE: 4 changes for the worse") ||
		!strings.Contains(r.errors[0], "storage-gateway/common:ntp            required  seen  missing") {
		t.Errorf("errors %q", r.errors)
	}
	r = recorder{}
	AssertNoWorseThan(&r, filepath.Join(captures, "filegw-faulty.pcap"), filepath.Join(captures, "README.md"), gw)
	if len(r.fatals) != 1 || !strings.Contains(r.fatals[0], "not a wirecheck JSON report") {
		t.Errorf("fatals %q", r.fatals)
	}
}

// TestLimits: Check applies the limits analyse applies. Beyond MaxFlows
// the flows are folded per service with their direction, from Host or, as
// analyse does, inferred from the flows kept. Before, conformtest read
// without limits, and the classifier's host inference was wired only in
// the CLI, so a reader outside it folded without a direction.
func TestLimits(t *testing.T) {
	faulty := filepath.Join(captures, "filegw-faulty.pcap")
	res, err := Check(faulty, gw)
	if err != nil || len(res.Flows) != 14 || res.Obs.Folded.Flows != 0 {
		t.Fatalf("default limits: err %v, %d flows, folded %+v", err, len(res.Flows), res.Obs.Folded)
	}
	for _, tc := range []struct {
		name string
		host []string
	}{{"host given", gw.Host}, {"host inferred", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := gw
			opts.Host, opts.MaxFlows = tc.host, 3
			res, err := Check(faulty, opts)
			if err != nil {
				t.Fatal(err)
			}
			fo := res.Obs.Folded
			if len(res.Flows) != 3 || fo.Flows != 11 || len(fo.Services) != 9 {
				t.Fatalf("%d flows kept, folded %+v; want 3 kept, 11 folded into 9 services", len(res.Flows), fo)
			}
			if want := netip.MustParsePrefix("10.0.0.5/32"); len(fo.Host) != 1 || fo.Host[0] != want {
				t.Errorf("folded with host %v, want %v", fo.Host, want)
			}
			dirs := map[classify.FoldKey]uint64{}
			for _, s := range fo.Services {
				if s.Direction == classify.FoldUnknown {
					t.Errorf("folded service %+v has no direction", s)
				}
				dirs[s.FoldKey] = s.Flows
			}
			for k, n := range map[classify.FoldKey]uint64{
				{Proto: ipproto.TCP, ServerPort: 111, Direction: classify.FoldInbound}:  2,
				{Proto: ipproto.TCP, ServerPort: 443, Direction: classify.FoldOutbound}: 1,
				{Proto: ipproto.TCP, ServerPort: 25, Direction: classify.FoldOutbound}:  1,
			} {
				if dirs[k] != n {
					t.Errorf("folded %v: %d flows, want %d (folded: %+v)", k, dirs[k], n, fo.Services)
				}
			}
			// The blocked HTTPS flow was kept and fails; what was folded
			// could not be judged.
			if res.Verdict != match.NotConformant {
				t.Errorf("verdict %v", res.Verdict)
			}
		})
	}
	t.Run("filter", func(t *testing.T) {
		opts := gw
		opts.Filter = "not tcp port 25"
		res, err := Check(faulty, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Obs.Filter != opts.Filter || res.Obs.FilterExcluded != 11 || len(res.Flows) != 13 {
			t.Errorf("filter %q excluded %d frames, %d flows; want 11 frames of the SMTP flow left out, 13 flows", res.Obs.Filter, res.Obs.FilterExcluded, len(res.Flows))
		}
	})
	t.Run("tunnels off", func(t *testing.T) {
		opts := gw
		opts.Tunnels = "off"
		if _, err := Check(faulty, opts); err != nil {
			t.Error(err)
		}
	})
	t.Run("no cap", func(t *testing.T) {
		opts := gw
		opts.MaxFlows = -1
		if res, err := Check(faulty, opts); err != nil || len(res.Flows) != 14 {
			t.Errorf("err %v", err)
		}
	})
}

// TestEmptyPeerList: a group given no address is left as the profiles
// define it (unbound here), not bound to nothing.
func TestEmptyPeerList(t *testing.T) {
	opts := gw
	opts.Peers = map[string][]string{"nfs-clients": {}}
	res, err := Check(filepath.Join(captures, "filegw-conformant.pcapng"), opts)
	if err != nil || res.Verdict != match.Conformant {
		t.Fatalf("err %v, verdict %v", err, res.Verdict)
	}
}

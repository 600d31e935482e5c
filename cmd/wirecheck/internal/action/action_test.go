package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/classify/drift"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
)

const captures = "../../../../testdata/captures"

var (
	faulty     = filepath.Join(captures, "filegw-faulty.pcap")
	conformant = filepath.Join(captures, "filegw-conformant.pcapng")
)

// judge is what the golden reports judge against: the file gateway's
// profile, the lab host, a JSON report.
func judge() Judge {
	return Judge{Match: Match{Profiles: []string{"storage-gateway/file-nfs"}, Host: []string{"10.0.0.5"}}, Format: "json"}
}

// streams are Streams with buffers, stdin reading in.
func streams(in []byte) (Streams, *bytes.Buffer, *bytes.Buffer) {
	var out, errs bytes.Buffer
	return Streams{In: bytes.NewReader(in), Out: &out, Err: &errs}, &out, &errs
}

// analyse runs Analyse with a JSON report to Streams.Out and decodes it.
func analyse(t *testing.T, o AnalyseOptions, stdin []byte) (Outcome, *report.Report, string) {
	t.Helper()
	o.Quiet = true
	s, out, errs := streams(stdin)
	outcome, err := Analyse(o, s)
	if err != nil {
		t.Fatalf("Analyse: %v (stderr %q)", err, errs)
	}
	rep, err := drift.DecodeReport(out)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	return outcome, rep, errs.String()
}

// failing lists the report's failing problems as kind and rule or server
// port.
func failing(rep *report.Report) []string {
	var got []string
	for _, p := range rep.Problems {
		if !p.Fails {
			continue
		}
		what := ""
		switch {
		case p.Rule != nil:
			what = *p.Rule
		case p.Flow != nil:
			f := rep.Flows[*p.Flow]
			what = fmt.Sprintf("%s/%s:%d", f.Proto, f.Server, f.ServerPort)
		}
		got = append(got, p.Kind+" "+what)
	}
	return got
}

// isOption is whether an error is an *OptionError of option.
func isOption(option string) func(error) bool {
	return func(err error) bool {
		var oe *OptionError
		return errors.As(err, &oe) && oe.Option == option
	}
}

// TestAnalyseVerdicts: the faulty gateway fails with the four faults its
// recording put in (and nothing on stderr), the conformant one passes.
func TestAnalyseVerdicts(t *testing.T) {
	outcome, rep, stderr := analyse(t, AnalyseOptions{Judge: judge(), Captures: []string{faulty}, Tunnels: "auto"}, nil)
	want := []string{
		"blocked storage-gateway/common:https-service",
		"missing storage-gateway/common:ntp",
		"unexpected tcp/10.0.0.5:23",
		"unexpected tcp/203.0.113.25:25",
	}
	if outcome != Fail || rep.Verdict != "not-conformant" || !slices.Equal(failing(rep), want) {
		t.Errorf("faulty: outcome %d verdict %s problems %q, want Fail with %q", outcome, rep.Verdict, failing(rep), want)
	}
	if stderr != "" {
		t.Errorf("faulty: stderr %q, want nothing", stderr)
	}
	outcome, rep, _ = analyse(t, AnalyseOptions{Judge: judge(), Captures: []string{conformant}, Tunnels: "auto"}, nil)
	if outcome != Pass || rep.Verdict != "conformant" || len(failing(rep)) != 0 {
		t.Errorf("conformant: outcome %d verdict %s problems %q", outcome, rep.Verdict, failing(rep))
	}
}

// TestAnalyseStdin: "-" reads Streams.In, and gives the report the file
// gives under its own name.
func TestAnalyseStdin(t *testing.T) {
	data, err := os.ReadFile(faulty)
	if err != nil {
		t.Fatal(err)
	}
	_, byName, _ := analyse(t, AnalyseOptions{Judge: judge(), Captures: []string{faulty}, Tunnels: "auto"}, nil)
	outcome, byStdin, _ := analyse(t, AnalyseOptions{Judge: judge(), Captures: []string{"-"}, Tunnels: "auto"}, data)
	if outcome != Fail || len(byStdin.Inputs) != 1 || byStdin.Inputs[0].Name != "-" {
		t.Fatalf("stdin: outcome %d inputs %+v", outcome, byStdin.Inputs)
	}
	a, b := byStdin.Summary, byName.Summary
	if a.Packets != b.Packets || a.Bytes != b.Bytes || a.Flows != b.Flows || a.Packets == 0 || !slices.Equal(failing(byStdin), failing(byName)) || len(byStdin.Flows) != len(byName.Flows) {
		t.Errorf("stdin and file differ:\n%+v %q\n%+v %q", byStdin.Summary, failing(byStdin), byName.Summary, failing(byName))
	}
}

// TestAnalyseDamagedKeepsWhatWasRead: a capture cut inside a packet is
// said on Streams.Err, in one line naming it, and judged as far as it goes.
func TestAnalyseDamagedKeepsWhatWasRead(t *testing.T) {
	data, err := os.ReadFile(faulty)
	if err != nil {
		t.Fatal(err)
	}
	outcome, rep, stderr := analyse(t, AnalyseOptions{Judge: judge(), Captures: []string{"-"}, Tunnels: "auto"}, data[:len(data)*2/3+5])
	if rep.Complete || rep.Summary.Packets == 0 || outcome != Fail {
		t.Errorf("complete %v packets %d outcome %d, want incomplete, packets kept, Fail", rep.Complete, rep.Summary.Packets, outcome)
	}
	if !strings.HasPrefix(stderr, "wirecheck: -: ") || !strings.HasSuffix(stderr, " (what was read before it is kept)\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q, want one line saying what stopped", stderr)
	}
}

// TestAnalyseBaseline: compared with a baseline of itself the faulty
// gateway passes (nothing got worse) and says so on Streams.Err; compared
// with the conformant one it fails.
func TestAnalyseBaseline(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ file, name string }{{faulty, "faulty.json"}, {conformant, "good.json"}} {
		o := AnalyseOptions{Judge: judge(), Captures: []string{c.file}, Tunnels: "auto"}
		o.Output = filepath.Join(dir, c.name)
		if _, err := Analyse(o, Streams{Out: new(bytes.Buffer), Err: new(bytes.Buffer)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		baseline string
		want     Outcome
		says     string
	}{{"faulty.json", Pass, "SAME:"}, {"good.json", Fail, "WORSE:"}} {
		outcome, rep, stderr := analyse(t, AnalyseOptions{Judge: judge(), Captures: []string{faulty}, Tunnels: "auto", Baseline: filepath.Join(dir, c.baseline)}, nil)
		if outcome != c.want || rep.Verdict != "not-conformant" || !strings.Contains(stderr, "Compared with the baseline") || !strings.Contains(stderr, c.says) {
			t.Errorf("baseline %s: outcome %d (want %d) verdict %s, stderr %q", c.baseline, outcome, c.want, rep.Verdict, stderr)
		}
	}
}

// TestAnalyseRefusesBeforeReading: each option an analyse cannot use is
// refused in its options' terms, in the order the contract gives, and
// before any capture is opened (the captures named do not exist).
func TestAnalyseRefusesBeforeReading(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pcap")
	good := func() AnalyseOptions {
		return AnalyseOptions{Judge: judge(), Captures: []string{missing}, Tunnels: "auto"}
	}
	for _, tc := range []struct {
		name string
		edit func(*AnalyseOptions)
		is   func(error) bool
	}{
		// Two mistakes: the files are said first.
		{"capture twice", func(o *AnalyseOptions) { o.Captures = []string{faulty, missing, faulty}; o.Profiles = nil }, func(err error) bool { return strings.Contains(err.Error(), "is given twice") }},
		{"no profile", func(o *AnalyseOptions) { o.Profiles = nil; o.Format = "xml" }, func(err error) bool { return errors.Is(err, ErrNoProfile) }},
		{"format", func(o *AnalyseOptions) { o.Format = "xml"; o.Host = []string{"nope"} }, func(err error) bool {
			var fe *FormatError
			return errors.As(err, &fe) && fe.Format == "xml" && slices.Equal(fe.Formats, report.Formats())
		}},
		{"host", func(o *AnalyseOptions) { o.Host = []string{"10.0.0.300"}; o.MaxFlows = -1 }, func(err error) bool {
			var be *match.BindingError
			return errors.As(err, &be) && be.Peer == ""
		}},
		{"peer group", func(o *AnalyseOptions) { o.Peers = []string{"nfs-clientz=10.0.0.0/24"} }, func(err error) bool {
			var me *match.OptionError
			return errors.As(err, &me) && me.Field == "Peers"
		}},
		{"baseline", func(o *AnalyseOptions) { o.Baseline = filepath.Join(dir, "none.json"); o.MaxFlows = -1 }, isOption("Baseline")},
		{"max flows", func(o *AnalyseOptions) { o.MaxFlows = -1; o.Tunnels = "maybe" }, isOption("MaxFlows")},
		{"tunnels", func(o *AnalyseOptions) { o.Tunnels = "maybe" }, isOption("Tunnels")},
		{"output is the input", func(o *AnalyseOptions) { o.Captures = []string{faulty}; o.Output = faulty }, func(err error) bool { return strings.Contains(err.Error(), "would destroy it") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			tc.edit(&o)
			s, out, _ := streams(nil)
			_, err := Analyse(o, s)
			if err == nil || !tc.is(err) || out.Len() != 0 {
				t.Errorf("err %v (%T), %d bytes written", err, err, out.Len())
			}
		})
	}
	// With every option right, the missing capture is what is said.
	if _, err := Analyse(good(), Streams{Out: new(bytes.Buffer), Err: new(bytes.Buffer)}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing capture: %v", err)
	}
}

// TestSuggestDraftIsAProfile: the YAML draft of the faulty gateway parses
// as a profile, and analyse judges the capture conformant to it; with -p
// only what the profile leaves unexpected is drafted.
func TestSuggestDraftIsAProfile(t *testing.T) {
	dir := t.TempDir()
	draft := filepath.Join(dir, "draft.yaml")
	o := SuggestOptions{Match: Match{Host: []string{"10.0.0.5"}}, Captures: []string{faulty}, CollapseV4: 24, CollapseV6: 64, Format: "yaml", Output: draft, Quiet: true}
	s, out, _ := streams(nil)
	if err := Suggest(o, s); err != nil || out.Len() != 0 {
		t.Fatalf("Suggest: %v, %d bytes on stdout", err, out.Len())
	}
	data, err := os.ReadFile(draft)
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(draft, data)
	if err != nil {
		t.Fatalf("the draft is no profile: %v\n%s", err, data)
	}
	if p.Name != "draft/filegw-faulty" {
		t.Errorf("draft named %q, want draft/filegw-faulty (DraftName of the capture)", p.Name)
	}
	outcome, rep, _ := analyse(t, AnalyseOptions{Judge: Judge{Match: Match{Profiles: []string{draft}, Host: []string{"10.0.0.5"}}, Format: "json"}, Captures: []string{faulty}, Tunnels: "auto"}, nil)
	if outcome != Pass || rep.Verdict != "conformant" {
		t.Errorf("faulty against its own draft: outcome %d verdict %s problems %q", outcome, rep.Verdict, failing(rep))
	}

	// Against the file gateway's profile only the telnet and SMTP flows
	// are left to draft.
	o.Profiles, o.Output, o.Name = []string{"storage-gateway/file-nfs"}, "", "draft/extra"
	s, out, _ = streams(nil)
	if err := Suggest(o, s); err != nil {
		t.Fatal(err)
	}
	p, err = profile.Parse("extra", out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var ports []string
	for _, r := range p.Rules {
		ports = append(ports, fmt.Sprint(r.Ports))
	}
	if slices.Sort(ports); !slices.Equal(ports, []string{"[23]", "[25]"}) || p.Name != "draft/extra" {
		t.Errorf("draft %s allows ports %q, want draft/extra with [23] and [25]:\n%s", p.Name, ports, out)
	}
}

// TestSuggestRefuses: draft options are refused in their own terms before
// reading.
func TestSuggestRefuses(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	for _, tc := range []struct {
		name string
		o    SuggestOptions
		is   func(error) bool
	}{
		{"format", SuggestOptions{Format: "json", CollapseV4: 0}, func(err error) bool {
			var fe *FormatError
			return errors.As(err, &fe) && slices.Equal(fe.Formats, []string{"yaml", "sg-json", "nftables"})
		}},
		{"collapse", SuggestOptions{Format: "yaml", CollapseV4: 24, CollapseV6: 129}, func(err error) bool {
			var oe *OptionError
			return errors.As(err, &oe) && oe.Option == "CollapseV6" && oe.Value == 129
		}},
		{"bindings without profile", SuggestOptions{Format: "yaml", CollapseV4: 24, CollapseV6: 64, Match: Match{Phase: "activation"}, Name: "Bad Name"}, func(err error) bool { return errors.Is(err, ErrBindingsNeedProfile) }},
		{"name", SuggestOptions{Format: "yaml", CollapseV4: 24, CollapseV6: 64, Name: "Bad Name"}, func(err error) bool {
			var oe *OptionError
			return errors.As(err, &oe) && oe.Option == "Name"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Captures = []string{missing}
			s, out, _ := streams(nil)
			if err := Suggest(tc.o, s); err == nil || !tc.is(err) || out.Len() != 0 {
				t.Errorf("err %v (%T), %d bytes written", err, err, out.Len())
			}
		})
	}
}

// TestDiffOutcome: two reports of one capture are the same (Pass); the
// faulty gateway after the conformant one is worse (Fail), in either
// format.
func TestDiffOutcome(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	for file, capture := range map[string]string{good: conformant, bad: faulty} {
		o := AnalyseOptions{Judge: judge(), Captures: []string{capture}, Tunnels: "auto", Quiet: true}
		o.Output = file
		if _, err := Analyse(o, Streams{Out: new(bytes.Buffer), Err: new(bytes.Buffer)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		old, new, format string
		want             Outcome
		says             string
	}{
		{good, good, "text", Pass, "SAME:"},
		{good, bad, "text", Fail, "WORSE:"},
		{good, bad, "json", Fail, `"worse": true`},
	} {
		s, out, _ := streams(nil)
		outcome, err := Diff(DiffOptions{Old: tc.old, New: tc.new, Format: tc.format}, s)
		if err != nil || outcome != tc.want || !strings.Contains(out.String(), tc.says) {
			t.Errorf("%s -> %s (%s): outcome %d err %v, want %d and %q in:\n%s", filepath.Base(tc.old), filepath.Base(tc.new), tc.format, outcome, err, tc.want, tc.says, out)
		}
	}
	var fe *FormatError
	if _, err := Diff(DiffOptions{Old: good, New: bad, Format: "html"}, Streams{Out: new(bytes.Buffer)}); !errors.As(err, &fe) || !slices.Equal(fe.Formats, []string{"text", "json"}) {
		t.Errorf("format html: %v", err)
	}
}

// TestWatchRefusesBeforeStarting: watch's options are refused in their
// own terms before any engine starts, so these need no privilege.
func TestWatchRefusesBeforeStarting(t *testing.T) {
	good := func() WatchOptions {
		return WatchOptions{Judge: judge(), Interface: "lo", Interval: time.Second, Tunnels: "auto", MaxFlows: 16}
	}
	for _, tc := range []struct {
		name string
		edit func(*WatchOptions)
		is   func(error) bool
	}{
		{"interval", func(o *WatchOptions) { o.Interval = 0; o.Profiles = nil }, isOption("Interval")},
		{"duration", func(o *WatchOptions) { o.Duration = -time.Second }, isOption("Duration")},
		{"filter with ebpf", func(o *WatchOptions) { o.Filter = "tcp"; o.Engine = "ebpf"; o.Interface = "nosuch0" }, isOption("Filter")},
		{"no such interface", func(o *WatchOptions) { o.Interface = "nosuch0"; o.Profiles = nil }, func(err error) bool {
			return err.Error() == "interface nosuch0: no such interface (list them with: ip link)"
		}},
		{"no profile", func(o *WatchOptions) { o.Profiles = nil; o.Events = "-" }, func(err error) bool { return errors.Is(err, ErrNoProfile) }},
		{"events on stdout", func(o *WatchOptions) { o.Events = "-"; o.Idle = -1 }, isOption("Events")},
		{"report keep", func(o *WatchOptions) { o.ReportDir = t.TempDir(); o.ReportKeep = 0; o.ReportEvery = time.Hour }, isOption("ReportKeep")},
		{"idle", func(o *WatchOptions) { o.Idle = -1; o.MaxFlows = -1 }, isOption("Idle")},
		{"max flows", func(o *WatchOptions) { o.MaxFlows = -1 }, isOption("MaxFlows")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			tc.edit(&o)
			s, out, errs := streams(nil)
			_, err := Watch(context.Background(), o, s)
			if err == nil || !tc.is(err) || out.Len() != 0 || errs.Len() != 0 {
				t.Errorf("err %v (%T); stdout %q stderr %q", err, err, out, errs)
			}
		})
	}
}

// TestCheckProfiles: a line per profile that loads, with its rules counted
// (the includes' too); the first that does not load ends the check with an
// error naming file:line:column, after the lines of those before it.
func TestCheckProfiles(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("profile: mine/x\ninclude: [storage-gateway/common]\nrules:\n  - name: a\n    from: host\n    to: any\n    proto: tcp\n    ports: [8443]\n    level: allowed\n"), 0o644)
	os.WriteFile(bad, []byte("profile: mine/y\nrules:\n  - name: a\n    from: host\n    to: any\n    proto: tcp\n    level: maybe\n"), 0o644)
	common, err := profile.Load("storage-gateway/common")
	if err != nil {
		t.Fatal(err)
	}
	s, out, _ := streams(nil)
	err = CheckProfiles([]string{good, bad, good}, s)
	want := fmt.Sprintf("%s: ok (%d rules with what it includes)\n", good, len(common.Rules())+1)
	if out.String() != want || err == nil || !strings.HasPrefix(err.Error(), bad+":7:12: ") {
		t.Errorf("output %q err %v, want %q and an error at %s:7:12", out, err, want, bad)
	}
}

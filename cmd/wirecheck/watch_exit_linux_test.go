//go:build linux

package main

import (
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch/watchtest"
)

// signalsProfile has a required rule nothing on the lab's quiet veth
// satisfies, so that every run ends not conformant (exit 1).
const signalsProfile = `version: 1
profile: wirecheck-test/signals
peers:
  lab: {cidrs: [10.214.0.0/24]}
rules:
  - {name: never, from: host, to: lab, proto: udp, ports: 123, level: required}
`

// TestWatchSignalsAndFlags is the command around the watch service (whose
// behaviour the watch package's tests check): its flags reach the service
// (--engine, --interval, --metrics, --events, --report-dir, --format),
// SIGHUP reloads the profile, SIGTERM and SIGINT end the run with the final
// report on standard output in the format asked for and exit status 1 (a
// required rule missing), and the eBPF program is detached at the end.
func TestWatchSignalsAndFlags(t *testing.T) {
	l := newLab(t, true, 0)
	prof := writeProfile(t, "signals.yaml", signalsProfile)
	dir := t.TempDir()
	events, reports := filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "reports")
	w := startWatch(t, l.Host, "watch", "-i", hostIf, "--engine", "ebpf", "-p", prof, "--interval", "200ms",
		"--metrics", "127.0.0.1:0", "--events", events, "--report-dir", reports, "--report-keep", "2")
	if !slices.Contains(w.StderrLines(), "wirecheck: watching "+hostIf+" (ebpf engine)") {
		t.Errorf("start line: %q", w.StderrLines())
	}
	if !slices.ContainsFunc(w.StderrLines(), func(s string) bool { return strings.HasPrefix(s, "wirecheck: metrics at http://127.0.0.1:") }) {
		t.Errorf("--metrics: no metrics line in %q", w.StderrLines())
	}
	for i := range 3 {
		if _, ok := w.WaitLine(5*time.Second, " summary: "); !ok {
			t.Fatalf("summary %d did not come within 5s at --interval 200ms; stderr:\n%s", i+1, w.StderrText())
		}
	}
	if err := w.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.WaitLine(5*time.Second, "SIGHUP: profile reloaded", "counts kept"); !ok {
		t.Fatalf("no reload after SIGHUP:\n%s", w.StderrText())
	}
	if code := w.Signal(syscall.SIGTERM); code != exitNotConformant {
		t.Errorf("exit status %d after SIGTERM, want %d (required rules missing); stderr:\n%s", code, exitNotConformant, w.StderrText())
	}
	if rep := w.Stdout.String(); !strings.Contains(rep, "NOT CONFORMANT") || !strings.Contains(rep, "wirecheck-test/signals:never") {
		t.Errorf("no final text report after SIGTERM:\n%s", rep)
	}
	nothingAttached(t, l.Host, hostIf, 3*time.Second)
	if n := len(watchtest.EventsOf(watchtest.ReadEvents(t, events), "reload")); n != 1 {
		t.Errorf("--events: %d reload events, want 1", n)
	}
	files, err := filepath.Glob(filepath.Join(reports, "wirecheck-"+hostIf+"-*.json"))
	// --report-every is an hour: only the final report is due.
	if err != nil || len(files) != 1 || !strings.HasSuffix(files[0], "-final.json") {
		t.Errorf("--report-dir: %v (%v), want the final report", files, err)
	}

	// SIGINT, and the JSON format.
	w = startWatch(t, l.Host, "watch", "-i", hostIf, "--engine", "pcap", "-p", prof, "--interval", "1h", "--format", "json")
	if code := w.Signal(syscall.SIGINT); code != exitNotConformant {
		t.Errorf("exit status %d after SIGINT, want %d; stderr:\n%s", code, exitNotConformant, w.StderrText())
	}
	if rep := w.report(); rep.Verdict != "not-conformant" || len(rep.Inputs) != 1 || !strings.Contains(rep.Inputs[0].Name, "pcap") {
		t.Errorf("JSON report after SIGINT: verdict %s, inputs %+v; want not-conformant from the pcap engine", rep.Verdict, rep.Inputs)
	}
}

// TestWatchErrors: each way watch cannot start gives one line that says
// what to do, and exit status 2.
func TestWatchErrors(t *testing.T) {
	const missing = "wc4-nosuch"
	if interfaceExists(missing) {
		t.Fatalf("interface %s exists", missing)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no such interface", []string{"watch", "-i", missing, "-p", "storage-gateway/file-nfs"},
			"wirecheck: interface wc4-nosuch: no such interface (list them with: ip link)\n"},
		// With --host the interface is not asked for its addresses: watch
		// must still say it is missing, before it checks capabilities
		// (the test passes as an ordinary user too).
		{"no such interface, ebpf", []string{"watch", "-i", missing, "--host", "10.0.0.5", "--engine", "ebpf", "-p", "storage-gateway/file-nfs"},
			"wirecheck: interface wc4-nosuch: no such interface (list them with: ip link)\n"},
		{"no such interface, pcap", []string{"watch", "-i", missing, "--host", "10.0.0.5", "--engine", "pcap", "-p", "storage-gateway/file-nfs"},
			"wirecheck: interface wc4-nosuch: no such interface (list them with: ip link)\n"},
		{"unknown engine", []string{"watch", "-i", "lo", "--engine", "xdp", "-p", "storage-gateway/file-nfs"},
			"wirecheck: --engine xdp: use ebpf or pcap\n"},
		{"filter with ebpf", []string{"watch", "-i", "lo", "--engine", "ebpf", "--filter", "tcp", "-p", "storage-gateway/file-nfs"},
			"wirecheck: --filter works only with --engine pcap\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := wirecheck(t, nil, tc.args...)
			if code != exitError || stderr != tc.want || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, stderr, tc.want)
			}
		})
	}
}

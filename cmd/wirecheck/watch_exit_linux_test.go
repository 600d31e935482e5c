//go:build linux

package main

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch/watchtest"
	"github.com/wirecheck/wirecheck/internal/netnslab"
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
// required rule missing), and the eBPF program is detached at the end;
// --host and --idle reach it too.
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

	// SIGINT, the JSON format, --host and --idle: a flow idle for longer
	// is swept into its conversation (client port 0) before the end.
	w = startWatch(t, l.Host, "watch", "-i", hostIf, "--engine", "ebpf", "-p", prof, "--interval", "1h", "--format", "json",
		"--host", hostAddr, "--idle", "200ms")
	netnslab.SendUDP(t, l.Host, netip.MustParseAddrPort(hostAddr+":40001"), netip.MustParseAddrPort(peerAddr+":5001"), 3)
	time.Sleep(time.Second) // idle, and a sweep (every 250ms) after that
	if code := w.Signal(syscall.SIGINT); code != exitNotConformant {
		t.Errorf("exit status %d after SIGINT, want %d; stderr:\n%s", code, exitNotConformant, w.StderrText())
	}
	rep := w.report()
	if rep.Verdict != "not-conformant" || !slices.Equal(rep.Host.Addresses, []string{hostAddr}) {
		t.Errorf("JSON report after SIGINT: verdict %s, host %+v; want not-conformant, %s", rep.Verdict, rep.Host, hostAddr)
	}
	if fl := watchtest.Flows(rep, "udp", 5001); len(fl) != 1 || fl[0].ClientPort != 0 || fl[0].ClientSent.Packets != 3 {
		t.Errorf("--idle 200ms: udp/5001 flows %+v, want one conversation (client port 0) of the 3 datagrams", fl)
	}
}

// TestWatchMaxFlowsFilterExit2: --max-flows and --filter reach the
// libpcap engine (it keeps 8 of the 40 flows the filter lets through and
// folds the rest), and a result that cannot be decided exits 2.
func TestWatchMaxFlowsFilterExit2(t *testing.T) {
	l := newLab(t, true, 0)
	prof := writeProfile(t, "fold.yaml", `version: 1
profile: wirecheck-test/fold
peers:
  lab: {cidrs: [10.214.0.0/24]}
rules:
  - {name: bulk, from: host, to: lab, proto: udp, ports: 20000-20039, level: allowed}
`)
	w := startWatch(t, l.Host, "watch", "-i", hostIf, "--engine", "pcap", "-p", prof, "--format", "json",
		"--interval", "1h", "--max-flows", "8", "--filter", "udp and dst portrange 20000-20039")
	l.Run(l.Host, `for p in $(seq 20000 20039); do echo x > /dev/udp/`+peerAddr+`/$p; done`)
	time.Sleep(100 * time.Millisecond) // the reader is a goroutine away from the socket
	code := w.Signal(syscall.SIGINT)
	rep := w.report()
	if code != exitError || rep.Verdict != "inconclusive" {
		t.Errorf("exit status %d, verdict %s: want %d, inconclusive; stderr:\n%s", code, rep.Verdict, exitError, w.StderrText())
	}
	if rep.Summary.Flows != 8 || rep.Folded == nil || rep.Folded.Flows != 32 || rep.Summary.Packets != 40 {
		t.Errorf("%d flows kept, folded %+v, %d packets: want 8 kept, 32 folded, 40 packets (none the filter refuses)",
			rep.Summary.Flows, rep.Folded, rep.Summary.Packets)
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

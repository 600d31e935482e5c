//go:build linux

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWatchIncompleteSaysSo: with a kernel flow map far too small for the
// traffic, the eBPF engine loses flows to eviction; the report counts them,
// says it is incomplete, and a required rule it saw nothing of is
// inconclusive rather than missing, so that watch exits 2, not 1.
func TestWatchIncompleteSaysSo(t *testing.T) {
	l := newLab(t, true, 0)
	prof := writeProfile(t, "loss.yaml", `version: 1
profile: wirecheck-test/loss
peers:
  lab: {cidrs: [10.214.0.0/24]}
rules:
  - {name: bulk, from: host, to: lab, proto: udp, ports: 20000-20039, level: allowed}
  - {name: never, from: host, to: lab, proto: udp, ports: 123, level: required}
`)
	const flows = 40
	w := startWatch(t, l.Host, "watch", "-i", hostIf, "--engine", "ebpf", "-p", prof, "--format", "json",
		"--interval", "1h", "--max-flows", "8")
	// 40 allowed UDP flows to the peer, one datagram each; the peer
	// answers some with port unreachable. Nothing fails, so only the
	// missing rule decides, and it cannot decide.
	l.Run(l.Host, `for p in $(seq 20000 20039); do echo x > /dev/udp/`+peerAddr+`/$p; done`)
	code := w.Signal(syscall.SIGINT)
	rep := w.report()
	if code != exitError {
		t.Errorf("exit status %d, want %d (inconclusive); stderr:\n%s", code, exitError, w.StderrText())
	}
	if rep.Complete || rep.Verdict != "inconclusive" {
		t.Errorf("complete %v, verdict %s: want an incomplete, inconclusive report", rep.Complete, rep.Verdict)
	}
	var evicted uint64
	for _, l := range rep.Losses {
		if strings.Contains(l.What, "evicted") {
			evicted = l.Count
		}
	}
	if evicted == 0 || evicted+uint64(rep.Summary.Flows) < flows {
		t.Errorf("%d flows evicted, %d in the report: want every one of the %d flows in one or the other", evicted, rep.Summary.Flows, flows)
	}
	status := map[string]string{}
	for _, r := range rep.Rules {
		status[r.Name] = r.Status
	}
	if status["never"] != "inconclusive" || status["bulk"] != "seen" {
		t.Errorf("rules %v: want never inconclusive (the flows it needed may have been evicted), bulk seen", status)
	}
	t.Logf("%d flows evicted, %d kept; losses %+v", evicted, rep.Summary.Flows, rep.Losses)
}

// TestWatchPcapFoldsBeyondMaxFlows: the libpcap engine keeps at most
// --max-flows flows and counts later ones per service, so its memory is
// bounded too; nothing is lost from the totals, and the report says the
// folded flows were not judged (inconclusive, exit 2).
func TestWatchPcapFoldsBeyondMaxFlows(t *testing.T) {
	l := newLab(t, true, 0)
	prof := writeProfile(t, "fold.yaml", `version: 1
profile: wirecheck-test/fold
peers:
  lab: {cidrs: [10.214.0.0/24]}
rules:
  - {name: bulk, from: host, to: lab, proto: udp, ports: 20000-20039, level: allowed}
`)
	const flows, kept = 40, 8
	w := startWatch(t, l.Host, "watch", "-i", hostIf, "--engine", "pcap", "-p", prof, "--format", "json",
		"--interval", "1h", "--max-flows", "8", "--filter", "udp and dst portrange 20000-20039")
	l.Run(l.Host, `for p in $(seq 20000 20039); do echo x > /dev/udp/`+peerAddr+`/$p; done`)
	time.Sleep(100 * time.Millisecond) // the reader is a goroutine away from the socket
	code := w.Signal(syscall.SIGINT)
	rep := w.report()
	if code != exitError || rep.Verdict != "inconclusive" {
		t.Errorf("exit status %d, verdict %s: want %d, inconclusive; stderr:\n%s", code, rep.Verdict, exitError, w.StderrText())
	}
	if rep.Summary.Flows != kept || rep.Folded == nil || rep.Folded.Flows != flows-kept || !rep.Folded.Exact {
		t.Fatalf("%d flows kept, folded %+v: want %d kept and %d folded exactly", rep.Summary.Flows, rep.Folded, kept, flows-kept)
	}
	var folded uint64
	for _, s := range rep.Folded.Services {
		folded += s.Packets
		if s.Direction != "outbound" { // the host is the interface's address, the datagrams' source
			t.Errorf("folded service %+v: want outbound", s)
		}
	}
	var keptPkts uint64
	for _, f := range rep.Flows {
		keptPkts += f.Packets
	}
	if keptPkts+folded != flows || rep.Summary.Packets != flows {
		t.Errorf("%d packets in flows + %d folded, summary %d: want %d datagrams in all", keptPkts, folded, rep.Summary.Packets, flows)
	}
}

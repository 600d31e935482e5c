//go:build linux

package watch

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/internal/netnslab"
)

// The lab of the watch tests: wc4-0 in the host namespace, watched, and
// wc4-1 in the peer's. The prefix wc4 keeps its names apart from other
// tests that make namespaces on the same machine at the same time.
const (
	hostIf   = "wc4-0"
	peerIf   = "wc4-1"
	hostAddr = "10.214.0.1"
	peerAddr = "10.214.0.2"
)

// newLab makes the namespaces and the veth. With addrs the ends get
// hostAddr and peerAddr (/24).
func newLab(t *testing.T, addrs bool) *netnslab.Lab {
	t.Helper()
	l := netnslab.New(t, "wc4")
	l.Veth(hostIf, peerIf, hostAddr, peerAddr, addrs, 0)
	return l
}

// TestIncompleteSaysSo: with a kernel flow map far too small for the
// traffic, the eBPF engine loses flows to eviction; the report counts them,
// says it is incomplete, and a required rule it saw nothing of is
// inconclusive rather than missing (so that the command exits 2, not 1).
func TestIncompleteSaysSo(t *testing.T) {
	l := newLab(t, true)
	prof := writeProfile(t, "loss.yaml", `version: 1
profile: wirecheck-test/loss
peers:
  lab: {cidrs: [10.214.0.0/24]}
rules:
  - {name: bulk, from: host, to: lab, proto: udp, ports: 20000-20039, level: allowed}
  - {name: never, from: host, to: lab, proto: udp, ports: 123, level: required}
`)
	const flows = 40
	p := startRun(t, l.Host, runSpec{Interface: hostIf, Engine: "ebpf", Profile: prof, Interval: time.Hour, MaxFlows: 8})
	// 40 allowed UDP flows to the peer, one datagram each; the peer
	// answers some with port unreachable. Nothing fails, so only the
	// missing rule decides, and it cannot decide.
	l.Run(l.Host, `for p in $(seq 20000 20039); do echo x > /dev/udp/`+peerAddr+`/$p; done`)
	rep := p.stop(t, syscall.SIGINT)
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

// TestPcapFoldsBeyondMaxFlows: the libpcap engine keeps at most MaxFlows
// flows and counts later ones per service, so its memory is bounded too;
// nothing is lost from the totals, and the report says the folded flows
// were not judged (inconclusive).
func TestPcapFoldsBeyondMaxFlows(t *testing.T) {
	l := newLab(t, true)
	prof := writeProfile(t, "fold.yaml", `version: 1
profile: wirecheck-test/fold
peers:
  lab: {cidrs: [10.214.0.0/24]}
rules:
  - {name: bulk, from: host, to: lab, proto: udp, ports: 20000-20039, level: allowed}
`)
	const flows, kept = 40, 8
	p := startRun(t, l.Host, runSpec{Interface: hostIf, Engine: "pcap", Profile: prof, Interval: time.Hour, MaxFlows: kept,
		Filter: "udp and dst portrange 20000-20039"})
	l.Run(l.Host, `for p in $(seq 20000 20039); do echo x > /dev/udp/`+peerAddr+`/$p; done`)
	time.Sleep(100 * time.Millisecond) // the reader is a goroutine away from the socket
	rep := p.stop(t, syscall.SIGINT)
	if rep.Verdict != "inconclusive" {
		t.Errorf("verdict %s, want inconclusive; stderr:\n%s", rep.Verdict, p.StderrText())
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

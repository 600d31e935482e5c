//go:build linux

package watch

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/internal/netnslab"
)

// TestLeavesNothingAttached: after Run with the eBPF engine ends, normally
// (its context ended) or by SIGKILL, no program of it stays attached to
// the interface. TCX links (Linux 6.6+) are file descriptors of the
// process, so the kernel detaches them when it dies; the clsact fallback
// of older kernels leaves its filters behind a killed process, and the
// next Run on the interface removes them. The test takes whichever path
// the running kernel offers.
func TestLeavesNothingAttached(t *testing.T) {
	l := newLab(t, true)
	prof := writeProfile(t, "watch-lab.yaml", labProfile)
	spec := runSpec{Interface: hostIf, Engine: "ebpf", Profile: prof, Interval: 200 * time.Millisecond}

	// A normal end, after two summaries.
	w := startRun(t, l.Host, spec)
	attached := netnslab.Attachments(t, l.Host, hostIf)
	if len(attached) != 2 {
		t.Fatalf("while watching, attached %v: want the program on ingress and egress", attached)
	}
	for i := range 2 {
		if _, ok := w.WaitLine(5*time.Second, " summary: "); !ok {
			t.Fatalf("summary %d did not come within 5s at an interval of 200ms; stderr:\n%s", i+1, w.StderrText())
		}
	}
	rep := w.stop(t, syscall.SIGTERM)
	status := map[string]string{}
	for _, r := range rep.Rules {
		status[r.Name] = r.Status
	}
	if rep.Verdict != "not-conformant" || status["never"] != "missing" {
		t.Errorf("final result %s, rule never %q: want not-conformant, missing (required rules missing)", rep.Verdict, status["never"])
	}
	netnslab.NothingAttached(t, l.Host, hostIf, 3*time.Second)

	// SIGKILL: no chance to detach.
	w = startRun(t, l.Host, spec)
	legacy := strings.HasPrefix(netnslab.Attachments(t, l.Host, hostIf)[0], "filter:")
	w.Signal(syscall.SIGKILL)
	if !legacy {
		netnslab.NothingAttached(t, l.Host, hostIf, 3*time.Second)
		return
	}
	t.Logf("no TCX on this kernel: clsact filters remain after SIGKILL: %v", netnslab.Attachments(t, l.Host, hostIf))
	w = startRun(t, l.Host, spec)
	if got := netnslab.Attachments(t, l.Host, hostIf); len(got) != 2 {
		t.Errorf("the next Run left the killed one's filters: %v", got)
	}
	w.stop(t, syscall.SIGTERM)
	netnslab.NothingAttached(t, l.Host, hostIf, 3*time.Second)
}

//go:build linux

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWatchLeavesNothingAttached: after watch --engine ebpf ends, normally or
// by SIGKILL, no program of it stays attached to the interface. TCX links
// (Linux 6.6+) are file descriptors of the process, so the kernel detaches
// them when it dies; the clsact fallback of older kernels leaves its filters
// behind a killed process, and the next watch on the interface removes them.
// The test takes whichever path the running kernel offers.
func TestWatchLeavesNothingAttached(t *testing.T) {
	l := newLab(t, true, 0)
	prof := writeProfile(t, "watch-lab.yaml", labProfile)
	args := []string{"watch", "-i", hostIf, "--engine", "ebpf", "-p", prof, "--interval", "200ms"}

	// A normal end (SIGTERM), after two summaries.
	w := startWatch(t, l.Host, args...)
	attached := attachments(t, l.Host, hostIf)
	if len(attached) != 2 {
		t.Fatalf("while watching, attached %v: want the program on ingress and egress", attached)
	}
	for i := range 2 {
		if _, ok := w.WaitLine(5*time.Second, " summary: "); !ok {
			t.Fatalf("summary %d did not come within 5s at --interval 200ms; stderr:\n%s", i+1, w.StderrText())
		}
	}
	if code := w.Signal(syscall.SIGTERM); code != exitNotConformant {
		t.Errorf("exit status %d after SIGTERM, want %d (required rules missing); stderr:\n%s", code, exitNotConformant, w.StderrText())
	}
	if rep := w.Stdout.String(); !strings.Contains(rep, "NOT CONFORMANT") || !strings.Contains(rep, "wirecheck-test/watch-lab:never") {
		t.Errorf("no final report after SIGTERM:\n%s", rep)
	}
	nothingAttached(t, l.Host, hostIf, 3*time.Second)

	// SIGKILL: no chance to detach.
	w = startWatch(t, l.Host, args...)
	legacy := strings.HasPrefix(attachments(t, l.Host, hostIf)[0], "filter:")
	w.Signal(syscall.SIGKILL)
	if !legacy {
		nothingAttached(t, l.Host, hostIf, 3*time.Second)
		return
	}
	t.Logf("no TCX on this kernel: clsact filters remain after SIGKILL: %v", attachments(t, l.Host, hostIf))
	w = startWatch(t, l.Host, args...)
	if got := attachments(t, l.Host, hostIf); len(got) != 2 {
		t.Errorf("the next watch left the killed one's filters: %v", got)
	}
	w.Signal(syscall.SIGTERM)
	nothingAttached(t, l.Host, hostIf, 3*time.Second)
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

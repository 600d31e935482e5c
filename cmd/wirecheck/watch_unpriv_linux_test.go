//go:build linux

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/bpf/testenv"
)

// TestWatchUnprivileged runs watch as user nobody: the error says what to
// run instead, for each engine.
func TestWatchUnprivileged(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := testenv.BinaryForNobody(t)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	for _, tc := range []struct {
		engine string
		want   []string
	}{
		{"ebpf", []string{"wirecheck: --engine ebpf needs CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON", "run as root, or grant them: sudo setcap cap_bpf,cap_net_admin,cap_perfmon+ep " + bin}},
		{"pcap", []string{"wirecheck: --engine pcap needs CAP_NET_RAW", "run as root, or grant them: sudo setcap cap_net_raw+ep " + bin}},
		// The default says why eBPF cannot be used, then tries libpcap.
		{"", []string{"wirecheck: the eBPF engine needs CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, which this process lacks; using libpcap\n",
			"wirecheck: --engine pcap needs CAP_NET_RAW"}},
	} {
		t.Run("engine="+tc.engine, func(t *testing.T) {
			args := []string{"watch", "-i", "lo", "-p", "storage-gateway/file-nfs", "--duration", "5s"}
			if tc.engine != "" {
				args = append(args, "--engine", tc.engine)
			}
			w := launchBinary(t, bin, "", nobody, args...)
			code := w.Wait(30 * time.Second)
			stderr := w.StderrText()
			if code != exitError {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitError, stderr)
			}
			for _, part := range tc.want {
				if !strings.Contains(stderr, part) {
					t.Errorf("stderr %q does not say %q", stderr, part)
				}
			}
			if n := strings.Count(stderr, "\n") + 1; tc.engine != "" && n != 1 {
				t.Errorf("stderr has %d lines, want one:\n%s", n, stderr)
			}
		})
	}
}

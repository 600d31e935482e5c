//go:build linux && (amd64 || arm64)

package bpf

import (
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestLegacyStale: which filter names the clsact fallback removes before it
// attaches. A filter is stale when its process is gone, including when the
// PID now belongs to a process that started later.
func TestLegacyStale(t *testing.T) {
	self := os.Getpid()
	start, ok := startTime(self)
	if !ok {
		t.Fatal("no start time for this process in /proc")
	}
	initStart, ok := startTime(1)
	if !ok {
		t.Fatal("no start time for process 1 in /proc")
	}
	gone := unusedPID(t)
	for _, tc := range []struct {
		name  string
		stale bool
	}{
		{legacyName(self), false},
		{"wirecheck-" + strconv.Itoa(self) + "-" + start, false},
		{"wirecheck-1-" + initStart, false},
		{"wirecheck-1-" + initStart + "1", true}, // PID 1 reused
		{"wirecheck-" + strconv.Itoa(self) + "-1", true},
		{"wirecheck-" + strconv.Itoa(gone) + "-" + start, true},
		{"wirecheck-" + strconv.Itoa(gone), true}, // earlier name format
		{"wirecheck-" + strconv.Itoa(self), false},
		{"wirecheck-x", false},
		{"wirecheck-0-1", false},
		{"other-" + strconv.Itoa(gone), false},
	} {
		if got := legacyStale(tc.name); got != tc.stale {
			t.Errorf("legacyStale(%q) = %v, want %v", tc.name, got, tc.stale)
		}
	}
	if want := "wirecheck-" + strconv.Itoa(self) + "-" + start; legacyName(self) != want {
		t.Errorf("legacyName = %q, want %q", legacyName(self), want)
	}
}

// unusedPID returns a PID no process has.
func unusedPID(t *testing.T) int {
	t.Helper()
	for pid := 4194000; pid > 1000; pid -= 997 {
		if unix.Kill(pid, 0) == unix.ESRCH {
			return pid
		}
	}
	t.Fatal("no unused PID found")
	return 0
}

// TestLegacyAttachRemovesReusedPIDFilters: filters left by processes whose
// PID was reused are removed by the next Attach; those of live processes
// (and other tools' filters) stay.
func TestLegacyAttachRemovesReusedPIDFilters(t *testing.T) {
	n := newTestNet(t)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.SchedCLS, License: "MIT",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, -1), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	initStart, _ := startTime(1)
	live := "wirecheck-1-" + initStart
	reused := "wirecheck-1-" + initStart + "7"
	other := "some-other-tool"
	inNetns(t, n.a, func() {
		lnk, err := netlink.LinkByName("veth0")
		if err != nil {
			t.Error(err)
			return
		}
		qdisc := &netlink.GenericQdisc{
			QdiscAttrs: netlink.QdiscAttrs{LinkIndex: lnk.Attrs().Index, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT},
			QdiscType:  "clsact",
		}
		if err := netlink.QdiscAdd(qdisc); err != nil {
			t.Error(err)
			return
		}
		for i, name := range []string{live, reused, other} {
			f := &netlink.BpfFilter{
				FilterAttrs: netlink.FilterAttrs{LinkIndex: lnk.Attrs().Index, Parent: netlink.HANDLE_MIN_INGRESS,
					Handle: 1, Priority: uint16(10 + i), Protocol: unix.ETH_P_ALL},
				Fd: prog.FD(), Name: name, DirectAction: true,
			}
			if err := netlink.FilterAdd(f); err != nil {
				t.Errorf("add filter %s: %v", name, err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	c := loadCounter(t, Options{})
	c.forceLegacy = true
	inNetns(t, n.a, func() {
		if err := c.Attach("veth0"); err != nil {
			t.Error(err)
		}
	})
	got := tcFilters(t, n.a, "veth0")
	mine := legacyName(os.Getpid())
	slices.Sort(got)
	want := []string{live, mine, mine, other}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("filters after Attach %q, want %q: the reused PID's filter removed, the rest kept", got, want)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got = tcFilters(t, n.a, "veth0")
	slices.Sort(got)
	if want := []string{other, live}; !slices.Equal(got, want) {
		t.Errorf("filters after Close %q, want %q", got, want)
	}
}

// Package testenv decides whether privileged tests run, skip or fail. It is
// for tests only, in any package of the module (capture/, cmd/ as well as
// bpf/): call RequirePrivileged at the top of a test that needs root.
//
// Tests that load eBPF programs or create network namespaces need root.
// Outside CI they skip when the process is not root, so `go test ./...`
// works for anyone; in CI (CI=true) a missing privilege is a failure, since
// a skipped privileged test there would hide that the eBPF engine was never
// tested. Likewise RequireFeature skips when the kernel lacks a feature but
// fails when the kernel's version says it should have it.
//
// RequireTools does the same for the programs a test runs (CI installs them
// all), and InNetns runs a function inside a network namespace a test made.
//
// The helpers have no state; they are safe for concurrent use.
package testenv

import (
	"bufio"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/wirecheck/wirecheck/bpf/internal/kernel"
)

// InCI reports whether the tests run in CI (CI=true), where privileged
// tests must not skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// RequirePrivileged skips tb unless the process runs as root (which holds
// CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON). With CI=true it fails instead,
// saying why.
func RequirePrivileged(tb testing.TB) {
	tb.Helper()
	requirePrivileged(tb, os.Geteuid())
}

func requirePrivileged(tb testing.TB, euid int) {
	tb.Helper()
	if euid == 0 {
		return
	}
	const why = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON) to load eBPF programs and create network namespaces"
	if InCI() {
		tb.Fatalf("privileged test in CI (CI=true) %s; run the tests as root", why)
	}
	tb.Skipf("skipped: %s (set CI=true to make this a failure)", why)
}

// RequireTools skips tb when a program it runs is not installed, and fails
// it in CI (CI=true), where the Makefile's TEST_DEPS installs them all.
func RequireTools(tb testing.TB, names ...string) {
	tb.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if InCI() {
				tb.Fatalf("%s is not installed (CI=true: install TEST_DEPS, see the Makefile)", n)
			}
			tb.Skipf("skipped: %s is not installed (make deps-test installs it)", n)
		}
	}
}

// RequireFeature runs probe, which reports whether the kernel has feature.
// When the probe says ebpf.ErrNotSupported, tb skips if the running kernel
// is older than since (major, minor) and fails if it is not: a kernel that
// new must have the feature. Any other probe error fails tb.
func RequireFeature(tb testing.TB, feature string, since [2]int, probe func() error) {
	tb.Helper()
	err := probe()
	if err == nil {
		return
	}
	if !errors.Is(err, ebpf.ErrNotSupported) {
		tb.Fatalf("probe %s: %v", feature, err)
	}
	v, verr := kernel.Version()
	if verr != nil {
		tb.Fatalf("probe %s: %v; and the kernel version is unknown: %v", feature, err, verr)
	}
	if kernel.AtLeast(v, since[0], since[1]) {
		tb.Fatalf("kernel %d.%d should have %s (since %d.%d) but the probe says: %v", v[0], v[1], feature, since[0], since[1], err)
	}
	tb.Skipf("kernel %d.%d lacks %s (needs %d.%d)", v[0], v[1], feature, since[0], since[1])
}

// BinaryForNobody copies the running test binary into a fresh directory
// that an unprivileged user (nobody) may enter, and returns its path, for
// tests that check what wirecheck says without privileges. The directory is
// removed when the test ends.
func BinaryForNobody(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "wirecheck-unpriv")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, "wirecheck.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // MkdirTemp makes it 0700
		tb.Fatal(err)
	}
	return bin
}

// RequireKernelConfig is for a test that could not use a kernel facility
// (a VLAN device, say): it skips tb when the running kernel's own
// configuration (/proc/config.gz) says option is not set, the one proof
// that the kernel cannot have it, and fails tb otherwise, in CI or not,
// with why: a kernel built with the option, or one that does not say,
// should have worked.
func RequireKernelConfig(tb testing.TB, option, why string) {
	tb.Helper()
	set, known := kernelConfig(option)
	if known && !set {
		tb.Skipf("this kernel is built without %s (/proc/config.gz): %s", option, why)
	}
	tb.Fatalf("%s (kernel config %s: %s)", why, option, map[bool]string{true: "set", false: "unknown"}[known])
}

// kernelConfig reads option from /proc/config.gz: whether it is set (y or
// m), and whether the file said at all.
func kernelConfig(option string) (set, known bool) {
	f, err := os.Open("/proc/config.gz")
	if err != nil {
		return false, false
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return false, false
	}
	sc := bufio.NewScanner(z)
	for sc.Scan() {
		switch line := sc.Text(); {
		case line == "# "+option+" is not set":
			return false, true
		case strings.HasPrefix(line, option+"="):
			v := strings.TrimPrefix(line, option+"=")
			return v == "y" || v == "m", true
		}
	}
	return false, false
}

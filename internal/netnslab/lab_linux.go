//go:build linux

package netnslab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/bpf/testenv"
)

// Lab is two network namespaces: Host (the agent host the program under
// test runs on) and Peer (the rest of the world).
type Lab struct {
	T          testing.TB
	Host, Peer string
}

var seq atomic.Int32

// New makes the host and peer namespaces, named after prefix and unique to
// this test, with their loopback up; the test's end deletes them. It needs
// root (testenv.RequirePrivileged) and ip, timeout and bash.
func New(t testing.TB, prefix string) *Lab {
	t.Helper()
	testenv.RequirePrivileged(t)
	testenv.RequireTools(t, "ip", "timeout", "bash")
	id := fmt.Sprintf("%d-%d", os.Getpid(), seq.Add(1))
	l := &Lab{T: t, Host: prefix + "h-" + id, Peer: prefix + "p-" + id}
	for _, ns := range []string{l.Host, l.Peer} {
		l.IP("netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
		l.IP("-n", ns, "link", "set", "lo", "up")
	}
	return l
}

// Veth joins the namespaces with hostDev (in Host) and peerDev (in Peer);
// with addrs the ends get hostAddr and peerAddr (/24), and mtu 0 leaves the
// default. IPv6 is off on both ends, so that the kernel sends no neighbour
// discovery or MLD of its own while a test counts packets.
func (l *Lab) Veth(hostDev, peerDev, hostAddr, peerAddr string, addrs bool, mtu int) {
	l.T.Helper()
	l.IP("-n", l.Host, "link", "add", hostDev, "type", "veth", "peer", "name", peerDev, "netns", l.Peer)
	for _, end := range []struct{ ns, dev, addr string }{{l.Host, hostDev, hostAddr}, {l.Peer, peerDev, peerAddr}} {
		// /proc/sys/net is the namespace's own; no sysctl(8) needed.
		f := "/proc/sys/net/ipv6/conf/" + end.dev + "/disable_ipv6"
		l.Run(end.ns, "[ ! -e "+f+" ] || echo 1 > "+f)
		if addrs {
			l.IP("-n", end.ns, "addr", "add", end.addr+"/24", "dev", end.dev)
		}
		if mtu > 0 {
			l.IP("-n", end.ns, "link", "set", end.dev, "mtu", fmt.Sprint(mtu))
		}
		l.IP("-n", end.ns, "link", "set", end.dev, "up")
	}
}

// IP runs ip(8) with args, failing the test if it fails.
func (l *Lab) IP(args ...string) {
	l.T.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.T.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Sh runs a bash script in namespace ns, for at most 10 seconds, and
// returns its combined output and error.
func (l *Lab) Sh(ns, script string) (string, error) {
	out, err := exec.Command("ip", "netns", "exec", ns, "timeout", "10", "bash", "-c", script).CombinedOutput()
	return string(out), err
}

// Run is Sh for scripts that must succeed.
func (l *Lab) Run(ns, script string) string {
	l.T.Helper()
	out, err := l.Sh(ns, script)
	if err != nil {
		l.T.Fatalf("in %s: %s: %v: %s", ns, script, err, out)
	}
	return out
}

// Background starts a long-running program in ns, in a process group of
// its own, and kills that group when the test ends. timeout bounds it should
// the test binary itself be killed.
func (l *Lab) Background(ns string, args ...string) {
	l.T.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, "timeout", "120"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		l.T.Fatalf("start %v: %v", args, err)
	}
	pgid := cmd.Process.Pid
	l.T.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		cmd.Wait()
	})
}

// Listen starts an ncat server in ns on addr:port that answers each line
// "pong", and waits until it listens.
func (l *Lab) Listen(ns, proto, addr string, port int) {
	l.T.Helper()
	args := []string{"ncat", "-l", "-k", addr, fmt.Sprint(port), "--sh-exec", "read x; echo pong"}
	ssFlag := "-Hltn"
	if proto == "udp" {
		args = []string{"ncat", "-u", "-l", addr, fmt.Sprint(port), "--sh-exec", "read x; echo pong"}
		ssFlag = "-Hlun"
	}
	l.Background(ns, args...)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out, _ := l.Sh(ns, fmt.Sprintf("ss %s 'sport = :%d'", ssFlag, port)); strings.TrimSpace(out) != "" {
			return
		}
		if time.Now().After(deadline) {
			l.T.Fatalf("%s server on %s:%d in %s did not start in 5s", proto, addr, port, ns)
		}
	}
}

// Attachments lists what is attached to ifname in namespace ns: the names of
// TCX programs (as "tcx_ingress:NAME") and of tc BPF filters (as
// "filter:NAME").
func Attachments(t testing.TB, ns, ifname string) []string {
	t.Helper()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatalf("namespace %s: %v", ns, err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatalf("netlink in %s: %v", ns, err)
	}
	defer nl.Close()
	lnk, err := nl.LinkByName(ifname)
	if err != nil {
		t.Fatalf("%s in %s: %v", ifname, ns, err)
	}
	var names []string
	for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
		fs, err := nl.FilterList(lnk, parent)
		if err != nil {
			continue // no clsact qdisc, so no filters
		}
		for _, f := range fs {
			if bf, ok := f.(*netlink.BpfFilter); ok {
				names = append(names, "filter:"+bf.Name)
			}
		}
	}
	// The BPF query resolves the interface index in the calling thread's
	// namespace: run it there.
	err = testenv.InNetns(ns, func() error {
		tcx, err := bpf.TCXPrograms(lnk.Attrs().Index)
		names = append(names, tcx...) // after the tc filters listed above
		return err
	})
	if err != nil && !isNotSupported(err) {
		t.Fatalf("list TCX programs on %s: %v", ifname, err)
	}
	return names
}

// isNotSupported: kernels before 6.6 have no TCX, so nothing can be
// attached that way.
func isNotSupported(err error) bool {
	return errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.EINVAL)
}

// NothingAttached waits up to d for ifname to have no programs or filters
// attached, and fails the test with what remains otherwise.
func NothingAttached(t testing.TB, ns, ifname string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := Attachments(t, ns, ifname)
		if len(got) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after the watch process ended, still attached to %s: %v", d, ifname, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

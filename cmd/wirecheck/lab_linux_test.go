//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
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
	"github.com/wirecheck/wirecheck/classify/report"
)

// The watch tests run `wirecheck watch` as a separate process (this test
// binary re-executed, see TestWatchProcessHelper) inside a network
// namespace, on one end of a veth pair whose other end is in a second
// namespace. A process of its own is needed: a network namespace belongs to
// a thread, and watch's goroutines would wander between threads; and only a
// process can be killed with SIGKILL. All traffic stays between the two
// namespaces, every client runs under timeout(1), and the namespaces and the
// processes started in them are removed when the test ends, failed or not.

// Names in the lab carry the prefix wc4 so that they cannot collide with
// other tests that make namespaces on the same machine at the same time.
const (
	hostIf   = "wc4-0" // the watched interface, in lab.host
	peerIf   = "wc4-1" // its peer, in lab.peer
	hostAddr = "10.214.0.1"
	peerAddr = "10.214.0.2"
)

// lab is two network namespaces joined by a veth pair: host (the agent host
// that watch runs on) and peer (the rest of the world).
type lab struct {
	t          *testing.T
	host, peer string
}

var labSeq atomic.Int32

// newLab makes the namespaces and the veth. With addrs the ends get
// hostAddr and peerAddr (/24); mtu 0 leaves the default.
func newLab(t *testing.T, addrs bool, mtu int) *lab {
	t.Helper()
	l := newNetns(t, "wc4")
	l.veth(hostIf, peerIf, hostAddr, peerAddr, addrs, mtu)
	return l
}

// newNetns makes the host and peer namespaces, named after prefix and
// unique to this test, with their loopback up; the test's end deletes them.
func newNetns(t *testing.T, prefix string) *lab {
	t.Helper()
	testenv.RequirePrivileged(t)
	testenv.RequireTools(t, "ip", "timeout", "bash")
	id := fmt.Sprintf("%d-%d", os.Getpid(), labSeq.Add(1))
	l := &lab{t: t, host: prefix + "h-" + id, peer: prefix + "p-" + id}
	for _, ns := range []string{l.host, l.peer} {
		l.ip("netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	return l
}

// veth joins the namespaces with hostDev (in host) and peerDev (in peer);
// with addrs the ends get hostAddr and peerAddr (/24), and mtu 0 leaves the
// default. IPv6 is off on both ends, so that the kernel sends no neighbour
// discovery or MLD of its own while a test counts packets.
func (l *lab) veth(hostDev, peerDev, hostAddr, peerAddr string, addrs bool, mtu int) {
	l.t.Helper()
	l.ip("-n", l.host, "link", "add", hostDev, "type", "veth", "peer", "name", peerDev, "netns", l.peer)
	for _, end := range []struct{ ns, dev, addr string }{{l.host, hostDev, hostAddr}, {l.peer, peerDev, peerAddr}} {
		// /proc/sys/net is the namespace's own; no sysctl(8) needed.
		f := "/proc/sys/net/ipv6/conf/" + end.dev + "/disable_ipv6"
		l.run(end.ns, "[ ! -e "+f+" ] || echo 1 > "+f)
		if addrs {
			l.ip("-n", end.ns, "addr", "add", end.addr+"/24", "dev", end.dev)
		}
		if mtu > 0 {
			l.ip("-n", end.ns, "link", "set", end.dev, "mtu", fmt.Sprint(mtu))
		}
		l.ip("-n", end.ns, "link", "set", end.dev, "up")
	}
}

func (l *lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// sh runs a bash script in namespace ns, for at most 10 seconds, and
// returns its combined output and error.
func (l *lab) sh(ns, script string) (string, error) {
	out, err := exec.Command("ip", "netns", "exec", ns, "timeout", "10", "bash", "-c", script).CombinedOutput()
	return string(out), err
}

// run is sh for scripts that must succeed.
func (l *lab) run(ns, script string) string {
	l.t.Helper()
	out, err := l.sh(ns, script)
	if err != nil {
		l.t.Fatalf("in %s: %s: %v: %s", ns, script, err, out)
	}
	return out
}

// background starts a long-running program in ns, in a process group of
// its own, and kills that group when the test ends. timeout bounds it should
// the test binary itself be killed.
func (l *lab) background(ns string, args ...string) {
	l.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, "timeout", "120"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("start %v: %v", args, err)
	}
	pgid := cmd.Process.Pid
	l.t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		cmd.Wait()
	})
}

// listen starts an ncat server in ns on addr:port that answers each line
// "pong", and waits until it listens.
func (l *lab) listen(ns, proto, addr string, port int) {
	l.t.Helper()
	args := []string{"ncat", "-l", "-k", addr, fmt.Sprint(port), "--sh-exec", "read x; echo pong"}
	ssFlag := "-Hltn"
	if proto == "udp" {
		args = []string{"ncat", "-u", "-l", addr, fmt.Sprint(port), "--sh-exec", "read x; echo pong"}
		ssFlag = "-Hlun"
	}
	l.background(ns, args...)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out, _ := l.sh(ns, fmt.Sprintf("ss %s 'sport = :%d'", ssFlag, port)); strings.TrimSpace(out) != "" {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s server on %s:%d in %s did not start in 5s", proto, addr, port, ns)
		}
	}
}

// TestWatchProcessHelper is `wirecheck watch` (or any wirecheck command)
// when the watch tests run this binary as a child with WIRECHECK_WATCH_ARGS;
// on its own it skips.
func TestWatchProcessHelper(t *testing.T) {
	args := os.Getenv("WIRECHECK_WATCH_ARGS")
	if args == "" {
		t.Skip("the watch process of other tests; not a test on its own")
	}
	os.Exit(run(strings.Split(args, "\n"), os.Stdin, os.Stdout, os.Stderr))
}

// watchProc is a running wirecheck process.
type watchProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout bytes.Buffer
	lines  chan string // standard error, line by line; closed at EOF
	done   chan struct{}

	mu     sync.Mutex
	stderr []string
}

// startWatch runs wirecheck with args in namespace ns and waits until it
// says it is watching. The process is killed when the test ends.
func startWatch(t *testing.T, ns string, args ...string) *watchProc {
	t.Helper()
	w := launch(t, ns, nil, args...)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				code := w.wait(5 * time.Second)
				t.Fatalf("wirecheck exited (%d) before watching; stderr:\n%s", code, w.stderrText())
			}
			if strings.HasPrefix(line, "wirecheck: watching ") {
				return w
			}
		case <-deadline:
			t.Fatalf("wirecheck did not start watching in 30s; stderr:\n%s", w.stderrText())
		}
	}
}

// launch starts wirecheck with args in ns (the current namespace if ns is
// empty), as the user cred if not nil.
func launch(t *testing.T, ns string, cred *syscall.Credential, args ...string) *watchProc {
	t.Helper()
	return launchBinary(t, os.Args[0], ns, cred, args...)
}

func launchBinary(t *testing.T, bin, ns string, cred *syscall.Credential, args ...string) *watchProc {
	t.Helper()
	argv := []string{bin, "-test.run=^TestWatchProcessHelper$"}
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "WIRECHECK_WATCH_ARGS="+strings.Join(args, "\n"))
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	w := &watchProc{t: t, cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	cmd.Stdout = &w.stdout
	// Through an io.Pipe, not StderrPipe: Wait then returns only after
	// every byte was copied, so no last line is lost.
	errPipe, errW := io.Pipe()
	cmd.Stderr = errW
	if err := cmd.Start(); err != nil {
		t.Fatalf("start wirecheck: %v", err)
	}
	go func() {
		defer close(w.lines)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			w.mu.Lock()
			w.stderr = append(w.stderr, sc.Text())
			w.mu.Unlock()
			select {
			case w.lines <- sc.Text():
			default: // nobody is waiting for lines; stderrText still has them
			}
		}
		io.Copy(io.Discard, errPipe)
	}()
	go func() {
		cmd.Wait()
		errW.Close()
		close(w.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-w.done
	})
	return w
}

// signal sends sig and waits (up to 20s) for the exit status.
func (w *watchProc) signal(sig syscall.Signal) int {
	w.t.Helper()
	if err := w.cmd.Process.Signal(sig); err != nil {
		w.t.Fatalf("signal %v: %v", sig, err)
	}
	return w.wait(20 * time.Second)
}

// wait returns the exit status, failing the test if the process does not
// exit within d.
func (w *watchProc) wait(d time.Duration) int {
	w.t.Helper()
	select {
	case <-w.done:
	case <-time.After(d):
		w.cmd.Process.Kill()
		<-w.done
		w.t.Fatalf("wirecheck did not exit within %v; stderr:\n%s", d, w.stderrText())
	}
	for range w.lines { // let the reader finish
	}
	return w.cmd.ProcessState.ExitCode()
}

// waitLine waits up to d for a line of standard error that contains every
// one of parts, and returns it.
func (w *watchProc) waitLine(d time.Duration, parts ...string) (string, bool) {
	deadline := time.After(d)
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				return "", false
			}
			if containsAll(line, parts...) {
				return line, true
			}
		case <-deadline:
			return "", false
		}
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func (w *watchProc) stderrText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.stderr, "\n")
}

// stderrLines returns standard error so far.
func (w *watchProc) stderrLines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.stderr...)
}

// report decodes the JSON report the process wrote on standard output.
func (w *watchProc) report() *report.Report {
	w.t.Helper()
	var rep report.Report
	if err := json.Unmarshal(w.stdout.Bytes(), &rep); err != nil {
		w.t.Fatalf("watch's report is not JSON (%v):\n%s\nstderr:\n%s", err, w.stdout.String(), w.stderrText())
	}
	return &rep
}

// attachments lists what is attached to ifname in namespace ns: the names of
// TCX programs (as "tcx_ingress:NAME") and of tc BPF filters (as
// "filter:NAME").
func attachments(t *testing.T, ns, ifname string) []string {
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

// nothingAttached waits up to d for ifname to have no programs or filters
// attached, and fails the test with what remains otherwise.
func nothingAttached(t *testing.T, ns, ifname string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := attachments(t, ns, ifname)
		if len(got) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after the watch process ended, still attached to %s: %v", d, ifname, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// interfaceExists is for error tests that need a name no interface has.
func interfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

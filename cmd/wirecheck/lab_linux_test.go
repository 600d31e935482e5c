//go:build linux

package main

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/netnslab"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// The privileged CLI tests run `wirecheck watch` as a separate process
// (this test binary re-executed, see TestWatchProcessHelper) inside a
// network namespace of internal/netnslab, on one end of a veth pair whose
// other end is in a second namespace. All traffic stays between the two
// namespaces, and the namespaces and the processes started in them are
// removed when the test ends, failed or not.

// Names in the lab carry the prefix wc4 so that they cannot collide with
// other tests that make namespaces on the same machine at the same time.
const (
	hostIf   = "wc4-0" // the watched interface, in lab.Host
	peerIf   = "wc4-1" // its peer, in lab.Peer
	hostAddr = "10.214.0.1"
	peerAddr = "10.214.0.2"
)

// lab is two network namespaces joined by a veth pair.
type lab = netnslab.Lab

// newLab makes the namespaces and the veth. With addrs the ends get
// hostAddr and peerAddr (/24); mtu 0 leaves the default.
func newLab(t *testing.T, addrs bool, mtu int) *lab {
	t.Helper()
	l := netnslab.New(t, "wc4")
	l.Veth(hostIf, peerIf, hostAddr, peerAddr, addrs, mtu)
	return l
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
type watchProc struct{ *netnslab.Proc }

// startWatch runs wirecheck with args in namespace ns and waits until it
// says it is watching. The process is killed when the test ends.
func startWatch(t *testing.T, ns string, args ...string) *watchProc {
	t.Helper()
	return &watchProc{netnslab.Start(t, wirecheckCommand("", ns, nil, args), "wirecheck: watching ")}
}

// launch starts wirecheck with args in ns (the current namespace if ns is
// empty), as the user cred if not nil.
func launch(t *testing.T, ns string, cred *syscall.Credential, args ...string) *watchProc {
	t.Helper()
	return launchBinary(t, "", ns, cred, args...)
}

// launchBinary is launch of the test binary bin ("" for this one).
func launchBinary(t *testing.T, bin, ns string, cred *syscall.Credential, args ...string) *watchProc {
	t.Helper()
	return &watchProc{netnslab.Launch(t, wirecheckCommand(bin, ns, cred, args))}
}

func wirecheckCommand(bin, ns string, cred *syscall.Credential, args []string) netnslab.Command {
	return netnslab.Command{Bin: bin, Helper: "TestWatchProcessHelper", NS: ns, Cred: cred,
		Env: []string{"WIRECHECK_WATCH_ARGS=" + strings.Join(args, "\n")}}
}

// waitAllPackets waits up to 10 s for a summary that counts packets
// packets: every packet of a replay has then been counted and judged.
// what names the run in the failure.
func (w *watchProc) waitAllPackets(t *testing.T, what string, packets uint64) {
	t.Helper()
	summary := "; " + textout.Count(packets, "packet") + "; "
	if _, ok := w.WaitLine(10*time.Second, " summary: ", summary); !ok {
		t.Fatalf("%s: no summary with %q within 10s; stderr:\n%s", what, summary, w.StderrText())
	}
}

// report decodes the JSON report the process wrote on standard output.
func (w *watchProc) report() *report.Report {
	var rep report.Report
	w.DecodeStdout(&rep)
	return &rep
}

var nothingAttached = netnslab.NothingAttached

// interfaceExists is for error tests that need a name no interface has.
func interfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

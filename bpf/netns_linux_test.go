//go:build linux && (amd64 || arm64)

package bpf

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// These tests attach to a real interface: one end of a veth pair joining two
// network namespaces the test creates (and deletes, even on failure). All
// traffic stays between those namespaces.

// testNet is two namespaces, a and b, joined by veth0 (in a, 10.213.0.1)
// and veth1 (in b, 10.213.0.2).
type testNet struct {
	a, b         string
	addrA, addrB netip.Addr
}

var netSeq atomic.Int32

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	testenv.RequirePrivileged(t)
	id := fmt.Sprintf("%d-%d", os.Getpid(), netSeq.Add(1))
	n := &testNet{a: "wc-a-" + id, b: "wc-b-" + id,
		addrA: netip.MustParseAddr("10.213.0.1"), addrB: netip.MustParseAddr("10.213.0.2")}
	for _, ns := range []string{n.a, n.b} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipCmd(t, "-n", n.a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", n.b)
	ipCmd(t, "-n", n.a, "addr", "add", n.addrA.String()+"/24", "dev", "veth0")
	ipCmd(t, "-n", n.b, "addr", "add", n.addrB.String()+"/24", "dev", "veth1")
	for _, ns := range []string{n.a, n.b} {
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, "-n", n.a, "link", "set", "veth0", "up")
	ipCmd(t, "-n", n.b, "link", "set", "veth1", "up")
	return n
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// inNetns runs fn in namespace ns (testenv.InNetns) and fails t if the
// switch does.
func inNetns(t *testing.T, ns string, fn func()) {
	t.Helper()
	if err := testenv.InNetns(ns, func() error { fn(); return nil }); err != nil {
		t.Fatal(err)
	}
}

// requireTCX skips the test on kernels without TCX links (before 6.6) and
// fails it on later ones if attaching does not work.
func requireTCX(t *testing.T, n *testNet) {
	t.Helper()
	testenv.RequireFeature(t, "TCX links", [2]int{6, 6}, func() error {
		var err error
		inNetns(t, n.a, func() {
			var prog *ebpf.Program
			prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
				Type:         ebpf.SchedCLS,
				License:      "MIT",
				Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, -1), asm.Return()},
			})
			if err != nil {
				return
			}
			defer prog.Close()
			iface, ierr := net.InterfaceByName("veth0")
			if ierr != nil {
				err = ierr
				return
			}
			var l link.Link
			if l, err = link.AttachTCX(link.TCXOptions{Interface: iface.Index, Program: prog, Attach: ebpf.AttachTCXIngress}); err == nil {
				l.Close()
			}
		})
		return err
	})
}

// attachedPrograms returns the names of the TCX programs on ifname in ns.
func attachedPrograms(t *testing.T, ns, ifname string) []string {
	t.Helper()
	var names []string
	inNetns(t, ns, func() {
		iface, err := net.InterfaceByName(ifname)
		if err != nil {
			t.Error(err)
			return
		}
		if names, err = TCXPrograms(iface.Index); err != nil {
			t.Error(err)
		}
	})
	return names
}

// tcFilters returns the names of the BPF tc filters on ifname in ns.
func tcFilters(t *testing.T, ns, ifname string) []string {
	t.Helper()
	var names []string
	inNetns(t, ns, func() {
		lnk, err := netlink.LinkByName(ifname)
		if err != nil {
			t.Error(err)
			return
		}
		for _, parent := range legacyParents {
			fs, err := netlink.FilterList(lnk, parent)
			if err != nil {
				continue // no clsact qdisc
			}
			for _, f := range fs {
				if bf, ok := f.(*netlink.BpfFilter); ok {
					names = append(names, bf.Name)
				}
			}
		}
	})
	return names
}

// traffic runs conns TCP connections from a to b, each sending and getting
// back size bytes and closing cleanly, and one UDP exchange.
func (n *testNet) traffic(t *testing.T, conns, size int) {
	t.Helper()
	var ln net.Listener
	var pc net.PacketConn
	inNetns(t, n.b, func() {
		var err error
		if ln, err = net.Listen("tcp", netip.AddrPortFrom(n.addrB, 5000).String()); err != nil {
			t.Error(err)
		}
		if pc, err = net.ListenPacket("udp", netip.AddrPortFrom(n.addrB, 5001).String()); err != nil {
			t.Error(err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	defer ln.Close()
	defer pc.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // echo server
		defer wg.Done()
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			data, _ := io.ReadAll(c)
			c.Write(data)
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 100)
		pc.SetDeadline(time.Now().Add(5 * time.Second))
		if n, from, err := pc.ReadFrom(buf); err == nil {
			pc.WriteTo(buf[:n], from)
		}
	}()
	var clients []net.Conn
	var udp net.Conn
	inNetns(t, n.a, func() {
		for range conns {
			c, err := net.DialTimeout("tcp", netip.AddrPortFrom(n.addrB, 5000).String(), 2*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			clients = append(clients, c)
		}
		var err error
		if udp, err = net.Dial("udp", netip.AddrPortFrom(n.addrB, 5001).String()); err != nil {
			t.Error(err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	msg := make([]byte, size)
	for _, c := range clients {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		if got, err := io.ReadAll(c); err != nil || len(got) != size {
			t.Fatalf("echo: %d bytes, %v", len(got), err)
		}
		c.Close()
	}
	udp.SetDeadline(time.Now().Add(5 * time.Second))
	udp.Write([]byte("ping"))
	if _, err := udp.Read(make([]byte, 10)); err != nil {
		t.Fatalf("udp echo: %v", err)
	}
	udp.Close()
	wg.Wait()
	time.Sleep(200 * time.Millisecond) // the last ACKs
}

func TestAttachCountsRealTraffic(t *testing.T) {
	n := newTestNet(t)
	requireTCX(t, n)
	c := loadCounter(t, Options{ServerPorts: []PortKey{{ipproto.TCP, 5000}}})
	inNetns(t, n.a, func() {
		if err := c.Attach("veth0"); err != nil {
			t.Error(err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	if got := attachedPrograms(t, n.a, "veth0"); len(got) != 2 {
		t.Fatalf("attached programs %v, want wirecheck_tc on ingress and egress", got)
	}
	inNetns(t, n.a, func() {
		if err := c.Attach("veth0"); err == nil || !strings.Contains(err.Error(), "already attached") {
			t.Errorf("second Attach = %v, want an error: it would count every packet twice", err)
		}
	})

	const conns, size = 5, 3000
	n.traffic(t, conns, size)

	fs, err := c.Flows()
	if err != nil {
		t.Fatal(err)
	}
	var tcp, udp int
	var inFlows uint64
	for _, f := range fs {
		p, _ := f.Total()
		inFlows += p
		cl, _ := f.Client(flow.PortHints{})
		switch {
		case f.Key.Proto == ipproto.TCP && f.Key.Port(cl.Other()) == 5000:
			tcp++
			if f.Key.Addr(cl) != n.addrA || f.State(cl) != flow.StateClosed {
				t.Errorf("tcp flow: client %v state %v", f.Key.Addr(cl), f.State(cl))
			}
			if f.Payload[cl] != size || f.Payload[cl.Other()] != size || f.SYNs[cl] != 1 {
				t.Errorf("tcp flow: payload %v SYNs %v, want %d each way and one SYN", f.Payload, f.SYNs, size)
			}
		case f.Key.Proto == ipproto.UDP && f.Key.Port(cl.Other()) == 5001:
			udp++
			if f.Packets != [2]uint64{1, 1} || f.State(cl) != flow.StateAnswered {
				t.Errorf("udp flow: packets %v state %v", f.Packets, f.State(cl))
			}
		}
	}
	if tcp != conns || udp != 1 {
		t.Errorf("%d TCP and %d UDP flows, want %d and 1: %+v", tcp, udp, conns, fs)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if sum := inFlows + st.OtherPackets + st.Truncated + st.Malformed + st.Lost; sum != st.Packets || st.Truncated+st.Malformed+st.Lost != 0 {
		t.Errorf("stats %+v: flows hold %d packets", st, inFlows)
	}
	select {
	case nf := <-c.NewFlows():
		if nf.Key.Proto != ipproto.UDP || nf.Key.Addr(nf.First) != n.addrA {
			t.Errorf("new flow %+v, want the UDP flow (TCP port 5000 is a rule)", nf)
		}
	case <-time.After(time.Second):
		t.Errorf("the UDP flow was not announced")
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := attachedPrograms(t, n.a, "veth0"); len(got) != 0 {
		t.Errorf("after Close, still attached: %v", got)
	}
}

// TestAttachLoopbackIngressOnly: on a loopback interface every frame sent
// is received too, and both TC hooks see it; the counter attaches to the
// ingress alone, so it counts each frame once, as libpcap does (the
// engines test in cmd/wirecheck compares the counts).
func TestAttachLoopbackIngressOnly(t *testing.T) {
	n := newTestNet(t)
	requireTCX(t, n)
	c := loadCounter(t, Options{})
	inNetns(t, n.a, func() {
		if err := c.Attach("lo"); err != nil {
			t.Error(err)
		}
	})
	if got := attachedPrograms(t, n.a, "lo"); len(got) != 1 || got[0] != "TCXIngress:wirecheck_tc" {
		t.Fatalf("attached to lo: %v, want the ingress alone", got)
	}
	// A UDP datagram to a closed port over lo: the datagram and the ICMP
	// port unreachable, one frame each.
	inNetns(t, n.a, func() {
		conn, err := net.Dial("udp", "127.0.0.1:9")
		if err != nil {
			t.Error(err)
			return
		}
		conn.Write([]byte("x"))
		conn.Close()
	})
	time.Sleep(100 * time.Millisecond)
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets != 2 {
		t.Errorf("%d packets counted on lo, want 2 (the datagram and the ICMP error, once each)", st.Packets)
	}
}

// TestHelperProcess is run as a child by the tests below; on its own it
// skips.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv("WIRECHECK_TEST_HELPER") {
	case "attach":
		c, err := Load(Options{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		c.forceLegacy = os.Getenv("WIRECHECK_TEST_LEGACY") == "1"
		if err := c.Attach(os.Getenv("WIRECHECK_TEST_IFACE")); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("attached")
		time.Sleep(time.Minute) // until killed
		os.Exit(2)
	case "load":
		_, err := Load(Options{})
		fmt.Println("error:", err)
		os.Exit(0)
	}
	t.Skip("helper for other tests")
}

// startHelper runs TestHelperProcess in namespace ns, attached to veth0, and
// waits until it says it is attached.
func startHelper(t *testing.T, ns string, legacy bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "WIRECHECK_TEST_HELPER=attach", "WIRECHECK_TEST_IFACE=veth0")
	if legacy {
		cmd.Env = append(cmd.Env, "WIRECHECK_TEST_LEGACY=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
		io.Copy(io.Discard, out)
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "attached" {
			t.Fatalf("helper: %q", s)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not attach in 30s")
	}
	return cmd
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// TestKilledProcessLeavesNothingAttached: TCX links are file descriptors
// of the process, so SIGKILL detaches them.
func TestKilledProcessLeavesNothingAttached(t *testing.T) {
	n := newTestNet(t)
	requireTCX(t, n)
	cmd := startHelper(t, n.a, false)
	if got := attachedPrograms(t, n.a, "veth0"); len(got) != 2 || !strings.HasSuffix(got[0], ":wirecheck_tc") {
		t.Fatalf("helper attached %v, want wirecheck_tc twice", got)
	}
	kill(t, cmd)
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := attachedPrograms(t, n.a, "veth0")
		if len(got) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("3s after SIGKILL still attached: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLegacyFiltersAfterKill: the tc-filter fallback (kernels before 6.6)
// does outlive a killed process; the next Attach removes what it left.
func TestLegacyFiltersAfterKill(t *testing.T) {
	n := newTestNet(t)
	cmd := startHelper(t, n.a, true)
	stale := tcFilters(t, n.a, "veth0")
	if len(stale) != 2 || !strings.HasPrefix(stale[0], legacyPrefix) {
		t.Fatalf("helper's filters %v, want two named %s<pid>", stale, legacyPrefix)
	}
	kill(t, cmd)
	if got := tcFilters(t, n.a, "veth0"); len(got) != 2 {
		t.Fatalf("after SIGKILL filters %v: expected the legacy filters to remain", got)
	}

	c := loadCounter(t, Options{})
	c.forceLegacy = true
	inNetns(t, n.a, func() {
		if err := c.Attach("veth0"); err != nil {
			t.Error(err)
		}
	})
	mine := legacyName(os.Getpid())
	if got := tcFilters(t, n.a, "veth0"); len(got) != 2 || got[0] != mine || got[1] != mine {
		t.Errorf("after the next Attach filters %v, want only %s twice", got, mine)
	}
	n.traffic(t, 1, 10)
	if fs, _ := c.Flows(); len(fs) < 2 {
		t.Errorf("legacy attachment counted %d flows, want the TCP and UDP ones", len(fs))
	}
	if err := c.Close(); err != nil { // from the test's own namespace
		t.Error(err)
	}
	if got := tcFilters(t, n.a, "veth0"); len(got) != 0 {
		t.Errorf("after Close filters %v", got)
	}
}

// TestUnprivilegedLoadSaysWhatToDo runs Load as user nobody.
func TestUnprivilegedLoadSaysWhatToDo(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := testenv.BinaryForNobody(t)
	cmd := exec.Command(bin, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "WIRECHECK_TEST_HELPER=load")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "run as root or grant CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON") {
		t.Errorf("unprivileged Load said %q", out)
	}
}

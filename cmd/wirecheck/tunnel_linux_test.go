//go:build linux

package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/bpf/testenv"
)

// The VXLAN lab: a gateway (overlay 10.215.0.1) whose traffic to its
// services (overlay 10.215.0.2) crosses the veth (the underlay, 10.214.0.x)
// inside VXLAN, as a mirror target receives AWS VPC Traffic Mirroring.
const (
	gwOverlay  = "10.215.0.1"
	svcOverlay = "10.215.0.2"
	vxlanDev   = "wc4-vx"
)

const tunnelProfile = `version: 1
profile: wirecheck-test/vxlan-gateway
peers:
  services:
    description: the gateway's services, across the overlay
    cidrs: [10.215.0.0/24]
rules:
  - {name: tcp-echo, from: host, to: services, proto: tcp, ports: 5000, level: required}
  - {name: udp-echo, from: host, to: services, proto: udp, ports: 5001, level: required}
`

// recordVXLAN makes a conforming gateway's traffic cross a VXLAN device
// between the lab's namespaces and records the underlay with tcpdump; it
// returns the capture file.
func recordVXLAN(t *testing.T) string {
	l := newLab(t, true, 0)
	testenv.RequireTools(t, "ncat", "ss", "tcpdump")
	for _, end := range []struct{ ns, dev, local, remote, overlay string }{
		{l.host, hostIf, hostAddr, peerAddr, gwOverlay}, {l.peer, peerIf, peerAddr, hostAddr, svcOverlay},
	} {
		if out, err := l.sh(end.ns, fmt.Sprintf("ip link add %s type vxlan id 42 dstport 4789 local %s remote %s dev %s", vxlanDev, end.local, end.remote, end.dev)); err != nil {
			if strings.Contains(out, "Unknown device type") && !testenv.InCI() {
				t.Skipf("this kernel has no VXLAN devices: %s", out)
			}
			t.Fatalf("add a VXLAN device: %v: %s", err, out)
		}
		l.run(end.ns, "echo 1 > /proc/sys/net/ipv6/conf/"+vxlanDev+"/disable_ipv6")
		l.ip("-n", end.ns, "addr", "add", end.overlay+"/24", "dev", vxlanDev)
		l.ip("-n", end.ns, "link", "set", vxlanDev, "up")
	}
	l.listen(l.peer, "tcp", svcOverlay, 5000)
	l.listen(l.peer, "udp", svcOverlay, 5001)
	file := filepath.Join(t.TempDir(), "vxlan.pcap")
	dump := exec.Command("ip", "netns", "exec", l.peer, "timeout", "60", "tcpdump", "-i", peerIf, "-n", "-U", "-w", file)
	dump.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // SIGINT reaches tcpdump itself
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-dump.Process.Pid, syscall.SIGKILL); dump.Wait() })
	time.Sleep(500 * time.Millisecond) // tcpdump opens the interface
	echo := func(proto string, port int) string {
		return fmt.Sprintf(`exec 3<>/dev/%s/%s/%d && echo ping >&3 && timeout 5 head -n1 <&3`, proto, svcOverlay, port)
	}
	for _, c := range []struct {
		proto string
		port  int
	}{{"tcp", 5000}, {"tcp", 5000}, {"udp", 5001}} {
		if out := l.run(l.host, echo(c.proto, c.port)); strings.TrimSpace(out) != "pong" {
			t.Fatalf("%s echo across the VXLAN answered %q", c.proto, out)
		}
	}
	time.Sleep(time.Second) // the last FINs and ACKs
	syscall.Kill(-dump.Process.Pid, syscall.SIGINT)
	dump.Wait()
	return file
}

// TestVXLANMirrorTarget records a conforming gateway's traffic inside VXLAN
// on the underlay, as a mirror target sees it, and analyses it: with
// --host the gateway's overlay address the flows inside are judged
// (conformant, each naming its tunnel); with --tunnels off, or with the
// host at a tunnel end, the outer UDP 4789 flow is what is judged. Then the
// capture is replayed into a watched veth: the libpcap engine's report is
// analyse's, and the eBPF engine, which does not decapsulate, reports the
// tunnel's packets as a loss and no verdict.
func TestVXLANMirrorTarget(t *testing.T) {
	file := recordVXLAN(t)
	prof := writeProfile(t, "vxlan-gateway.yaml", tunnelProfile)
	args := []string{"-p", prof, "--host", gwOverlay}
	want, code := analyseJSON(t, append(append([]string{}, args...), file)...)
	if code != exitConformant || want.Verdict != "conformant" || !want.Complete {
		t.Fatalf("analyse: exit %d, verdict %s, complete %v, problems %+v", code, want.Verdict, want.Complete, want.Problems)
	}
	if len(want.Tunnels) != 1 || !strings.HasPrefix(want.Tunnels[0].Tunnel, "vxlan ") {
		t.Errorf("tunnels %+v, want the one VXLAN tunnel", want.Tunnels)
	}
	var inner int
	for _, f := range want.Flows {
		if f.Client == gwOverlay && f.Server == svcOverlay {
			inner++
			if !strings.HasPrefix(f.Tunnel, "vxlan ") || f.Direction != "outbound" || f.Verdict != "expected" {
				t.Errorf("flow %s %d: tunnel %q direction %s verdict %s", f.Proto, f.ServerPort, f.Tunnel, f.Direction, f.Verdict)
			}
		}
	}
	if inner != 3 {
		t.Errorf("%d flows of the gateway inside the tunnel, want 3: %+v", inner, want.Flows)
	}
	for _, extra := range [][]string{{"--tunnels", "off"}, {"--host", hostAddr}} {
		rep, code := analyseJSON(t, append(append(append([]string{}, args...), extra...), file)...)
		var outer bool
		for _, f := range rep.Flows {
			outer = outer || (f.Proto == "udp" && f.ServerPort == 4789 && f.Tunnel == "")
		}
		if !outer || len(rep.Tunnels) != 0 || code != exitNotConformant {
			t.Errorf("%v: exit %d, tunnels %+v, outer UDP 4789 flow %v; want the outer flow judged", extra, code, rep.Tunnels, outer)
		}
	}

	l := newLab(t, false, 65535)
	testenv.RequireTools(t, "tcpreplay")
	for _, engine := range []string{"pcap", "ebpf"} {
		w := startWatch(t, l.host, append([]string{"watch", "-i", hostIf, "--engine", engine, "--interval", "500ms", "--format", "json"}, args...)...)
		if out, err := exec.Command("ip", "netns", "exec", l.peer, "tcpreplay", "--topspeed", "-i", peerIf, file).CombinedOutput(); err != nil {
			t.Fatalf("tcpreplay: %v: %s", err, out)
		}
		summary := fmt.Sprintf("; %d packets; ", want.Summary.Packets)
		if _, ok := w.waitLine(10*time.Second, " summary: ", summary); !ok {
			t.Fatalf("%s: no summary with %q within 10s; stderr:\n%s", engine, summary, w.stderrText())
		}
		code := w.signal(syscall.SIGINT)
		got := w.report()
		switch engine {
		case "pcap":
			if d := diffReports(got, want); d != "" || code != exitConformant {
				t.Errorf("watch --engine pcap of the replay (exit %d) differs from analyse:\n%s", code, d)
			}
		case "ebpf":
			var named bool
			for _, l := range got.Losses {
				named = named || (l.Count > 0 && strings.Contains(l.What, "VXLAN or GENEVE tunnels, not decapsulated"))
			}
			if !named || got.Complete || code != exitError || got.Verdict != "inconclusive" {
				t.Errorf("eBPF engine: exit %d, verdict %s, complete %v, losses %+v; want the tunnel's packets named as a loss", code, got.Verdict, got.Complete, got.Losses)
			}
		}
	}
}

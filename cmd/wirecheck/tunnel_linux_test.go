//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
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
		{l.Host, hostIf, hostAddr, peerAddr, gwOverlay}, {l.Peer, peerIf, peerAddr, hostAddr, svcOverlay},
	} {
		if out, err := l.Sh(end.ns, fmt.Sprintf("ip link add %s type vxlan id 42 dstport 4789 local %s remote %s dev %s", vxlanDev, end.local, end.remote, end.dev)); err != nil {
			if strings.Contains(out, "Unknown device type") && !testenv.InCI() {
				t.Skipf("this kernel has no VXLAN devices: %s", out)
			}
			t.Fatalf("add a VXLAN device: %v: %s", err, out)
		}
		l.Run(end.ns, "echo 1 > /proc/sys/net/ipv6/conf/"+vxlanDev+"/disable_ipv6")
		l.IP("-n", end.ns, "addr", "add", end.overlay+"/24", "dev", vxlanDev)
		l.IP("-n", end.ns, "link", "set", vxlanDev, "up")
	}
	l.Listen(l.Peer, "tcp", svcOverlay, 5000)
	l.Listen(l.Peer, "udp", svcOverlay, 5001)
	file := filepath.Join(t.TempDir(), "vxlan.pcap")
	dump := exec.Command("ip", "netns", "exec", l.Peer, "timeout", "60", "tcpdump", "-i", peerIf, "-n", "-U", "-w", file)
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
		if out := l.Run(l.Host, echo(c.proto, c.port)); strings.TrimSpace(out) != "pong" {
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
// tunnel's packets as a loss and no verdict (diffHiddenTunnels).
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
		w := startWatch(t, l.Host, append([]string{"watch", "-i", hostIf, "--engine", engine, "--interval", "500ms", "--format", "json"}, args...)...)
		if out, err := exec.Command("ip", "netns", "exec", l.Peer, "tcpreplay", "--topspeed", "-i", peerIf, file).CombinedOutput(); err != nil {
			t.Fatalf("tcpreplay: %v: %s", err, out)
		}
		w.waitAllPackets(t, engine, want.Summary.Packets)
		code := w.Signal(syscall.SIGINT)
		got := w.report()
		switch engine {
		case "pcap":
			if d := diffReports(got, want); d != "" || code != exitConformant {
				t.Errorf("watch --engine pcap of the replay (exit %d) differs from analyse:\n%s", code, d)
			}
		case "ebpf":
			if d := diffHiddenTunnels(got, want); d != "" || code != exitError || got.Verdict != "inconclusive" {
				t.Errorf("eBPF engine: exit %d, verdict %s; want the tunnel's packets named as a loss and no verdict:\n%s", code, got.Verdict, d)
			}
		}
	}
}

// tunnelCaptures are the shared corpus's captures of the tunnels analyse
// decapsulates (ERSPAN types I to III, GENEVE, VXLAN), and of GRE it does
// not (Cisco's metadata, an ERSPAN III frame type that is not Ethernet or
// IP): real captures, small, none cut short, every frame fits a veth.
// No IP-in-IP capture exists there, and this kernel has no ipip, gre or
// geneve devices to record one (CONFIG_NET_IPIP, CONFIG_NET_IPGRE_DEMUX and
// CONFIG_GENEVE are not set): ipipCapture wraps a recorded capture's IP
// packets in IPv4 instead, and bpf TestTunnelsCountedApart holds the kernel
// to classify on IP-in-IP frames. The last cases make the host a tunnel end
// and turn decapsulation off: then both engines judge the outer packets.
var tunnelCaptures = []struct {
	file string
	args []string
}{
	{"tcpdump-tests/erspan-type-i-1.pcap", nil},
	{"tcpdump-tests/erspan-type-ii-1.pcap", nil},
	{"tcpdump-tests/erspan-type-ii-3.pcap", nil},
	{"tcpdump-tests/erspan-type-iii-ft-0.pcap", nil},
	{"tcpdump-tests/erspan-type-iii-ft-7.pcap", nil},
	{"tcpdump-tests/various_gre.pcap", nil},
	{"protocols/libpcap__geneve.pcap", nil},
	{"protocols/libpcap__vxlan.pcap", nil},
	{"tcpdump-tests/erspan-type-ii-3.pcap", []string{"--host", "192.168.1.249"}},
	{"tcpdump-tests/erspan-type-iii-ft-0.pcap", []string{"--tunnels", "off"}},
	{"protocols/libpcap__geneve.pcap", []string{"--host", "20.0.0.2"}},
}

// TestTunnelReplayMatchesAnalyse replays each tunnel capture into a
// watched veth: the libpcap engine's report is analyse's (the flows inside
// each tunnel, which name it, and the tunnels list), and the eBPF engine's
// has the same flows outside any tunnel and the same other traffic outside
// them, with every tunnel packet named as a loss, so that the report is
// incomplete and no required rule can pass.
func TestTunnelReplayMatchesAnalyse(t *testing.T) {
	dir := testcorpus.Dir(t)
	l := newLab(t, false, 65535)
	testenv.RequireTools(t, "tcpreplay")
	ipip := ipipCapture(t, filepath.Join(captures, "filegw-faulty.pcap"))
	cases := append(slices.Clone(tunnelCaptures), struct {
		file string
		args []string
	}{ipip, nil}, struct {
		file string
		args []string
	}{ipip, []string{"--host", ipipOuter[1]}})
	for _, c := range cases {
		file := c.file
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, c.file)
		}
		args := append([]string{"-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "--format", "json"}, c.args...)
		t.Run(strings.Join(append([]string{filepath.Base(c.file)}, c.args...), " "), func(t *testing.T) {
			want, wantCode := analyseJSON(t, append(slices.Clone(args), file)...)
			if want.Summary.Packets == 0 {
				t.Fatalf("analyse read no packets from %s", c.file)
			}
			// Every capture but the two of GRE that is no tunnel has one
			// to decapsulate, unless the case's arguments say not to.
			decap := c.args == nil && !strings.Contains(c.file, "ft-7") && !strings.Contains(c.file, "various_gre")
			if decap != (len(want.Tunnels) > 0) {
				t.Fatalf("analyse decapsulated %+v, want tunnels: %v", want.Tunnels, decap)
			}
			for _, engine := range []string{"pcap", "ebpf"} {
				w := startWatch(t, l.Host, append([]string{"watch", "-i", hostIf, "--engine", engine, "--interval", "500ms"}, args...)...)
				if out, err := exec.Command("ip", "netns", "exec", l.Peer, "tcpreplay", "--topspeed", "-i", peerIf, file).CombinedOutput(); err != nil {
					t.Fatalf("tcpreplay: %v: %s", err, out)
				}
				w.waitAllPackets(t, engine, want.Summary.Packets)
				code := w.Signal(syscall.SIGINT)
				got := w.report()
				switch engine {
				case "pcap":
					if d := diffReports(got, want); d != "" || code != wantCode {
						t.Errorf("watch --engine pcap of the replay (exit %d, analyse %d) differs from analyse:\n%s", code, wantCode, d)
					}
				case "ebpf":
					if d := diffHiddenTunnels(got, want); d != "" {
						t.Errorf("watch --engine ebpf of the replay:\n%s", d)
					}
				}
			}
		})
	}
}

// diffHiddenTunnels compares the eBPF engine's report of a replayed
// capture with analyse's, for an engine that does not decapsulate: the
// same packets and bytes, the flows analyse found outside any tunnel
// (field for field, times aside), a loss that counts exactly the packets
// of analyse's tunnels, and other traffic that is analyse's less what it
// found inside them. With a tunnel, the report must be incomplete and no
// rule seen through it.
func diffHiddenTunnels(got, want *report.Report) string {
	var d []string
	add := func(format string, args ...any) { d = append(d, fmt.Sprintf(format, args...)) }
	var tunnelled uint64
	for _, tn := range want.Tunnels {
		tunnelled += tn.Packets
	}
	// analyse counts a decapsulated packet's bytes as the inner packet's,
	// the kernel as the frame's: bytes compare only without tunnels.
	if got.Summary.Packets != want.Summary.Packets || (tunnelled == 0 && got.Summary.Bytes != want.Summary.Bytes) {
		add("packets %d bytes %d, want %d and %d", got.Summary.Packets, got.Summary.Bytes, want.Summary.Packets, want.Summary.Bytes)
	}
	key := func(f *report.Flow) string {
		return fmt.Sprintf("%s %s:%d -> %s:%d", f.Proto, f.Client, f.ClientPort, f.Server, f.ServerPort)
	}
	outside := map[string]report.Flow{}
	var outsidePackets uint64
	for _, f := range want.Flows {
		if f.Tunnel == "" {
			outside[key(&f)] = f
			outsidePackets += f.Packets
		}
	}
	for _, f := range got.Flows {
		k := key(&f)
		wf, ok := outside[k]
		if !ok {
			add("flow %s: not one analyse found outside a tunnel", k)
			continue
		}
		delete(outside, k)
		f.First, f.Last, wf.First, wf.Last = nil, nil, nil, nil
		a, _ := json.Marshal(f)
		b, _ := json.Marshal(wf)
		if !bytes.Equal(a, b) {
			add("flow %s:\n  watch:   %s\n  analyse: %s", k, a, b)
		}
	}
	for k := range outside {
		add("flow %s: outside any tunnel in analyse, missing", k)
	}
	var lost uint64
	for _, l := range got.Losses {
		if strings.Contains(l.What, "tunnels, not decapsulated by the eBPF engine") {
			lost += l.Count
		} else if l.Count != 0 {
			add("loss %+v", l)
		}
	}
	if lost != tunnelled {
		add("%d tunnel packets named as a loss, want %d (analyse's tunnels: %+v)", lost, tunnelled, want.Tunnels)
	}
	var other uint64
	for _, o := range got.Other {
		other += o.Packets
	}
	if wantOther := want.Summary.Packets - want.Summary.Malformed - outsidePackets - tunnelled; other != wantOther {
		add("other traffic %d packets, want %d (analyse's %+v less what its tunnels carried)", other, wantOther, want.Other)
	}
	if len(got.Tunnels) != 0 {
		add("tunnels %+v: the eBPF engine decapsulates none", got.Tunnels)
	}
	if tunnelled > 0 {
		if got.Complete {
			add("complete with %d tunnel packets not judged", tunnelled)
		}
		// A required rule not seen outside the tunnels may have been met
		// inside them: it cannot be called missing or blocked.
		for _, r := range got.Rules {
			if r.Required && r.Status != "seen" && r.Status != "inconclusive" {
				add("rule %s is %s, with tunnels not judged", r.ID, r.Status)
			}
		}
	}
	return strings.Join(d, "\n")
}

// ipipOuter are the outer ends of ipipCapture's tunnel.
var ipipOuter = [2]string{"192.0.2.1", "192.0.2.2"}

// ipipCapture writes a copy of the Ethernet capture src in which every IP
// packet travels inside IPv4 (IP-in-IP, protocol 4; IPv6 inside: 41)
// between ipipOuter's ends, as a tunnel would carry it; other frames are
// kept as they are. It returns the file.
func ipipCapture(t *testing.T, src string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "ipip-"+filepath.Base(src))
	out, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := pcapgo.NewWriter(out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	outer := [2]net.IP{net.ParseIP(ipipOuter[0]).To4(), net.ParseIP(ipipOuter[1]).To4()}
	n := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ci.CaptureLength != ci.Length {
			t.Fatalf("%s: frame %d is cut short: its copy could not be replayed whole", src, n)
		}
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		if eth != nil && (eth.EthernetType == layers.EthernetTypeIPv4 || eth.EthernetType == layers.EthernetTypeIPv6) {
			proto := layers.IPProtocolIPv4
			if eth.EthernetType == layers.EthernetTypeIPv6 {
				proto = layers.IPProtocolIPv6
			}
			// Each direction of a flow from its own end, as a tunnel's
			// ends would send them.
			i := 0
			if nf := pkt.NetworkLayer().NetworkFlow(); bytes.Compare(nf.Src().Raw(), nf.Dst().Raw()) > 0 {
				i = 1
			}
			buf := gopacket.NewSerializeBuffer()
			o := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: outer[i], DstIP: outer[1-i]}
			e := &layers.Ethernet{SrcMAC: eth.SrcMAC, DstMAC: eth.DstMAC, EthernetType: layers.EthernetTypeIPv4}
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, e, o, gopacket.Payload(eth.Payload)); err != nil {
				t.Fatal(err)
			}
			data = buf.Bytes()
			ci.CaptureLength, ci.Length = len(data), len(data)
			n++
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatalf("%s holds no IP packet to wrap", src)
	}
	return name
}

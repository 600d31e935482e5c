//go:build linux

package watch

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch/watchtest"
	"github.com/wirecheck/wirecheck/internal/netnslab"
)

// anyFlow allows every TCP and UDP flow: the engines test compares counts,
// not verdicts.
const anyFlow = `version: 1
profile: test/any-flow
rules:
  - {name: tcp, from: any, to: any, proto: tcp, level: allowed, bidirectional: true}
  - {name: udp, from: any, to: any, proto: udp, level: allowed, bidirectional: true}
`

// TestEnginesAgreeOnInterfaceKinds runs Run with both engines at once on
// the same interface, of each kind a host has (a veth, the loopback, a
// bridge port, a VLAN device), while real programs make TCP and UDP
// exchanges through it: the two reports must count the same packets and
// bytes, in all and per flow. On the loopback the eBPF engine once counted
// every packet twice (the ingress and egress hooks both see it). A kernel
// built without 802.1Q (its /proc/config.gz says so) skips the VLAN device; frames
// with 802.1Q and 802.1ad tags replayed into a veth (vlan-tagged) test the
// tags' counting there too.
func TestEnginesAgreeOnInterfaceKinds(t *testing.T) {
	for _, kind := range []string{"veth", "loopback", "bridge-port", "vlan", "vlan-tagged"} {
		t.Run(kind, func(t *testing.T) { testEnginesAgree(t, kind) })
	}
}

func testEnginesAgree(t *testing.T, kind string) {
	var l *netnslab.Lab
	dev, host, client, server, serverNS := hostIf, hostAddr, "", peerAddr, ""
	switch kind {
	case "veth":
		l = newLab(t, true)
	case "loopback":
		l = netnslab.New(t, "wc4")
		dev, host, server = "lo", "127.0.0.1", "127.0.0.1"
	case "bridge-port":
		// The watched interface is a port of a bridge that holds the
		// host's address.
		l = newLab(t, false)
		// Without multicast snooping the bridge joins no group of its
		// own. With it (the default) the bridge joins ALL-SNOOPERS
		// (224.0.0.106, RFC 4286) when it comes up, whatever its
		// multicast flag, and sends two unsolicited IGMPv3 reports of
		// it (54 bytes), the second up to a second later: one that fell
		// between the two engines' start made one count a frame the
		// other did not see (1 run in 8 to 60, more under load).
		l.IP("-n", l.Host, "link", "add", "wc4-br", "type", "bridge", "mcast_snooping", "0")
		l.Run(l.Host, "echo 1 > /proc/sys/net/ipv6/conf/wc4-br/disable_ipv6")
		l.IP("-n", l.Host, "link", "set", hostIf, "master", "wc4-br")
		l.IP("-n", l.Host, "addr", "add", hostAddr+"/24", "dev", "wc4-br")
		l.IP("-n", l.Host, "link", "set", "wc4-br", "up")
		l.IP("-n", l.Peer, "addr", "add", peerAddr+"/24", "dev", peerIf)
	case "vlan-tagged":
		testEnginesAgreeTagged(t)
		return
	case "vlan":
		// VLAN 10 devices on both ends of the veth; the watched one
		// sees the frames untagged.
		l = newLab(t, false)
		dev = hostIf + ".10"
		if out, err := l.Sh(l.Host, "ip link add link "+hostIf+" name "+dev+" type vlan id 10"); err != nil {
			// Skips only where the kernel's config proves it has no
			// 802.1Q; fails anywhere else, CI included.
			testenv.RequireKernelConfig(t, "CONFIG_VLAN_8021Q", fmt.Sprintf("add a VLAN device: %v: %s", err, strings.TrimSpace(out)))
		}
		for _, end := range []struct{ ns, parent, addr string }{{l.Host, hostIf, hostAddr}, {l.Peer, peerIf, peerAddr}} {
			vdev := end.parent + ".10"
			if end.ns == l.Peer {
				l.IP("-n", end.ns, "link", "add", "link", end.parent, "name", vdev, "type", "vlan", "id", "10")
			}
			l.Run(end.ns, "echo 1 > /proc/sys/net/ipv6/conf/"+vdev+"/disable_ipv6")
			l.IP("-n", end.ns, "addr", "add", end.addr+"/24", "dev", vdev)
			l.IP("-n", end.ns, "link", "set", vdev, "up")
		}
	}
	client, serverNS = l.Host, l.Peer
	if kind == "loopback" {
		serverNS = l.Host
	}
	l.Listen(serverNS, "tcp", server, 5000)
	l.Listen(serverNS, "udp", server, 5001)
	prof := writeProfile(t, "any-flow.yaml", anyFlow)

	var ws []*runProc
	for _, engine := range []string{"ebpf", "pcap"} {
		ws = append(ws, startRun(t, l.Host, runSpec{Interface: dev, Engine: engine, Profile: prof, Hosts: []string{host},
			Interval: time.Hour, Duration: 2 * time.Minute}))
	}
	echo := func(proto string) string {
		return fmt.Sprintf(`exec 3<>/dev/%s/%s/%d && echo ping >&3 && timeout 5 head -n1 <&3`, proto, server, map[string]int{"tcp": 5000, "udp": 5001}[proto])
	}
	for _, proto := range []string{"tcp", "tcp", "udp"} {
		if out := l.Run(client, echo(proto)); strings.TrimSpace(out) != "pong" {
			t.Errorf("%s echo answered %q", proto, out)
		}
	}
	time.Sleep(300 * time.Millisecond) // the last FINs and ACKs
	var reps []*report.Report
	for _, w := range ws {
		reps = append(reps, w.stop(t, syscall.SIGINT))
	}
	compareEngines(t, dev, kind, reps[0], reps[1])
	// Two TCP exchanges and one UDP exchange were made: libpcap, which
	// the eBPF engine now matches, saw them.
	if n := len(watchtest.Flows(reps[1], "tcp", 5000)) + len(watchtest.Flows(reps[1], "udp", 5001)); n != 3 {
		t.Errorf("libpcap saw %d of the 3 flows: %+v", n, reps[1].Flows)
	}
}

// compareEngines fails t unless the eBPF report e and the libpcap report p
// count the same packets and bytes, in all and per flow, and are complete.
func compareEngines(t *testing.T, dev, kind string, e, p *report.Report) {
	t.Helper()
	if e.Summary.Packets != p.Summary.Packets || e.Summary.Bytes != p.Summary.Bytes {
		t.Errorf("on %s (%s): eBPF counted %d packets %d bytes, libpcap %d packets %d bytes; other traffic: eBPF %+v, libpcap %+v",
			dev, kind, e.Summary.Packets, e.Summary.Bytes, p.Summary.Packets, p.Summary.Bytes, e.Other, p.Other)
	}
	flows := func(r *report.Report) map[string]string {
		m := map[string]string{}
		for _, f := range r.Flows {
			k := fmt.Sprintf("%s %s:%d", f.Proto, f.Server, f.ServerPort)
			m[k] += fmt.Sprintf("[%d packets %d bytes]", f.Packets, f.Bytes)
		}
		return m
	}
	ef, pf := flows(e), flows(p)
	if fmt.Sprint(ef) != fmt.Sprint(pf) {
		t.Errorf("on %s (%s): flows differ:\neBPF   %v\nlibpcap %v", dev, kind, ef, pf)
	}
	if !e.Complete || !p.Complete {
		t.Errorf("complete: eBPF %v, libpcap %v; losses %+v %+v", e.Complete, p.Complete, e.Losses, p.Losses)
	}
}

// testEnginesAgreeTagged replays frames with one 802.1Q tag and with two
// (802.1ad outside) into the peer end of a veth while both engines watch
// the host end.
func testEnginesAgreeTagged(t *testing.T) {
	l := newLab(t, true)
	testenv.RequireTools(t, "tcpreplay")
	mac, err := net.ParseMAC(strings.TrimSpace(l.Run(l.Host, "cat /sys/class/net/"+hostIf+"/address")))
	if err != nil {
		t.Fatal(err)
	}
	peerMAC := net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	a, b := net.IPv4(10, 214, 10, 2), net.IPv4(10, 214, 10, 1)
	var frames [][]byte
	add := func(tags []layers.Dot1Q, outer layers.EthernetType, src, dst net.IP, l4 ...gopacket.SerializableLayer) {
		eth := &layers.Ethernet{SrcMAC: peerMAC, DstMAC: mac, EthernetType: outer}
		ls := []gopacket.SerializableLayer{eth}
		for i := range tags {
			ls = append(ls, &tags[i])
		}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, SrcIP: src, DstIP: dst, Protocol: layers.IPProtocolTCP}
		if _, ok := l4[0].(*layers.UDP); ok {
			ip.Protocol = layers.IPProtocolUDP
		}
		for _, x := range l4 {
			if n, ok := x.(interface {
				SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
			}); ok {
				n.SetNetworkLayerForChecksum(ip)
			}
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append(append(ls, ip), l4...)...); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), buf.Bytes()...))
	}
	one := []layers.Dot1Q{{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}}
	two := []layers.Dot1Q{{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q}, {VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}}
	for i, tags := range [][]layers.Dot1Q{one, two} {
		outer := layers.EthernetTypeDot1Q
		if len(tags) == 2 {
			outer = layers.EthernetTypeQinQ
		}
		sport := layers.TCPPort(40000 + i)
		add(tags, outer, a, b, &layers.TCP{SrcPort: sport, DstPort: 5000, SYN: true, Window: 100})
		add(tags, outer, b, a, &layers.TCP{SrcPort: 5000, DstPort: sport, SYN: true, ACK: true, Window: 100})
		add(tags, outer, a, b, &layers.TCP{SrcPort: sport, DstPort: 5000, ACK: true, Window: 100}, gopacket.Payload("ping\n"))
		add(tags, outer, a, b, &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 5001}, gopacket.Payload("ping\n"))
	}
	var pc bytes.Buffer
	w := pcapgo.NewWriter(&pc)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for i, fr := range frames {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1_700_000_000, int64(i)*1000), CaptureLength: len(fr), Length: len(fr)}, fr)
	}
	file := filepath.Join(t.TempDir(), "tagged.pcap")
	if err := os.WriteFile(file, pc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	prof := writeProfile(t, "any-flow.yaml", anyFlow)
	var ws []*runProc
	for _, engine := range []string{"ebpf", "pcap"} {
		ws = append(ws, startRun(t, l.Host, runSpec{Interface: hostIf, Engine: engine, Profile: prof, Hosts: []string{"10.214.10.1"},
			Interval: time.Hour, Duration: 2 * time.Minute}))
	}
	l.Run(l.Peer, "tcpreplay -q -i "+peerIf+" "+file)
	time.Sleep(300 * time.Millisecond)
	var reps []*report.Report
	for _, w := range ws {
		reps = append(reps, w.stop(t, syscall.SIGINT))
	}
	compareEngines(t, hostIf, "vlan-tagged", reps[0], reps[1])
	if got := reps[1].Summary.Packets; got != uint64(len(frames)) {
		t.Errorf("libpcap counted %d packets of the %d replayed", got, len(frames))
	}
	if n := len(watchtest.Flows(reps[1], "tcp", 5000)) + len(watchtest.Flows(reps[1], "udp", 5001)); n != 4 {
		t.Errorf("%d flows, want 2 TCP and 2 UDP: %+v", n, reps[1].Flows)
	}
}

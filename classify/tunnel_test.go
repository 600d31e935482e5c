package classify

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/internal/frametest"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

// flowSummary lists obs's flows as "proto client-or-A <-> B:port packets",
// sorted, with the tunnel each came out of.
func flowSummary(obs *Observation) []string {
	var out []string
	for i := range obs.Flows {
		f := &obs.Flows[i]
		p, _ := f.Total()
		k := f.Key
		s := fmt.Sprintf("%v %v:%d <-> %v:%d %d", k.Proto, netip.AddrFrom16(k.A).Unmap(), k.APort, netip.AddrFrom16(k.B).Unmap(), k.BPort, p)
		if tun := obs.Tunneled[k]; tun != "" {
			s += " in " + tun
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestCorpusTunnels decapsulates real captures of each tunnel: the flows
// and other traffic inside are those tshark decodes inside the tunnel
// (tshark -T fields -e frame.protocols), and each flow names its tunnel.
// With the host at a tunnel end, or --tunnels off, the outer packets are
// judged as they are.
func TestCorpusTunnels(t *testing.T) {
	dir := testcorpus.Dir(t)
	tests := []struct {
		file    string
		flows   []string
		other   map[string]uint64
		tunnels []TunnelCount
		// outerHost is an outer address: with it as the host, nothing is
		// decapsulated and outer is the number of flows then.
		outerHost string
		outer     int
	}{
		{"protocols/libpcap__vxlan.pcap",
			[]string{"icmp 192.168.203.3:1292 <-> 192.168.203.5:1292 8 in vxlan 192.168.203.1 -> 192.168.202.1"},
			map[string]uint64{"ARP": 2},
			[]TunnelCount{{"vxlan 192.168.203.1 -> 192.168.202.1", 10}}, "192.168.202.1", 4},
		{"protocols/libpcap__geneve.pcap",
			[]string{"icmp 30.0.0.1:10578 <-> 30.0.0.2:10578 2 in geneve 20.0.0.1 -> 20.0.0.2", "tcp 30.0.0.1:22 <-> 30.0.0.2:51225 8 in geneve 20.0.0.1 -> 20.0.0.2"},
			nil, []TunnelCount{{"geneve 20.0.0.1 -> 20.0.0.2", 10}}, "20.0.0.1", 4},
		{"tcpdump-tests/erspan-type-ii-3.pcap", nil,
			map[string]uint64{"LLC (802.3 frames: STP, CDP, ...)": 98, "ARP": 10},
			[]TunnelCount{{"erspan-ii 192.168.1.172 -> 192.168.1.249", 108}}, "192.168.1.249", 0},
		{"tcpdump-tests/erspan-type-iii-ft-0.pcap",
			[]string{"icmp 10.29.11.1:16331 <-> 10.29.20.21:16331 9 in erspan-iii 10.29.30.104 -> 10.29.11.13"},
			nil, []TunnelCount{{"erspan-iii 10.29.30.104 -> 10.29.11.13", 9}}, "10.29.11.13", 0},
		{"tcpdump-tests/erspan-type-i-1.pcap",
			[]string{"icmp 10.52.128.233:44114 <-> 10.52.128.234:44114 2 in erspan-ii 1.1.1.1 -> 192.168.255.5"},
			nil, nil, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			obs := classifyPcap(t, data, Limits{})
			if got := flowSummary(obs); strings.Join(got, "\n") != strings.Join(tc.flows, "\n") {
				t.Errorf("flows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.flows, "\n"))
			}
			other := map[string]uint64{}
			for _, o := range obs.Other {
				other[o.Name()] = o.Packets
			}
			if fmt.Sprint(other) != fmt.Sprint(tc.other) && !(len(other) == 0 && tc.other == nil) {
				t.Errorf("other %v, want %v", other, tc.other)
			}
			if tc.tunnels != nil && !slices.Equal(obs.Tunnels, tc.tunnels) {
				t.Errorf("tunnels %+v, want %+v", obs.Tunnels, tc.tunnels)
			}
			checkAccounted(t, obs)
			if tc.outerHost == "" {
				return
			}
			for _, lim := range []Limits{
				{Host: []netip.Prefix{netip.MustParsePrefix(tc.outerHost + "/32")}},
				{Tunnels: TunnelsOff},
			} {
				obs := classifyPcap(t, data, lim)
				if len(obs.Flows) != tc.outer || len(obs.Tunnels) != 0 || len(obs.Tunneled) != 0 {
					t.Errorf("limits %+v: %d flows, tunnels %v: want %d outer flows and nothing decapsulated", lim, len(obs.Flows), obs.Tunnels, tc.outer)
				}
			}
		})
	}
}

// TestTunnelLengths counts a decapsulated frame's bytes twice over: the
// totals hold the frame as it is on the wire, its flow the inner packet at
// the length the outer header declares. Neither the link's padding after
// the outer packet nor a snap length belongs to the inner packet.
func TestTunnelLengths(t *testing.T) {
	a, b := net.IPv4(10, 0, 0, 1), net.IPv4(192, 0, 2, 9)
	frame := frametest.Build(t, frametest.Eth(layers.EthernetTypeIPv4), frametest.IPv4(a, b, layers.IPProtocolIPv4),
		frametest.IPv4(b, a, layers.IPProtocolUDP), &layers.UDP{SrcPort: 40000, DstPort: 514}, gopacket.Payload("hi"))
	const inner = 20 + 8 + 2
	padded := append(slices.Clip(frame), make([]byte, 6)...)
	for _, tc := range []struct {
		name    string
		data    []byte
		wireLen int
	}{
		{"padded", padded, len(padded)},
		{"snapped", frame[:14+20+20+8], len(frame)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(4)
			c.Add(&capture.Frame{Data: tc.data, WireLen: tc.wireLen, Time: 1, LinkType: layers.LinkTypeEthernet})
			obs := c.Observation()
			if obs.Packets != 1 || obs.Bytes != uint64(tc.wireLen) {
				t.Errorf("totals %d packets %d bytes, want 1 and %d", obs.Packets, obs.Bytes, tc.wireLen)
			}
			if len(obs.Flows) != 1 || len(obs.Tunnels) != 1 {
				t.Fatalf("%d flows, tunnels %+v: want the inner UDP flow out of one tunnel", len(obs.Flows), obs.Tunnels)
			}
			if p, n := obs.Flows[0].Total(); p != 1 || n != inner {
				t.Errorf("flow %d packets %d bytes, want 1 and %d", p, n, inner)
			}
		})
	}
}

package classify

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/internal/frametest"
)

// pkt is one TCP or UDP packet of a crafted capture.
type pkt struct {
	at            time.Duration // since the capture's start
	src, dst      string
	sport, dport  uint16
	udp, syn, ack bool
	payload       string
}

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func (p pkt) frame(tb testing.TB) []byte {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, SrcIP: net.ParseIP(p.src), DstIP: net.ParseIP(p.dst), Protocol: layers.IPProtocolTCP}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	var l4 gopacket.SerializableLayer = &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport), SYN: p.syn, ACK: p.ack, Window: 1000}
	if p.udp {
		ip.Protocol = layers.IPProtocolUDP
		l4 = &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
	}
	return frametest.Build(tb, eth, ip, l4, gopacket.Payload(p.payload))
}

// pcapOf writes the packets, in the order given, with pcapgo's writer.
func pcapOf(tb testing.TB, pkts ...pkt) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	for _, p := range pkts {
		data := p.frame(tb)
		ci := gopacket.CaptureInfo{Timestamp: epoch.Add(p.at), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			tb.Fatal(err)
		}
	}
	return b.Bytes()
}

// classifyPcap reads a crafted capture through capture's reader.
func classifyPcap(t *testing.T, data []byte, lim Limits) *Observation {
	t.Helper()
	f, err := capture.NewReader("crafted.pcap", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := New(16)
	c.SetLimits(lim)
	if err := c.Read("crafted.pcap", f, nil); err != nil {
		t.Fatal(err)
	}
	return c.Observation()
}

func ns(d time.Duration) int64 { return epoch.Add(d).UnixNano() }

func TestClockGoingBackwards(t *testing.T) {
	// A capture merged from hosts with unsynchronised clocks, or one whose
	// clock was stepped back: a flow spans its earliest to its latest
	// packet whatever their order, and never has a negative duration.
	c, s := "10.0.0.5", "192.0.2.80"
	obs := classifyPcap(t, pcapOf(t,
		pkt{at: 10 * time.Second, src: c, dst: s, sport: 40000, dport: 443, syn: true},
		pkt{at: 4 * time.Second, src: s, dst: c, sport: 443, dport: 40000, syn: true, ack: true},
		pkt{at: 12 * time.Second, src: c, dst: s, sport: 40000, dport: 443, ack: true},
		pkt{at: 1 * time.Second, src: c, dst: s, sport: 40000, dport: 443, ack: true, payload: "x"},
		pkt{at: 2 * time.Second, src: c, dst: "192.0.2.81", sport: 40001, dport: 53, udp: true},
	), Limits{})
	if len(obs.Flows) != 2 {
		t.Fatalf("%d flows, want 2", len(obs.Flows))
	}
	f := obs.Flows[0]
	if f.First != ns(time.Second) || f.Last != ns(12*time.Second) {
		t.Errorf("flow runs %v to %v, want 1s to 12s", time.Duration(f.First-ns(0)), time.Duration(f.Last-ns(0)))
	}
	// The side that sent first in the file, not the earliest stamp, opened
	// the flow: the SYN decides the client anyway.
	if cl, _ := f.Client(flow.PortHints{}); f.Key.Addr(cl) != netip.MustParseAddr(c) {
		t.Errorf("client %v", f.Key.Addr(cl))
	}
	if obs.First != ns(time.Second) || obs.Last != ns(12*time.Second) {
		t.Errorf("observation runs %d to %d", obs.First, obs.Last)
	}
	if g := obs.Flows[1]; g.First != ns(2*time.Second) || g.Last != g.First {
		t.Errorf("one-packet flow runs %d to %d", g.First, g.Last)
	}
}

func TestTimesBefore1970(t *testing.T) {
	// Damaged or synthetic sources can stamp packets before 1970; the first
	// packet's time starts both ends of the span, not zero.
	data := pkt{src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 2000, udp: true}.frame(t)
	c := New(4)
	for _, ts := range []int64{-5e9, -9e9, -7e9} {
		c.Add(&capture.Frame{Data: data, WireLen: len(data), Time: ts, LinkType: layers.LinkTypeEthernet})
	}
	obs := c.Observation()
	if f := obs.Flows[0]; f.First != -9e9 || f.Last != -5e9 {
		t.Errorf("flow runs %d to %d, want -9e9 to -5e9", f.First, f.Last)
	}
	if obs.First != -9e9 || obs.Last != -5e9 {
		t.Errorf("observation runs %d to %d, want -9e9 to -5e9", obs.First, obs.Last)
	}
}

func TestDuplicatedPacketsCountTwice(t *testing.T) {
	// A packet captured twice (a SPAN port seeing both directions of a
	// VLAN, a merged capture) is counted twice, as tshark's conversation
	// tables count it: wirecheck reports what the capture holds and does
	// not guess which copies are duplicates. Flows and their outcome do
	// not change.
	c, s := "10.0.0.5", "192.0.2.80"
	once := []pkt{
		{at: 0, src: c, dst: s, sport: 40000, dport: 443, syn: true},
		{at: 1e6, src: s, dst: c, sport: 443, dport: 40000, syn: true, ack: true},
		{at: 2e6, src: c, dst: s, sport: 40000, dport: 443, ack: true, payload: "hello"},
	}
	var twice []pkt
	for _, p := range once {
		twice = append(twice, p, p)
	}
	a, b := classifyPcap(t, pcapOf(t, once...), Limits{}), classifyPcap(t, pcapOf(t, twice...), Limits{})
	if len(a.Flows) != 1 || len(b.Flows) != 1 {
		t.Fatalf("%d and %d flows, want 1 each", len(a.Flows), len(b.Flows))
	}
	fa, fb := a.Flows[0], b.Flows[0]
	pa, ba := fa.Total()
	pb, bb := fb.Total()
	if pb != 2*pa || bb != 2*ba || fb.Payload[0] != 2*fa.Payload[0] || b.Packets != 2*a.Packets {
		t.Errorf("duplicated: %d packets %d bytes; once: %d packets %d bytes", pb, bb, pa, ba)
	}
	ca, _ := fa.Client(flow.PortHints{})
	cb, _ := fb.Client(flow.PortHints{})
	if sa, sb := fa.State(ca), fb.State(cb); sa != sb || sa != flow.StateEstablished {
		t.Errorf("states %v and %v, want established", sa, sb)
	}
}

func TestMaxFlowsFolds(t *testing.T) {
	host := "10.0.0.5"
	var pkts []pkt
	// Three flows that are kept, then twenty inbound HTTPS clients and
	// five outbound DNS queries beyond the cap, two packets each.
	for i := range 3 {
		srv := netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)}).String()
		pkts = append(pkts, pkt{at: time.Duration(i), src: host, dst: srv, sport: uint16(50000 + i), dport: 22, syn: true})
	}
	for i := range 20 {
		cl := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String()
		pkts = append(pkts,
			pkt{at: time.Second, src: cl, dst: host, sport: 41000, dport: 443, syn: true},
			pkt{at: time.Second, src: host, dst: cl, sport: 443, dport: 41000, syn: true, ack: true})
	}
	for i := range 5 {
		pkts = append(pkts,
			pkt{at: 2 * time.Second, src: host, dst: "192.0.2.53", sport: uint16(30000 + i), dport: 53, udp: true, payload: "q"},
			pkt{at: 2 * time.Second, src: "192.0.2.53", dst: host, sport: 53, dport: uint16(30000 + i), udp: true, payload: "a"})
	}
	// A packet of a kept flow still counts to it.
	pkts = append(pkts, pkt{at: 3 * time.Second, src: "192.0.2.1", dst: host, sport: 22, dport: 50000, syn: true, ack: true})
	data := pcapOf(t, pkts...)

	for _, tc := range []struct {
		name string
		lim  Limits
		dir  [2]FoldDirection // of the HTTPS and the DNS service
	}{
		{"host given", Limits{MaxFlows: 3, Host: []netip.Prefix{netip.MustParsePrefix(host + "/32")}}, [2]FoldDirection{FoldInbound, FoldOutbound}},
		// Without a host, the one of the kept flows (the end of all three)
		// gives the directions, as the matcher would infer it: a folded
		// service always has a direction once a flow was kept.
		{"host inferred", Limits{MaxFlows: 3}, [2]FoldDirection{FoldInbound, FoldOutbound}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := classifyPcap(t, data, tc.lim)
			if len(obs.Flows) != 3 {
				t.Fatalf("%d flows kept, want 3", len(obs.Flows))
			}
			if p, _ := obs.Flows[0].Total(); p != 2 {
				t.Errorf("kept flow has %d packets, want 2", p)
			}
			fo := obs.Folded
			want := []FoldedService{
				{FoldKey{ipproto.TCP, 443, tc.dir[0]}, 20, 40, 0},
				{FoldKey{ipproto.UDP, 53, tc.dir[1]}, 5, 10, 0},
			}
			if fo.Flows != 25 || !fo.Exact || len(fo.Services) != 2 {
				t.Fatalf("folded %+v", fo)
			}
			for i, w := range want {
				got := fo.Services[i]
				got.Bytes = 0
				if got != w {
					t.Errorf("folded service %d: %+v, want %+v", i, got, w)
				}
			}
			if want := netip.MustParsePrefix(host + "/32"); len(fo.Host) != 1 || fo.Host[0] != want {
				t.Errorf("folded services' host %v, want %v", fo.Host, want)
			}
			if obs.Complete() {
				t.Error("observation with folded flows is complete")
			}
		})
	}
}

func TestFoldedFlowCountBound(t *testing.T) {
	// Beyond the bound on the folded flows counted one by one, the count
	// of distinct folded flows becomes a lower bound; packets stay exact.
	c := New(4)
	c.SetLimits(Limits{MaxFlows: 1, foldKeys: 1024})
	const n = 1500
	for i := range n {
		data := pkt{src: "10.0.0.1", dst: "10.0.0.2", sport: uint16(10000 + i), dport: 53, udp: true}.frame(t)
		c.Add(&capture.Frame{Data: data, WireLen: len(data), LinkType: layers.LinkTypeEthernet})
	}
	fo := c.Observation().Folded
	if fo.Exact || fo.Flows != 1024 || fo.Services[0].Packets != n-1 {
		t.Errorf("folded %d flows (exact %v), %d packets; want 1024, inexact, %d", fo.Flows, fo.Exact, fo.Services[0].Packets, n-1)
	}
}

// TestFoldedFlowCountExact: 59,000 flows beyond --max-flows 1000 are
// counted exactly (the report once said "at least 4000").
func TestFoldedFlowCountExact(t *testing.T) {
	c := New(4)
	c.SetLimits(Limits{MaxFlows: 1000})
	const n = 60_000
	for i := range n {
		src := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}).String()
		for _, syn := range []bool{true, false} { // two packets a flow
			data := pkt{src: src, dst: "10.0.0.2", sport: 40000, dport: 443, syn: syn, ack: !syn}.frame(t)
			c.Add(&capture.Frame{Data: data, WireLen: len(data), LinkType: layers.LinkTypeEthernet})
		}
	}
	fo := c.Observation().Folded
	if !fo.Exact || fo.Flows != n-1000 || fo.Services[0].Packets != 2*(n-1000) {
		t.Errorf("folded %d flows (exact %v), %d packets; want exactly %d flows, %d packets", fo.Flows, fo.Exact, fo.Services[0].Packets, n-1000, 2*(n-1000))
	}
}

// TestFoldedDirectionFromHandshake: a folded TCP flow's client is the end
// that sent the SYN (or received the SYN-ACK, when the capture began after
// the SYN), whatever its ports; its later packets count to the same
// service.
func TestFoldedDirectionFromHandshake(t *testing.T) {
	host := "10.0.0.5"
	pkts := []pkt{{src: host, dst: "192.0.2.1", sport: 50000, dport: 22, syn: true}} // kept
	// A SYN from the host's port 3306 to a peer's 8080, its SYN-ACK and an
	// ACK: outbound TCP 8080, not inbound TCP 3306.
	pkts = append(pkts,
		pkt{src: host, dst: "192.0.2.2", sport: 3306, dport: 8080, syn: true},
		pkt{src: "192.0.2.2", dst: host, sport: 8080, dport: 3306, syn: true, ack: true},
		pkt{src: host, dst: "192.0.2.2", sport: 3306, dport: 8080, ack: true})
	// Only the SYN-ACK and later of a peer's connection from its port 53
	// to the host's 9000: inbound TCP 9000.
	pkts = append(pkts,
		pkt{src: host, dst: "192.0.2.3", sport: 9000, dport: 53, syn: true, ack: true},
		pkt{src: "192.0.2.3", dst: host, sport: 53, dport: 9000, ack: true})
	obs := classifyPcap(t, pcapOf(t, pkts...), Limits{MaxFlows: 1, Host: []netip.Prefix{netip.MustParsePrefix(host + "/32")}})
	want := []FoldedService{
		{FoldKey{ipproto.TCP, 8080, FoldOutbound}, 1, 3, 0},
		{FoldKey{ipproto.TCP, 9000, FoldInbound}, 1, 2, 0},
	}
	fo := obs.Folded
	if fo.Flows != 2 || len(fo.Services) != 2 {
		t.Fatalf("folded %+v", fo)
	}
	for i, w := range want {
		got := fo.Services[i]
		got.Bytes = 0
		if got != w {
			t.Errorf("folded service %d: %+v, want %+v", i, got, w)
		}
	}
}

// TestFoldingAllocatesLittle: folding a flood of new flows costs no
// allocation per packet once its services and key set have grown.
func TestFoldingAllocatesLittle(t *testing.T) {
	c := New(4)
	c.SetLimits(Limits{MaxFlows: 1})
	data := pkt{src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 53, udp: true}.frame(t)
	other := pkt{src: "10.0.0.3", dst: "10.0.0.2", sport: 1000, dport: 53, udp: true}.frame(t)
	c.Add(&capture.Frame{Data: data, WireLen: len(data), LinkType: layers.LinkTypeEthernet})
	fr := capture.Frame{Data: other, WireLen: len(other), LinkType: layers.LinkTypeEthernet}
	c.Add(&fr)
	if n := testing.AllocsPerRun(1000, func() { c.Add(&fr) }); n != 0 {
		t.Errorf("%v allocations per folded packet", n)
	}
}

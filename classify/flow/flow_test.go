package flow

import (
	"net/netip"
	"testing"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/classify/service"
)

var (
	cli = netip.MustParseAddr("10.0.0.5")
	srv = netip.MustParseAddr("198.51.100.10")
)

// seg is one packet of a scripted conversation.
type seg struct {
	fromClient bool
	flags      uint8
	payload    int
}

func tcpPacket(s seg, cport, sport uint16) packet.Parsed {
	t := packet.Tuple{Src: cli.As16(), Dst: srv.As16(), SrcPort: cport, DstPort: sport, Proto: ipproto.TCP}
	if !s.fromClient {
		t.Src, t.Dst, t.SrcPort, t.DstPort = t.Dst, t.Src, t.DstPort, t.SrcPort
	}
	return packet.Parsed{Kind: packet.KindTransport, Tuple: t, TCPFlags: s.flags, PayloadLen: s.payload}
}

const (
	syn    = packet.SYN
	synack = packet.SYN | packet.ACK
	ack    = packet.ACK
	fin    = packet.FIN | packet.ACK
	rst    = packet.RST
	rstack = packet.RST | packet.ACK
)

func TestTCPStates(t *testing.T) {
	tests := []struct {
		name string
		segs []seg
		want State
	}{
		{"handshake only", []seg{{true, syn, 0}, {false, synack, 0}, {true, ack, 0}}, StateEstablished},
		{"closed with FIN", []seg{{true, syn, 0}, {false, synack, 0}, {true, ack, 10}, {false, ack, 20}, {true, fin, 0}, {false, fin, 0}, {true, ack, 0}}, StateClosed},
		{"RST after both FINs is still closed", []seg{{true, syn, 0}, {false, synack, 0}, {true, fin, 0}, {false, fin, 0}, {true, rst, 0}}, StateClosed},
		{"reset after data", []seg{{true, syn, 0}, {false, synack, 0}, {true, ack, 10}, {false, rstack, 0}}, StateReset},
		{"refused", []seg{{true, syn, 0}, {false, rstack, 0}}, StateRefused},
		{"refused after retries", []seg{{true, syn, 0}, {true, syn, 0}, {false, rstack, 0}}, StateRefused},
		{"unanswered", []seg{{true, syn, 0}, {true, syn, 0}, {true, syn, 0}}, StateUnanswered},
		{"mid-stream both ways", []seg{{true, ack, 100}, {false, ack, 0}}, StateEstablished},
		{"mid-stream one way", []seg{{true, ack, 100}, {true, ack, 100}}, StateOneWay},
		// Issue 16: a lone mid-stream segment gets one state whichever
		// side sent it.
		{"lone mid-stream segment from the client", []seg{{true, ack, 100}}, StateOneWay},
		{"lone mid-stream segment from the server", []seg{{false, ack, 100}}, StateOneWay},
		// Half-open: the SYN-ACK was never acknowledged.
		{"half-open", []seg{{true, syn, 0}, {false, synack, 0}, {false, synack, 0}, {false, synack, 0}, {false, synack, 0}, {false, synack, 0}}, StateHalfOpen},
		{"half-open, the client resets", []seg{{true, syn, 0}, {false, synack, 0}, {true, rst, 0}}, StateHalfOpen},
		{"half-open, the server gives up", []seg{{true, syn, 0}, {false, synack, 0}, {false, synack, 0}, {false, rstack, 0}}, StateHalfOpen},
		{"half-open seen from the server only", []seg{{false, synack, 0}, {false, synack, 0}}, StateHalfOpen},
		{"client's ACK lost in the capture, the server sent data", []seg{{true, syn, 0}, {false, synack, 0}, {false, ack, 100}}, StateEstablished},
		{"handshake then the client resets", []seg{{true, syn, 0}, {false, synack, 0}, {true, ack, 0}, {true, rstack, 0}}, StateReset},
		// One direction captured: the client's acknowledgements after
		// its SYN prove the server answered.
		{"client side only", []seg{{true, syn, 0}, {true, ack, 0}, {true, ack, 100}}, StateEstablished},
		{"client side only, closed", []seg{{true, syn, 0}, {true, ack, 0}, {true, ack, 100}, {true, fin, 0}}, StateClosed},
		{"client side only, an RST alone proves nothing", []seg{{true, syn, 0}, {true, rstack, 0}}, StateUnanswered},
		{"server side only", []seg{{false, synack, 0}, {false, ack, 100}, {false, fin, 0}}, StateClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := NewTable(4)
			var idx int
			for i, s := range tc.segs {
				p := tcpPacket(s, 40000, 443)
				idx, _, _ = tab.Packet(&p, int64(i), 60)
			}
			f := tab.Flow(idx)
			client, how := f.Client(PortHints{})
			if got := f.Key.Addr(client); got != cli {
				t.Fatalf("client = %v (%v), want %v", got, how, cli)
			}
			if got := f.State(client); got != tc.want {
				t.Errorf("state = %v, want %v", got, tc.want)
			}
			if tab.Len() != 1 {
				t.Errorf("%d flows, want 1: both directions must share a key", tab.Len())
			}
		})
	}
}

func TestCountsPerSide(t *testing.T) {
	tab := NewTable(4)
	for i, s := range []seg{{true, syn, 0}, {false, synack, 0}, {true, ack, 5}, {true, ack, 7}} {
		p := tcpPacket(s, 40000, 443)
		tab.Packet(&p, int64(100+i), 60+s.payload)
	}
	f := tab.Flow(0)
	c, _ := f.Client(PortHints{})
	s := c.Other()
	if f.Packets[c] != 3 || f.Packets[s] != 1 || f.Bytes[c] != 60+65+67 || f.Bytes[s] != 60 || f.Payload[c] != 12 {
		t.Errorf("counts: packets %v bytes %v payload %v", f.Packets, f.Bytes, f.Payload)
	}
	if f.First != 100 || f.Last != 103 || f.SYNs[c] != 1 || f.SYNs[s] != 0 {
		t.Errorf("first %d last %d syns %v", f.First, f.Last, f.SYNs)
	}
}

func TestClientWithoutHandshake(t *testing.T) {
	udp := func(sport, dport uint16) *Flow {
		tab := NewTable(1)
		p := packet.Parsed{Kind: packet.KindTransport, Tuple: packet.Tuple{Src: cli.As16(), Dst: srv.As16(), SrcPort: sport, DstPort: dport, Proto: ipproto.UDP}}
		tab.Packet(&p, 1, 60)
		return tab.Flow(0)
	}
	tcp := func(sport, dport uint16) *Flow {
		tab := NewTable(1)
		p := tcpPacket(seg{false, ack, 10}, dport, sport) // first packet from the server side
		p.Tuple.Src, p.Tuple.Dst = cli.As16(), srv.As16()
		p.Tuple.SrcPort, p.Tuple.DstPort = sport, dport
		tab.Packet(&p, 1, 60)
		return tab.Flow(0)
	}
	is := func(ports ...uint16) func(ipproto.Proto, uint16) bool {
		return func(_ ipproto.Proto, p uint16) bool {
			for _, x := range ports {
				if x == p {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name   string
		f      *Flow
		hints  PortHints
		client netip.Addr
		method Method
	}{
		{"profile port wins over well-known", udp(53, 2049), PortHints{Profile: is(2049), WellKnown: is(53, 2049)}, cli, ByProfilePort},
		{"well-known port", udp(40000, 53), PortHints{WellKnown: is(53)}, cli, ByWellKnownPort},
		{"udp tie goes to the first sender", udp(123, 123), PortHints{WellKnown: is(123)}, cli, ByFirstPacket},
		{"tcp mid-stream lower port", tcp(50000, 8000), PortHints{}, cli, ByLowerPort},
		{"tcp mid-stream lower port reversed", tcp(8000, 50000), PortHints{}, srv, ByLowerPort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, m := tc.f.Client(tc.hints)
			if got := tc.f.Key.Addr(c); got != tc.client || m != tc.method {
				t.Errorf("client %v by %v, want %v by %v", got, m, tc.client, tc.method)
			}
		})
	}
}

func TestICMPErrorMarksFlowUnreachable(t *testing.T) {
	tab := NewTable(2)
	q := packet.Tuple{Src: cli.As16(), Dst: srv.As16(), SrcPort: 40000, DstPort: 5000, Proto: ipproto.UDP}
	p := packet.Parsed{Kind: packet.KindTransport, Tuple: q}
	tab.Packet(&p, 1, 60)
	icmp := packet.Parsed{Kind: packet.KindICMPError, ICMPType: 3, ICMPCode: 3, Quoted: q,
		Tuple: packet.Tuple{Src: srv.As16(), Dst: cli.As16(), Proto: ipproto.ICMPv4}}
	if i := tab.ICMPError(&icmp, 2); i != 0 {
		t.Fatalf("ICMP error tied to flow %d, want 0", i)
	}
	f := tab.Flow(0)
	c, _ := f.Client(PortHints{})
	if st := f.State(c); st != StateUnreachable || f.UnreachableCode != 3 || f.Unreachable != 1 {
		t.Errorf("state %v code %d count %d", st, f.UnreachableCode, f.Unreachable)
	}
	if tab.Len() != 1 {
		t.Errorf("%d flows, want 1", tab.Len())
	}
}

func TestFragmentsJoinTheirFlow(t *testing.T) {
	tab := NewTable(2)
	first := packet.Parsed{Kind: packet.KindTransport, FirstFragment: true, FragID: 9, PayloadLen: 1472,
		Tuple: packet.Tuple{Src: srv.As16(), Dst: cli.As16(), SrcPort: 2049, DstPort: 800, Proto: ipproto.UDP}}
	tab.Packet(&first, 1, 1514)
	later := packet.Parsed{Kind: packet.KindFragment, FragID: 9, PayloadLen: 100,
		Tuple: packet.Tuple{Src: srv.As16(), Dst: cli.As16(), Proto: ipproto.UDP}}
	if i := tab.Fragment(&later, 2, 134); i != 0 {
		t.Fatalf("fragment tied to %d, want 0", i)
	}
	stray := later
	stray.FragID = 10
	if i := tab.Fragment(&stray, 3, 134); i != -1 || tab.OrphanFragments != 1 {
		t.Fatalf("stray fragment tied to %d, orphans %d", i, tab.OrphanFragments)
	}
	f := tab.Flow(0)
	p, b := f.Total()
	if p != 2 || b != 1514+134 || f.Fragments != 1 {
		t.Errorf("packets %d bytes %d fragments %d", p, b, f.Fragments)
	}
}

func TestTableUpdateNoAllocs(t *testing.T) {
	tab := NewTable(16)
	p := tcpPacket(seg{true, ack, 10}, 40000, 443)
	tab.Packet(&p, 0, 60)
	if n := testing.AllocsPerRun(1000, func() { tab.Packet(&p, 1, 60) }); n != 0 {
		t.Fatalf("Packet allocates %v times per packet", n)
	}
}

// TestOneSided: only flows whose one captured direction proves the other
// are one-sided; a lone segment or unanswered SYNs are not.
func TestOneSided(t *testing.T) {
	tests := []struct {
		name string
		segs []seg
		want bool
	}{
		{"client side only", []seg{{true, syn, 0}, {true, ack, 0}, {true, ack, 100}}, true},
		{"server side only", []seg{{false, synack, 0}, {false, ack, 100}}, true},
		{"SYN-ACKs only", []seg{{false, synack, 0}, {false, synack, 0}}, true},
		{"both sides", []seg{{true, syn, 0}, {false, synack, 0}, {true, ack, 0}}, false},
		{"unanswered", []seg{{true, syn, 0}, {true, syn, 0}}, false},
		{"lone mid-stream segment", []seg{{false, ack, 10}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := NewTable(4)
			for i, s := range tc.segs {
				p := tcpPacket(s, 40000, 443)
				tab.Packet(&p, int64(i), 60)
			}
			f := tab.Flow(0)
			c, _ := f.Client(PortHints{})
			if got := f.OneSided(c); got != tc.want {
				t.Errorf("OneSided = %v (state %v), want %v", got, f.State(c), tc.want)
			}
		})
	}
}

// TestUDPAnsweredNeedsBothSides: a lone reply (an NBNS answer to a
// broadcast query the capture did not hold) is one-way, not answered.
func TestUDPAnsweredNeedsBothSides(t *testing.T) {
	tab := NewTable(2)
	reply := packet.Parsed{Kind: packet.KindTransport, PayloadLen: 50,
		Tuple: packet.Tuple{Src: srv.As16(), Dst: cli.As16(), SrcPort: 137, DstPort: 137, Proto: ipproto.UDP}}
	tab.Packet(&reply, 1, 92)
	f := tab.Flow(0)
	for _, c := range []Side{SideA, SideB} {
		if st := f.State(c); st != StateOneWay {
			t.Errorf("client %v: state %v, want one-way", c, st)
		}
	}
	query := reply
	query.Tuple.Src, query.Tuple.Dst = cli.As16(), srv.As16()
	tab.Packet(&query, 2, 92)
	if st := f.State(SideA); st != StateAnswered {
		t.Errorf("with both sides: state %v, want answered", st)
	}
}

// TestClientByPayload: what the first payloads say outranks port guesses,
// never the handshake, and is ignored when the sides contradict each other
// or would make a multicast address the client.
func TestClientByPayload(t *testing.T) {
	const req, resp = uint8(service.RoleRequest), uint8(service.RoleResponse)
	mk := func(proto ipproto.Proto, a, b netip.AddrPort, sa, sb uint8) *Flow {
		f := &Flow{Key: MakeKey(proto, a, b)}
		sideA := SideA
		if f.Key.Addr(SideA) != a.Addr() || f.Key.APort != a.Port() {
			sideA = SideB
		}
		f.Says[sideA], f.Says[sideA.Other()] = sa, sb
		f.Packets = [2]uint64{1, 1}
		f.FirstSide = sideA.Other() // the first packet would mislead
		return f
	}
	ap := netip.AddrPortFrom
	wk := PortHints{WellKnown: func(_ ipproto.Proto, p uint16) bool { return p < 1024 }}
	mdns := netip.MustParseAddr("224.0.0.251")
	tests := []struct {
		name   string
		f      *Flow
		client netip.AddrPort
		method Method
	}{
		{"rpc call from a reserved port", mk(ipproto.UDP, ap(cli, 706), ap(srv, 1048), req, resp), ap(cli, 706), ByPayload},
		{"nfs client on 993", mk(ipproto.TCP, ap(cli, 993), ap(srv, 2049), req, 0), ap(cli, 993), ByPayload},
		{"lone dns response 53 to 53", mk(ipproto.UDP, ap(srv, 53), ap(cli, 53), resp, 0), ap(cli, 53), ByPayload},
		{"dhcp reply 67 to 68", mk(ipproto.UDP, ap(srv, 67), ap(cli, 68), resp, 0), ap(cli, 68), ByPayload},
		{"enip requests from 2430", mk(ipproto.TCP, ap(cli, 2430), ap(srv, 44818), req, resp), ap(cli, 2430), ByPayload},
		{"both requests say nothing", mk(ipproto.UDP, ap(cli, 53), ap(srv, 5353), req, req), ap(srv, 5353), ByWellKnownPort},
		{"mdns announcement to the group", mk(ipproto.UDP, ap(cli, 5353), ap(mdns, 5353), resp, 0), ap(mdns, 5353), ByFirstPacket},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, m := tc.f.Client(wk)
			if got := ap(tc.f.Key.Addr(c), tc.f.Key.Port(c)); got != tc.client || m != tc.method {
				t.Errorf("client %v by %v, want %v by %v", got, m, tc.client, tc.method)
			}
		})
	}
	// The handshake outranks the payload.
	f := mk(ipproto.TCP, ap(cli, 40000), ap(srv, 443), resp, req)
	s, _ := f.Client(wk)
	f.SYNs[s] = 1
	if c, m := f.Client(wk); c != s || m != ByHandshake {
		t.Errorf("with a SYN: client side %v by %v, want %v by handshake", c, m, s)
	}
}

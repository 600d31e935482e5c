//go:build linux && (amd64 || arm64)

package bpf

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// These tests drive the loaded program with Program.Run (BPF_PROG_TEST_RUN)
// on frames gopacket serialises: no interface is involved. Each checks the
// kernel's flows against expectations and, through engines.check, against
// the production user-space path, classify.Classifier, fed the same frames.

// oneFlow returns the only flow, failing the test if there is not exactly
// one.
func oneFlow(t *testing.T, fs []flow.Flow) flow.Flow {
	t.Helper()
	if len(fs) != 1 {
		t.Fatalf("%d flows, want 1", len(fs))
	}
	return fs[0]
}

// clientIs checks that the flow's client is addr and returns its side.
func clientIs(t *testing.T, f *flow.Flow, addr net.IP) flow.Side {
	t.Helper()
	c, how := f.Client(flow.PortHints{})
	want, _ := netip.AddrFromSlice(addr)
	if got := f.Key.Addr(c); got != want.Unmap() {
		t.Fatalf("client = %v (%v), want %v", got, how, want)
	}
	return c
}

func TestTCPHandshakeDataClose(t *testing.T) {
	e := newEngines(t, Options{})
	frames := [][]byte{
		tcp4(t, true, 40000, 443, "S", ""),
		tcp4(t, false, 40000, 443, "SA", ""),
		tcp4(t, true, 40000, 443, "A", ""),
		tcp4(t, true, 40000, 443, "PA", "GET / HTTP/1.0\r\n\r\n"),
		tcp4(t, false, 40000, 443, "PA", "HTTP/1.0 200 OK\r\n\r\nhello"),
		tcp4(t, true, 40000, 443, "FA", ""),
		tcp4(t, false, 40000, 443, "FA", ""),
		tcp4(t, true, 40000, 443, "A", ""),
	}
	e.feed(frames...)
	f := oneFlow(t, e.check())
	c := clientIs(t, &f, cli4)
	s := c.Other()
	if st := f.State(c); st != flow.StateClosed {
		t.Errorf("state = %v, want closed", st)
	}
	var cBytes, sBytes uint64
	for i, fr := range frames {
		if i == 1 || i == 4 || i == 6 {
			sBytes += uint64(len(fr))
		} else {
			cBytes += uint64(len(fr))
		}
	}
	if f.Packets[c] != 5 || f.Packets[s] != 3 {
		t.Errorf("packets client %d server %d, want 5 and 3", f.Packets[c], f.Packets[s])
	}
	if f.Bytes[c] != cBytes || f.Bytes[s] != sBytes {
		t.Errorf("bytes client %d server %d, want %d and %d", f.Bytes[c], f.Bytes[s], cBytes, sBytes)
	}
	if f.Payload[c] != 18 || f.Payload[s] != 24 {
		t.Errorf("payload client %d server %d, want 18 and 24", f.Payload[c], f.Payload[s])
	}
	const syn, ack, fin, psh = 0x02, 0x10, 0x01, 0x08
	if f.Flags[c] != syn|ack|fin|psh || f.Flags[s] != syn|ack|fin|psh {
		t.Errorf("flags client %#x server %#x", f.Flags[c], f.Flags[s])
	}
	if f.SYNs[c] != 1 || f.SYNs[s] != 0 {
		t.Errorf("SYNs %v, want 1 from the client only", f.SYNs)
	}
	if f.FirstSide != c {
		t.Errorf("first side %d, want the client's %d", f.FirstSide, c)
	}
	if f.Key.Proto != ipproto.TCP || f.Key.Port(c) != 40000 || f.Key.Port(s) != 443 {
		t.Errorf("key %+v", f.Key)
	}
}

func TestTCPRefusedAndUnanswered(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		e := newEngines(t, Options{})
		e.feed(tcp4(t, true, 40001, 22, "S", ""), tcp4(t, false, 40001, 22, "RA", ""))
		f := oneFlow(t, e.check())
		if st := f.State(clientIs(t, &f, cli4)); st != flow.StateRefused {
			t.Errorf("state = %v, want refused", st)
		}
	})
	t.Run("unanswered", func(t *testing.T) {
		e := newEngines(t, Options{})
		for range 3 {
			e.feed(tcp4(t, true, 40002, 8080, "S", ""))
		}
		f := oneFlow(t, e.check())
		c := clientIs(t, &f, cli4)
		if st := f.State(c); st != flow.StateUnanswered {
			t.Errorf("state = %v, want unanswered", st)
		}
		if f.SYNs[c] != 3 || f.Packets[c.Other()] != 0 {
			t.Errorf("SYNs %v packets %v", f.SYNs, f.Packets)
		}
	})
}

func TestUDPRequestResponse(t *testing.T) {
	e := newEngines(t, Options{})
	e.feed(udp4(t, cli4, srv4, 50000, 53, "question"), udp4(t, srv4, cli4, 53, 50000, "the answer"))
	f := oneFlow(t, e.check())
	c, _ := f.Client(flow.PortHints{})
	if f.Key.Addr(c) != netip.MustParseAddr("10.0.0.5") || f.State(c) != flow.StateAnswered {
		t.Errorf("client %v state %v", f.Key.Addr(c), f.State(c))
	}
	if f.Payload[c] != 8 || f.Payload[c.Other()] != 10 {
		t.Errorf("payload %v", f.Payload)
	}
}

func TestICMPEcho(t *testing.T) {
	e := newEngines(t, Options{})
	req := build(t, eth(layers.EthernetTypeIPv4), ip4(cli4, srv4, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 77, Seq: 1}, gopacket.Payload("ping"))
	rep := build(t, eth(layers.EthernetTypeIPv4), ip4(srv4, cli4, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: 77, Seq: 1}, gopacket.Payload("ping"))
	req6 := build(t, eth(layers.EthernetTypeIPv6), ip6(cli6, srv6, layers.IPProtocolICMPv6),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, gopacket.Payload([]byte{0, 9, 0, 1}))
	e.feed(req, rep, req6)
	fs := e.check()
	if len(fs) != 2 {
		t.Fatalf("%d flows, want an ICMP and an ICMPv6 echo flow", len(fs))
	}
	for _, f := range fs {
		c := f.FirstSide
		if f.SYNs[c] != 1 || f.Key.APort != f.Key.BPort {
			t.Errorf("%v: SYNs %v ports %d/%d: an echo request is an opening and the identifier both ports", f.Key.Proto, f.SYNs, f.Key.APort, f.Key.BPort)
		}
		switch f.Key.Proto {
		case ipproto.ICMPv4:
			if f.Key.APort != 77 || f.State(c) != flow.StateAnswered {
				t.Errorf("icmp: id %d state %v", f.Key.APort, f.State(c))
			}
		case ipproto.ICMPv6:
			if f.Key.APort != 9 || f.State(c) != flow.StateOneWay {
				t.Errorf("icmpv6: id %d state %v", f.Key.APort, f.State(c))
			}
		}
	}
}

func TestICMPUnreachableQuotesUDP(t *testing.T) {
	router := net.IP{192, 0, 2, 1}
	t.Run("after the datagram", func(t *testing.T) {
		e := newEngines(t, Options{})
		dgram := udp4(t, cli4, srv4, 40000, 5000, "hello?")
		e.feed(dgram, icmpUnreachable4(t, srv4, cli4, 3, dgram))
		f := oneFlow(t, e.check())
		c := clientIs(t, &f, cli4)
		if st := f.State(c); st != flow.StateUnreachable {
			t.Errorf("state = %v, want unreachable", st)
		}
		if f.Unreachable != 1 || f.UnreachableType != 3 || f.UnreachableCode != 3 || f.UnreachableFrom != addr16(srv4) {
			t.Errorf("unreachable %d type %d code %d from %v", f.Unreachable, f.UnreachableType, f.UnreachableCode, f.UnreachableFrom)
		}
	})
	t.Run("quote only", func(t *testing.T) {
		// The datagram itself was not seen: the quote creates the flow.
		e := newEngines(t, Options{})
		dgram := udp4(t, cli4, srv4, 40000, 5000, "hello?")
		before := time.Now().UnixNano()
		e.feed(icmpUnreachable4(t, router, cli4, 1, dgram))
		after := time.Now().UnixNano()
		fs := e.kernelFlows()
		f := oneFlow(t, fs)
		if f.Packets != [2]uint64{} || f.Unreachable != 1 || f.UnreachableFrom != addr16(router) || f.UnreachableCode != 1 {
			t.Errorf("packets %v unreachable %d from %v code %d", f.Packets, f.Unreachable, f.UnreachableFrom, f.UnreachableCode)
		}
		if f.Key.Addr(f.FirstSide) != netip.MustParseAddr("10.0.0.5") {
			t.Errorf("first side %v, want the quoted packet's sender", f.Key.Addr(f.FirstSide))
		}
		if f.First < before-int64(time.Millisecond) || f.First > after+int64(time.Millisecond) || f.Last != f.First {
			t.Errorf("first %d last %d, want both within [%d, %d]", f.First, f.Last, before, after)
		}
		e.check()
	})
	t.Run("time exceeded is not tied", func(t *testing.T) {
		e := newEngines(t, Options{})
		dgram := udp4(t, cli4, srv4, 40000, 5000, "hello?")
		te := build(t, eth(layers.EthernetTypeIPv4), ip4(router, cli4, layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(11, 0)}, gopacket.Payload(dgram[14:42]))
		e.feed(te)
		if fs := e.check(); len(fs) != 0 {
			t.Errorf("%d flows from a time-exceeded error, want none", len(fs))
		}
	})
}

func TestIPv6ExtensionHeaders(t *testing.T) {
	e := newEngines(t, Options{})
	first := build(t, eth(layers.EthernetTypeIPv6), ip6(cli6, srv6, layers.IPProtocolIPv6HopByHop),
		hopByHop(layers.IPProtocolIPv6Fragment),
		&layers.IPv6Fragment{NextHeader: layers.IPProtocolUDP, MoreFragments: true, Identification: 0xabcdef},
		&layers.UDP{SrcPort: 2049, DstPort: 800}, gopacket.Payload(make([]byte, 64)))
	later := build(t, eth(layers.EthernetTypeIPv6), ip6(cli6, srv6, layers.IPProtocolIPv6Fragment),
		&layers.IPv6Fragment{NextHeader: layers.IPProtocolUDP, FragmentOffset: 9, Identification: 0xabcdef},
		gopacket.Payload(make([]byte, 40)))
	dest := &layers.IPv6Destination{Options: []*layers.IPv6DestinationOption{{OptionType: 1, OptionData: []byte{0, 0, 0, 0}}}}
	dest.NextHeader = layers.IPProtocolTCP
	tcp := build(t, eth(layers.EthernetTypeIPv6), ip6(srv6, cli6, layers.IPProtocolIPv6HopByHop),
		hopByHop(layers.IPProtocolIPv6Destination), dest,
		&layers.TCP{SrcPort: 443, DstPort: 41000, SYN: true, ACK: true, Window: 1})
	e.feed(first, later, tcp)
	fs := e.check()
	if len(fs) != 2 {
		t.Fatalf("%d flows, want 2", len(fs))
	}
	for _, f := range fs {
		switch f.Key.Proto {
		case ipproto.UDP:
			p, _ := f.Total()
			if p != 2 || f.Fragments != 1 || f.Key.Port(f.FirstSide) != 2049 {
				t.Errorf("udp: packets %d fragments %d first port %d", p, f.Fragments, f.Key.Port(f.FirstSide))
			}
		case ipproto.TCP:
			if f.Flags[f.FirstSide] != 0x12 || f.Key.Port(f.FirstSide) != 443 {
				t.Errorf("tcp: flags %#x port %d", f.Flags[f.FirstSide], f.Key.Port(f.FirstSide))
			}
		}
	}
}

func TestVLANTags(t *testing.T) {
	e := newEngines(t, Options{})
	dot1q := build(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4},
		ip4(cli4, srv4, layers.IPProtocolUDP), &layers.UDP{SrcPort: 5353, DstPort: 53}, gopacket.Payload("q"))
	qinq := build(t, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 20, Type: layers.EthernetTypeIPv4},
		ip4(srv4, cli4, layers.IPProtocolUDP), &layers.UDP{SrcPort: 53, DstPort: 5353}, gopacket.Payload("answer"))
	e.feed(dot1q, qinq)
	f := oneFlow(t, e.check())
	if f.Packets != [2]uint64{1, 1} || f.Bytes[0]+f.Bytes[1] != uint64(len(dot1q)+len(qinq)) {
		t.Errorf("packets %v bytes %v: both tagged frames belong to one flow, counted whole", f.Packets, f.Bytes)
	}
}

func TestIPv4Fragments(t *testing.T) {
	e := newEngines(t, Options{})
	firstIP := ip4(srv4, cli4, layers.IPProtocolUDP)
	firstIP.Flags = layers.IPv4MoreFragments
	firstIP.Id = 4242
	first := build(t, eth(layers.EthernetTypeIPv4), firstIP, &layers.UDP{SrcPort: 2049, DstPort: 800}, gopacket.Payload(make([]byte, 32)))
	laterIP := ip4(srv4, cli4, layers.IPProtocolUDP)
	laterIP.FragOffset = 5
	laterIP.Id = 4242
	later := build(t, eth(layers.EthernetTypeIPv4), laterIP, gopacket.Payload(make([]byte, 100)))
	strayIP := ip4(srv4, cli4, layers.IPProtocolUDP)
	strayIP.FragOffset = 5
	strayIP.Id = 4243
	stray := build(t, eth(layers.EthernetTypeIPv4), strayIP, gopacket.Payload(make([]byte, 100)))
	e.feed(first, later, stray)
	f := oneFlow(t, e.check())
	p, b := f.Total()
	if p != 2 || b != uint64(len(first)+len(later)) || f.Fragments != 1 || f.Payload[f.FirstSide] != 32+100 {
		t.Errorf("packets %d bytes %d fragments %d payload %v", p, b, f.Fragments, f.Payload)
	}
	st, _ := e.c.Stats()
	if st.UntiedFragments != 1 {
		t.Errorf("untied fragments %d, want 1 (the stray)", st.UntiedFragments)
	}
}

// TestTruncatedEverywhere cuts frames at every length: no cut may create a
// flow that user space would not, and every cut that ends inside a header
// the decoder needs is counted as truncated.
func TestTruncatedEverywhere(t *testing.T) {
	dgram := udp4(t, cli4, srv4, 40000, 5000, "hello?")
	frames := map[string][]byte{
		"tcp4": tcp4(t, true, 40000, 443, "S", ""),
		"udp6 hop-by-hop": build(t, eth(layers.EthernetTypeIPv6), ip6(cli6, srv6, layers.IPProtocolIPv6HopByHop),
			hopByHop(layers.IPProtocolUDP), &layers.UDP{SrcPort: 1, DstPort: 2}),
		"icmp unreachable": icmpUnreachable4(t, srv4, cli4, 3, dgram),
		"qinq udp": build(t, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{Type: layers.EthernetTypeIPv4}, ip4(cli4, srv4, layers.IPProtocolUDP), &layers.UDP{SrcPort: 9, DstPort: 8}),
	}
	c := loadCounter(t, Options{})
	for name, frame := range frames {
		t.Run(name, func(t *testing.T) {
			tested := 0
			for n := 14; n < len(frame); n++ {
				if err := c.reset(); err != nil {
					t.Fatal(err)
				}
				e := enginesOn(t, c)
				if e.feed(frame[:n]) == 0 {
					continue // shorter than an IP header: the test harness refuses it
				}
				tested++
				before := t.Failed()
				fs := e.check()
				if e.truncated+e.malformed == 0 && len(fs) == 0 && e.other == 0 {
					t.Errorf("%d bytes: neither a flow nor counted", n)
				}
				if t.Failed() && !before {
					t.Fatalf("first disagreement at %d of %d bytes", n, len(frame))
				}
			}
			if tested < 8 {
				t.Errorf("only %d lengths could be tested", tested)
			}
		})
	}
	// The whole frames do form flows: the loop above tested something.
	if err := c.reset(); err != nil {
		t.Fatal(err)
	}
	for _, fr := range frames {
		c.run(t, fr)
	}
	if fs, _ := c.Flows(); len(fs) != 4 {
		t.Errorf("%d flows from the whole frames, want 4", len(fs))
	}
}

// mixedFrames is traffic of every kind the decoders distinguish.
func mixedFrames(tb testing.TB) [][]byte {
	dgram := udp4(tb, cli4, srv4, 40000, 5000, "hello?")
	fragIP := ip4(cli4, srv4, layers.IPProtocolTCP)
	fragIP.Flags = layers.IPv4MoreFragments
	fragIP.Id = 99
	laterIP := ip4(cli4, srv4, layers.IPProtocolTCP)
	laterIP.FragOffset = 4
	laterIP.Id = 99
	opts := ip4(cli4, srv4, layers.IPProtocolUDP)
	opts.IHL = 6
	opts.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
	mpls := build(tb, eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 16, StackBottom: false}, &layers.MPLS{Label: 17, StackBottom: true, TTL: 64},
		ip4(cli4, srv4, layers.IPProtocolUDP), &layers.UDP{SrcPort: 7, DstPort: 7})
	pppoe := build(tb, eth(layers.EthernetTypePPPoESession), &layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 1},
		&layers.PPP{PPPType: layers.PPPTypeIPv6}, ip6(cli6, srv6, layers.IPProtocolTCP), &layers.TCP{SrcPort: 1, DstPort: 2, SYN: true})
	return [][]byte{
		tcp4(tb, true, 40000, 443, "S", ""),
		tcp4(tb, false, 40000, 443, "SA", ""),
		tcp4(tb, true, 40000, 443, "PA", "data"),
		tcp4(tb, false, 40001, 443, "RA", ""),
		dgram,
		icmpUnreachable4(tb, srv4, cli4, 3, dgram),
		icmpUnreachable4(tb, srv4, cli4, 13, udp4(tb, cli4, srv4, 40001, 5001, "")),
		build(tb, eth(layers.EthernetTypeIPv4), fragIP, &layers.TCP{SrcPort: 3000, DstPort: 3001, ACK: true}, gopacket.Payload(make([]byte, 12))),
		build(tb, eth(layers.EthernetTypeIPv4), laterIP, gopacket.Payload(make([]byte, 9))),
		build(tb, eth(layers.EthernetTypeIPv4), opts, &layers.UDP{SrcPort: 67, DstPort: 68}, gopacket.Payload("dhcp")),
		build(tb, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: 1, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			SourceHwAddress: mac1, SourceProtAddress: cli4, DstHwAddress: mac2, DstProtAddress: srv4}),
		build(tb, eth(layers.EthernetTypeIPv6), ip6(cli6, srv6, layers.IPProtocolICMPv6),
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)}, gopacket.Payload(make([]byte, 20))),
		build(tb, eth(layers.EthernetTypeIPv4), ip4(cli4, srv4, layers.IPProtocolICMPv6), gopacket.Payload(make([]byte, 8))),
		build(tb, eth(layers.EthernetTypeIPv4), ip4(cli4, srv4, layers.IPProtocolGRE), gopacket.Payload(make([]byte, 8))),
		mpls,
		pppoe,
	}
}

// TestKernelMatchesUserSpace is the differential test: for the same frames
// the kernel's flows, converted to flow.Flow, equal what classify.Classifier
// produces, field for field except the times and the payload inspection's
// results; and the totals agree, bytes included (see engines.check).
func TestKernelMatchesUserSpace(t *testing.T) {
	e := newEngines(t, Options{})
	frames := mixedFrames(t)
	e.feed(frames...)
	e.feed(frames...) // again: existing flows this time
	if fs := e.check(); len(fs) < 8 {
		t.Errorf("only %d flows: the mixed traffic should form at least 8", len(fs))
	}
}

// FuzzKernelMatchesUserSpace runs the differential test on one arbitrary
// frame at a time.
func FuzzKernelMatchesUserSpace(f *testing.F) {
	tunnels, _ := tunnelFrames(f)
	for _, fr := range append(mixedFrames(f), tunnels...) {
		f.Add(fr)
	}
	c := loadCounter(f, Options{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < 14 || len(frame) > 1500 {
			return // BPF_PROG_TEST_RUN wants an Ethernet header
		}
		if err := c.reset(); err != nil {
			t.Fatal(err)
		}
		e := enginesOn(t, c)
		e.feed(frame)
		e.feed(frame)
		e.check()
	})
}

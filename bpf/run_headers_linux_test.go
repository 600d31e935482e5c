//go:build linux && (amd64 || arm64)

package bpf

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// More Program.Run tests of the header walk: IPv6 extension-header chains
// of every kind the walk knows, VLAN stacks, link-layer padding, and every
// truncation of such frames. Each frame also goes through
// classify.Classifier (engines.check), so the kernel must agree with it exactly; the
// expectations below make sure the frames exercise what they claim to.
//
// The extension headers are written byte by byte: gopacket serialises only
// some of them, and a test should not depend on the layout the code under
// test computes.

// IPv6 next-header values.
const (
	nhHopByHop = 0
	nhTCP      = 6
	nhUDP      = 17
	nhRouting  = 43
	nhFragment = 44
	nhESP      = 50
	nhAH       = 51
	nhICMPv6   = 58
	nhNone     = 59
	nhDestOpts = 60
	nhMobility = 135
	nhHIP      = 139
	nhShim6    = 140
)

// ext is one extension header: its type and its bytes, whose first byte
// (the next header) ip6Chain fills in.
type ext struct {
	typ  uint8
	body []byte
}

// optsExt is a hop-by-hop, destination-options, mobility, HIP or shim6
// header of 8×(units+1) bytes (length in 8-byte units, less one).
func optsExt(typ uint8, units int) ext {
	b := make([]byte, 8*(units+1))
	b[1] = byte(units)
	if typ == nhHopByHop || typ == nhDestOpts {
		b[2], b[3] = 1, byte(len(b)-4) // one PadN option filling the header
	}
	return ext{typ, b}
}

// routingExt is a type-0 routing header with no segments left.
func routingExt() ext { return ext{nhRouting, []byte{0, 0, 0, 0, 0, 0, 0, 0}} }

// ahExt is an authentication header with a 12-byte ICV: 24 bytes, its
// length counted in 4-byte units less two.
func ahExt() ext {
	b := make([]byte, 24)
	b[1] = 24/4 - 2
	b[7] = 1 // SPI
	return ext{nhAH, b}
}

// fragExt is a fragment header: offset in 8-byte units, more fragments, ID.
func fragExt(offset uint16, more bool, id uint32) ext {
	b := make([]byte, 8)
	v := offset << 3
	if more {
		v |= 1
	}
	b[2], b[3] = byte(v>>8), byte(v)
	b[4], b[5], b[6], b[7] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
	return ext{nhFragment, b}
}

// ip6Chain is an Ethernet frame (with tags, if any) carrying an IPv6
// packet from src to dst with the extension headers exts, then l4 (a
// header and payload of protocol last).
func ip6Chain(tb testing.TB, tags []uint16, src, dst net.IP, exts []ext, last uint8, l4 []byte) []byte {
	tb.Helper()
	var chain bytes.Buffer
	for i, e := range exts {
		next := last
		if i+1 < len(exts) {
			next = exts[i+1].typ
		}
		b := bytes.Clone(e.body)
		b[0] = next
		chain.Write(b)
	}
	chain.Write(l4)
	first := last
	if len(exts) > 0 {
		first = exts[0].typ
	}
	ls := []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv6)}
	if len(tags) > 0 {
		ls[0] = eth(layers.EthernetType(tags[0]))
		for i := 1; i < len(tags); i++ {
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: uint16(i), Type: layers.EthernetType(tags[i])})
		}
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 99, Type: layers.EthernetTypeIPv6})
	}
	ls = append(ls, ip6(src, dst, layers.IPProtocol(first)), gopacket.Payload(chain.Bytes()))
	return build(tb, ls...)
}

// udpHeader is a UDP header and payload (checksum zero: nobody checks).
func udpHeader(sp, dp uint16, payload string) []byte {
	n := 8 + len(payload)
	return append([]byte{byte(sp >> 8), byte(sp), byte(dp >> 8), byte(dp), byte(n >> 8), byte(n), 0, 0}, payload...)
}

// tcpHeader is a 20-byte TCP header with flags.
func tcpHeader(sp, dp uint16, flags byte) []byte {
	return []byte{byte(sp >> 8), byte(sp), byte(dp >> 8), byte(dp), 0, 0, 0, 1, 0, 0, 0, 0, 5 << 4, flags, 0xff, 0xff, 0, 0, 0, 0}
}

// outcome is what one frame must come to in both engines.
type outcome struct {
	flows                       int
	truncated, malformed, other uint64
}

func (e *engines) outcome(fs []flow.Flow) outcome {
	return outcome{len(fs), e.truncated, e.malformed, e.other}
}

func TestIPv6ExtensionHeaderChains(t *testing.T) {
	udp := udpHeader(40000, 2049, "hello")
	tcpSyn := tcpHeader(40000, 443, 0x02)
	cases := []struct {
		name  string
		frame []byte
		want  outcome
	}{
		{"routing", ip6Chain(t, nil, cli6, srv6, []ext{routingExt()}, nhUDP, udp), outcome{flows: 1}},
		{"authentication header", ip6Chain(t, nil, cli6, srv6, []ext{ahExt()}, nhTCP, tcpSyn), outcome{flows: 1}},
		{"mobility, HIP, shim6", ip6Chain(t, nil, cli6, srv6, []ext{optsExt(nhMobility, 0), optsExt(nhHIP, 1), optsExt(nhShim6, 0)}, nhUDP, udp), outcome{flows: 1}},
		{"hop-by-hop, routing, AH, destination options", ip6Chain(t, nil, cli6, srv6,
			[]ext{optsExt(nhHopByHop, 0), routingExt(), ahExt(), optsExt(nhDestOpts, 2)}, nhTCP, tcpSyn), outcome{flows: 1}},
		{"seven headers", ip6Chain(t, nil, cli6, srv6, repeatExt(optsExt(nhDestOpts, 0), 7), nhUDP, udp), outcome{flows: 1}},
		// The walk stops after eight headers (packet.maxExtHeaders): a
		// longer chain is refused rather than followed without bound.
		{"twelve headers", ip6Chain(t, nil, cli6, srv6, repeatExt(optsExt(nhDestOpts, 0), 12), nhUDP, udp), outcome{malformed: 1}},
		{"no next header", ip6Chain(t, nil, cli6, srv6, []ext{optsExt(nhHopByHop, 0)}, nhNone, nil), outcome{other: 1}},
		{"ESP", ip6Chain(t, nil, cli6, srv6, []ext{optsExt(nhHopByHop, 0)}, nhESP, make([]byte, 24)), outcome{other: 1}},
		{"header longer than the packet", ip6Chain(t, nil, cli6, srv6, []ext{{nhDestOpts, []byte{0, 9, 1, 4, 0, 0, 0, 0}}}, nhUDP, udp), outcome{truncated: 1}},
		{"vlan", ip6Chain(t, []uint16{0x8100}, cli6, srv6, []ext{optsExt(nhHopByHop, 0)}, nhUDP, udp), outcome{flows: 1}},
		{"qinq 0x88a8 and old 0x9100", ip6Chain(t, []uint16{0x88a8, 0x9100}, cli6, srv6, nil, nhUDP, udp), outcome{flows: 1}},
		// Eight tags at most (packet.maxTags).
		{"nine tags", ip6Chain(t, []uint16{0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100}, cli6, srv6, nil, nhUDP, udp), outcome{malformed: 1}},
	}
	c := loadCounter(t, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.reset(); err != nil {
				t.Fatal(err)
			}
			e := enginesOn(t, c)
			if e.feed(tc.frame) != 1 {
				t.Fatal("BPF_PROG_TEST_RUN refused the frame")
			}
			fs := e.check()
			if got := e.outcome(fs); got != tc.want {
				t.Errorf("outcome %+v, want %+v", got, tc.want)
			}
			if tc.want.flows == 1 {
				f := fs[0]
				if f.Key.Addr(f.FirstSide) != netip.MustParseAddr("fd00::5") || f.Key.Port(f.FirstSide) != 40000 {
					t.Errorf("flow %s: want the transport header after the chain, from %v:40000", describe(&f), cli6)
				}
			}
		})
	}
}

func repeatExt(e ext, n int) []ext {
	out := make([]ext, n)
	for i := range out {
		out[i] = e
	}
	return out
}

// TestIPv6FragmentsBehindExtensionHeaders: the first fragment's transport
// header and a later fragment's identification are both found behind other
// extension headers, and the later fragment counts to the first one's flow.
func TestIPv6FragmentsBehindExtensionHeaders(t *testing.T) {
	e := newEngines(t, Options{})
	first := ip6Chain(t, nil, srv6, cli6, []ext{optsExt(nhHopByHop, 0), fragExt(0, true, 0x1234), optsExt(nhDestOpts, 0)}, nhUDP, udpHeader(2049, 800, string(make([]byte, 40))))
	later := ip6Chain(t, nil, srv6, cli6, []ext{optsExt(nhHopByHop, 0), routingExt(), fragExt(7, false, 0x1234)}, nhUDP, make([]byte, 30))
	e.feed(first, later)
	f := oneFlow(t, e.check())
	if p, _ := f.Total(); p != 2 || f.Fragments != 1 || f.Key.Proto != ipproto.UDP || f.Key.Port(f.FirstSide) != 2049 {
		t.Errorf("flow %s: want the first fragment's UDP flow with the later fragment tied to it", describe(&f))
	}
}

// TestICMPv6UnreachableQuotingExtensionHeaders: the quoted packet's
// transport header is found behind its extension headers, and the flow it
// quotes is marked.
func TestICMPv6UnreachableQuotingExtensionHeaders(t *testing.T) {
	syn := ip6Chain(t, nil, cli6, srv6, []ext{optsExt(nhHopByHop, 0), optsExt(nhDestOpts, 1)}, nhTCP, tcpHeader(41000, 8443, 0x02))
	quote := syn[14:]
	unreach := func(q []byte) []byte {
		icmp := append([]byte{1, 4, 0, 0, 0, 0, 0, 0}, q...) // port unreachable
		return ip6Chain(t, nil, srv6, cli6, nil, nhICMPv6, icmp)
	}
	t.Run("whole quote", func(t *testing.T) {
		e := newEngines(t, Options{})
		e.feed(syn, unreach(quote))
		f := oneFlow(t, e.check())
		c := clientIs(t, &f, cli6)
		if f.State(c) != flow.StateUnreachable || f.Unreachable != 1 || f.UnreachableCode != 4 || f.UnreachableFrom != addr16(srv6) {
			t.Errorf("flow %s: want it unreachable (ICMPv6 port unreachable from the server)", describe(&f))
		}
	})
	t.Run("quote cut inside the extension headers", func(t *testing.T) {
		e := newEngines(t, Options{})
		e.feed(unreach(quote[:40+12]))
		fs := e.check()
		if len(fs) != 0 || e.truncated != 1 {
			t.Errorf("%d flows, %d truncated: a quote that ends inside its extension headers names no flow", len(fs), e.truncated)
		}
	})
}

// TestEthernetPadding: a minimum-size frame's padding is counted in the
// frame's bytes but not as payload (the IP length says where data ends).
func TestEthernetPadding(t *testing.T) {
	e := newEngines(t, Options{})
	fr := udp4(t, cli4, srv4, 40000, 53, "q")
	padded := append(bytes.Clone(fr), make([]byte, 60-len(fr))...)
	e.feed(padded)
	f := oneFlow(t, e.check())
	if f.Bytes[f.FirstSide] != 60 || f.Payload[f.FirstSide] != 1 {
		t.Errorf("bytes %v payload %v, want 60 and 1", f.Bytes, f.Payload)
	}
}

// TestTruncatedChainsAndTags cuts frames with extension-header chains, tags
// and fragments at every length the test run accepts (BPF_PROG_TEST_RUN
// refuses IPv6 frames shorter than the fixed header): both engines agree on
// each cut, and every cut inside a header that is needed is truncated. Each
// cut's IPv6 payload length is made to match the cut (a frame whose header
// declares more than it holds lies: TestHeadersThatLie), so that the walk
// itself meets the end.
func TestTruncatedChainsAndTags(t *testing.T) {
	type cut struct {
		frame []byte
		ip    int // offset of the IPv6 header
	}
	frames := map[string]cut{
		"AH then TCP":       {ip6Chain(t, nil, cli6, srv6, []ext{optsExt(nhHopByHop, 0), ahExt()}, nhTCP, tcpHeader(1, 2, 0x02)), 14},
		"routing then UDP":  {ip6Chain(t, []uint16{0x8100}, cli6, srv6, []ext{routingExt(), optsExt(nhDestOpts, 1)}, nhUDP, udpHeader(1, 2, "")), 18},
		"fragment then UDP": {ip6Chain(t, []uint16{0x88a8, 0x8100}, cli6, srv6, []ext{fragExt(0, true, 5)}, nhUDP, udpHeader(1, 2, "")), 22},
	}
	c := loadCounter(t, Options{})
	for name, fc := range frames {
		t.Run(name, func(t *testing.T) {
			frame := fc.frame
			if frame[fc.ip]>>4 != 6 {
				t.Fatalf("no IPv6 header at %d", fc.ip)
			}
			tested, truncated := 0, 0
			for n := 14; n < len(frame); n++ {
				if err := c.reset(); err != nil {
					t.Fatal(err)
				}
				e := enginesOn(t, c)
				f := bytes.Clone(frame[:n])
				if n >= fc.ip+40 {
					binary.BigEndian.PutUint16(f[fc.ip+4:], uint16(n-fc.ip-40))
				}
				if e.feed(f) == 0 {
					continue
				}
				tested++
				before := t.Failed()
				fs := e.check()
				if len(fs) == 0 && e.truncated == 0 {
					t.Errorf("%d of %d bytes: no flow and not truncated (%+v)", n, len(frame), e.outcome(fs))
				}
				truncated += int(e.truncated)
				if t.Failed() && !before {
					t.Fatalf("first disagreement at %d of %d bytes", n, len(frame))
				}
			}
			// Every cut lies inside a header the walk needs: the chain or
			// the transport header (neither frame carries payload).
			if tested < 20 || truncated != tested {
				t.Errorf("%d cuts tested, %d truncated: want every one (and at least 20)", tested, truncated)
			}
		})
	}
}

// TestHeadersThatLie: an IP header that declares more bytes than the frame
// holds (the kernel sees whole frames) is malformed in both engines, even
// where the transport header is cut too; segmentation offload's zero
// lengths are not lies.
func TestHeadersThatLie(t *testing.T) {
	lie4 := udp4(t, cli4, srv4, 40000, 53, "query")
	binary.BigEndian.PutUint16(lie4[14+2:], 58941)
	cut4 := bytes.Clone(lie4[:14+20+4]) // the UDP header cut too
	binary.BigEndian.PutUint16(cut4[14+2:], 100)
	lie6 := ip6Chain(t, nil, cli6, srv6, nil, nhUDP, udpHeader(40000, 53, "query"))
	binary.BigEndian.PutUint16(lie6[14+4:], 1000)
	tso4 := udp4(t, cli4, srv4, 40001, 53, "query")
	binary.BigEndian.PutUint16(tso4[14+2:], 0)
	tso6 := ip6Chain(t, nil, cli6, srv6, nil, nhUDP, udpHeader(40001, 53, "query"))
	binary.BigEndian.PutUint16(tso6[14+4:], 0)

	e := newEngines(t, Options{})
	e.feed(lie4, cut4, lie6, tso4, tso6)
	fs := e.check()
	if e.malformed != 3 || e.truncated != 0 || len(fs) != 2 {
		t.Errorf("malformed %d truncated %d flows %d: want the three lies malformed and the two offload frames as flows", e.malformed, e.truncated, len(fs))
	}
}

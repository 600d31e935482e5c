package packet

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/internal/frametest"
)

// The frames are made by frametest (gopacket, the reference
// implementation), so that the decoder is tested against bytes it did not
// make itself.
var (
	build    = frametest.Build
	eth      = frametest.Eth
	hopByHop = frametest.HopByHop
	mac1     = frametest.MAC1
	mac2     = frametest.MAC2
	v4a      = net.IP{10, 0, 0, 5}
	v4b      = net.IP{198, 51, 100, 10}
	v6a      = net.ParseIP("fd00::5")
	v6b      = net.ParseIP("fd00::1")
)

// ip4 and ip6 are from the a address to the b address.
func ip4(p layers.IPProtocol) *layers.IPv4 { return frametest.IPv4(v4a, v4b, p) }
func ip6(p layers.IPProtocol) *layers.IPv6 { return frametest.IPv6(v6a, v6b, p) }

func tuple(src, dst net.IP, sp, dp uint16, proto ipproto.Proto) Tuple {
	s, _ := netip.AddrFromSlice(src)
	d, _ := netip.AddrFromSlice(dst)
	return Tuple{Src: s.As16(), Dst: d.As16(), SrcPort: sp, DstPort: dp, Proto: proto}
}

// sllHeader is a Linux cooked-capture header (gopacket cannot serialise one):
// packet type, ARPHRD_ETHER, address length 6, the address, the EtherType.
func sllHeader(etherType uint16) []byte {
	return []byte{0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, byte(etherType >> 8), byte(etherType)}
}

func TestDecode(t *testing.T) {
	syn := &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, Window: 100}
	payload := gopacket.Payload("hello")
	tests := []struct {
		name    string
		link    layers.LinkType
		frame   []byte
		kind    Kind
		tuple   Tuple
		flags   uint8
		payload string
	}{
		{"ethernet ipv4 tcp syn", layers.LinkTypeEthernet,
			build(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP), syn),
			KindTransport, tuple(v4a, v4b, 40000, 443, ipproto.TCP), SYN, ""},
		{"ethernet qinq ipv4 udp payload", layers.LinkTypeEthernet,
			build(t, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeDot1Q},
				&layers.Dot1Q{VLANIdentifier: 20, Type: layers.EthernetTypeIPv4}, ip4(layers.IPProtocolUDP),
				&layers.UDP{SrcPort: 5353, DstPort: 53}, payload),
			KindTransport, tuple(v4a, v4b, 5353, 53, ipproto.UDP), 0, "hello"},
		{"ethernet ipv6 hop-by-hop tcp payload", layers.LinkTypeEthernet,
			build(t, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6HopByHop),
				hopByHop(layers.IPProtocolTCP),
				&layers.TCP{SrcPort: 2049, DstPort: 900, ACK: true, PSH: true, Window: 1}, payload),
			KindTransport, tuple(v6a, v6b, 2049, 900, ipproto.TCP), ACK | PSH, "hello"},
		{"raw ipv4 udp", layers.LinkTypeRaw,
			build(t, ip4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 123, DstPort: 123}, payload),
			KindTransport, tuple(v4a, v4b, 123, 123, ipproto.UDP), 0, "hello"},
		{"linux sll ipv4 tcp", layers.LinkTypeLinuxSLL,
			append(sllHeader(0x0800), build(t, ip4(layers.IPProtocolTCP), syn)...),
			KindTransport, tuple(v4a, v4b, 40000, 443, ipproto.TCP), SYN, ""},
		{"null loopback ipv6 udp", layers.LinkTypeNull,
			build(t, &layers.Loopback{Family: layers.ProtocolFamilyIPv6Linux}, ip6(layers.IPProtocolUDP), &layers.UDP{SrcPort: 1, DstPort: 2}),
			KindTransport, tuple(v6a, v6b, 1, 2, ipproto.UDP), 0, ""},
		{"icmp echo", layers.LinkTypeEthernet,
			build(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4),
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 77, Seq: 1}),
			KindTransport, tuple(v4a, v4b, 77, 77, ipproto.ICMPv4), 0, ""},
		{"arp", layers.LinkTypeEthernet,
			build(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: 1, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				SourceHwAddress: mac1, SourceProtAddress: v4a, DstHwAddress: mac2, DstProtAddress: v4b}),
			KindOther, Tuple{}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Parsed
			if err := p.Decode(tc.link, tc.frame); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if p.Kind != tc.kind {
				t.Fatalf("kind = %v, want %v", p.Kind, tc.kind)
			}
			if tc.kind == KindTransport && p.Tuple != tc.tuple {
				t.Errorf("tuple = %+v, want %+v", p.Tuple, tc.tuple)
			}
			if p.TCPFlags != tc.flags {
				t.Errorf("flags = %#x, want %#x", p.TCPFlags, tc.flags)
			}
			if string(p.Payload) != tc.payload {
				t.Errorf("payload = %q, want %q", p.Payload, tc.payload)
			}
		})
	}
}

func TestDecodeICMPErrorQuotesFlow(t *testing.T) {
	// The packet the error quotes: UDP 10.0.0.5:40000 -> 198.51.100.10:5000,
	// cut to the IP header and 8 bytes as routers do.
	quoted := build(t, ip4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 40000, DstPort: 5000}, gopacket.Payload("0123456789"))[:28]
	errIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: v4b, DstIP: v4a}
	frame := build(t, eth(layers.EthernetTypeIPv4), errIP,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(quoted))
	var p Parsed
	if err := p.Decode(layers.LinkTypeEthernet, frame); err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindICMPError || p.ICMPType != 3 || p.ICMPCode != 3 {
		t.Fatalf("kind %v type %d code %d, want ICMP error 3/3", p.Kind, p.ICMPType, p.ICMPCode)
	}
	if want := tuple(v4a, v4b, 40000, 5000, ipproto.UDP); p.Quoted != want {
		t.Errorf("quoted = %+v, want %+v", p.Quoted, want)
	}
}

func TestDecodeFragments(t *testing.T) {
	first := ip4(layers.IPProtocolUDP)
	first.Flags = layers.IPv4MoreFragments
	f1 := build(t, eth(layers.EthernetTypeIPv4), first, &layers.UDP{SrcPort: 1000, DstPort: 2049}, gopacket.Payload(make([]byte, 32)))
	second := ip4(layers.IPProtocolUDP)
	second.FragOffset = 5 // 40 bytes in
	f2 := build(t, eth(layers.EthernetTypeIPv4), second, gopacket.Payload(make([]byte, 16)))

	var p Parsed
	if err := p.Decode(layers.LinkTypeEthernet, f1); err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindTransport || !p.FirstFragment || p.FragID != 7 || p.Tuple.DstPort != 2049 {
		t.Fatalf("first fragment: kind %v first %v id %d port %d", p.Kind, p.FirstFragment, p.FragID, p.Tuple.DstPort)
	}
	if err := p.Decode(layers.LinkTypeEthernet, f2); err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindFragment || p.FragID != 7 || p.Tuple.Proto != ipproto.UDP || p.PayloadLen != 16 {
		t.Fatalf("later fragment: kind %v id %d proto %v len %d", p.Kind, p.FragID, p.Tuple.Proto, p.PayloadLen)
	}
}

func TestDecodeTruncated(t *testing.T) {
	frame := build(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 1, DstPort: 2, SYN: true})
	var p Parsed
	for n := 0; n < len(frame); n++ {
		err := p.Decode(layers.LinkTypeEthernet, frame[:n])
		if n < 14+20+20 && err == nil && p.Kind == KindTransport {
			t.Fatalf("%d bytes: decoded a transport header that is not all there", n)
		}
	}
	if err := p.Decode(layers.LinkTypeEthernet, frame); err != nil || p.Kind != KindTransport {
		t.Fatalf("whole frame: %v %v", p.Kind, err)
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	frame := build(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 1, DstPort: 2, ACK: true}, gopacket.Payload("x"))
	var p Parsed
	if n := testing.AllocsPerRun(1000, func() { p.Decode(layers.LinkTypeEthernet, frame) }); n != 0 {
		t.Fatalf("Decode allocates %v times per packet", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	frame := build(b, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 1, DstPort: 2, ACK: true}, gopacket.Payload(make([]byte, 10)))
	var p Parsed
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		p.Decode(layers.LinkTypeEthernet, frame)
	}
}

// TestCheckLength: a frame cut by the capture's snap length may lack what
// its IP header declares, as many bytes as were cut and no more; a header
// that declares more than the wire carried lies, whether or not the
// transport header is whole; offload's zero lengths declare nothing.
func TestCheckLength(t *testing.T) {
	v4 := build(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 40000, DstPort: 53}, gopacket.Payload(make([]byte, 100)))
	v6 := build(t, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolUDP), &layers.UDP{SrcPort: 40000, DstPort: 53}, gopacket.Payload(make([]byte, 100)))
	with := func(b []byte, off int, v uint16) []byte {
		c := bytes.Clone(b)
		binary.BigEndian.PutUint16(c[off:], v)
		return c
	}
	tests := []struct {
		name              string
		frame             []byte
		captured, wireLen int
		want              error
	}{
		{"whole v4", v4, len(v4), len(v4), nil},
		{"snapped v4", v4[:60], 60, len(v4), nil},
		{"snapped inside the UDP header", v4[:14+20+4], 14 + 20 + 4, len(v4), ErrTruncated},
		{"v4 claims 58941 bytes in a 142-byte frame", with(v4, 14+2, 58941), len(v4), len(v4), ErrMalformed},
		{"v4 claims one byte more than the wire", with(v4, 14+2, uint16(len(v4)-14+1)), len(v4), len(v4), ErrMalformed},
		{"v4 lies and is cut inside the UDP header", with(v4, 14+2, 1000)[:14+20+4], 14 + 20 + 4, 14 + 20 + 4, ErrMalformed},
		{"v4 length 0 (segmentation offload)", with(v4, 14+2, 0), len(v4), len(v4), nil},
		{"whole v6", v6, len(v6), len(v6), nil},
		{"v6 claims 1000 bytes", with(v6, 14+4, 1000), len(v6), len(v6), ErrMalformed},
		{"v6 snapped", with(v6, 14+4, 1000)[:80], 80, 14 + 40 + 1000, nil},
		{"v6 length 0 (jumbogram, BIG TCP)", with(v6, 14+4, 0), len(v6), len(v6), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Parsed
			if got := p.CheckLength(p.Decode(layers.LinkTypeEthernet, tc.frame), tc.captured, tc.wireLen); got != tc.want {
				t.Errorf("got %v, want %v (Beyond %d)", got, tc.want, p.Beyond)
			}
		})
	}
}

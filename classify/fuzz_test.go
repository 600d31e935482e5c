package classify

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"reflect"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/internal/frametest"
)

// fuzzLinks are the link types a fuzzed frame picks from by its first byte;
// any other value is used as a link type number as it is.
var fuzzLinks = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeNull, layers.LinkTypeLinuxSLL,
	layers.LinkTypeLinuxSLL2, layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeLoop,
}

// fuzzFrames splits fuzz input into frames: each is a link byte, a signed
// 16-bit time step in milliseconds (so clocks go backwards too), a 16-bit
// length and that many bytes.
func fuzzFrames(data []byte, each func(*capture.Frame)) {
	var t int64 = 1_700_000_000e9
	for len(data) >= 5 {
		link := layers.LinkType(data[0])
		if int(data[0]) < len(fuzzLinks) {
			link = fuzzLinks[data[0]]
		}
		t += int64(int16(binary.BigEndian.Uint16(data[1:3]))) * 1e6
		n := min(int(binary.BigEndian.Uint16(data[3:5])), len(data)-5)
		fr := capture.Frame{Data: data[5 : 5+n], WireLen: n + int(data[0]&7), Time: t, LinkType: link}
		each(&fr)
		data = data[5+n:]
	}
}

// appendFrame encodes one frame for fuzzFrames.
func appendFrame(b []byte, link byte, stepMs int16, frame []byte) []byte {
	b = append(b, link)
	b = binary.BigEndian.AppendUint16(b, uint16(stepMs))
	b = binary.BigEndian.AppendUint16(b, uint16(len(frame)))
	return append(b, frame...)
}

// FuzzClassify runs frames through decoding and the flow table together,
// with and without a flow cap, and checks the accounting: every frame is in
// exactly one flow, other-traffic count, malformed count or folded service,
// bytes likewise; no flow ends before it starts; no key is in two flows; the
// cap holds. Read, which decodes on a goroutine of its own, must build the
// very Observation that Add builds frame by frame.
func FuzzClassify(f *testing.F) {
	var seed []byte
	for i, fr := range seedFrames(f) {
		seed = appendFrame(seed, 0, int16(100-60*(i%3)), fr)
	}
	f.Add(seed, uint8(0))
	f.Add(seed, uint8(2))
	f.Add(appendFrame(nil, 1, -5, seedFrames(f)[0][14:]), uint8(1)) // raw IP, one frame
	f.Fuzz(func(t *testing.T, data []byte, maxFlows uint8) {
		c := New(4)
		c.SetLimits(Limits{MaxFlows: int(maxFlows)})
		var packets, bytes uint64
		var frames []capture.Frame
		fuzzFrames(data, func(fr *capture.Frame) {
			c.Add(fr)
			packets++
			bytes += uint64(fr.WireLen)
			frames = append(frames, *fr)
		})
		o := c.Observation()
		r := New(4)
		r.SetLimits(Limits{MaxFlows: int(maxFlows)})
		if err := r.Read("fuzz", &sliceSource{frames: frames}, nil); err != nil {
			t.Fatal(err)
		}
		if diff := diffObservations(o, r.Observation()); diff != "" {
			t.Fatalf("Read and Add differ: %s", diff)
		}
		if o.Packets != packets || o.Bytes != bytes {
			t.Fatalf("observation counts %d packets %d bytes; %d and %d were added", o.Packets, o.Bytes, packets, bytes)
		}
		var p, b uint64
		seen := map[flow.Key]bool{}
		for i := range o.Flows {
			fl := &o.Flows[i]
			fp, fb := fl.Total()
			p, b = p+fp, b+fb
			if seen[fl.Key] {
				t.Fatalf("key %+v in two flows", fl.Key)
			}
			seen[fl.Key] = true
			if fl.Last < fl.First || (fp > 0 && (fl.First < o.First || fl.Last > o.Last)) {
				t.Fatalf("flow %d runs %d..%d in an observation running %d..%d", i, fl.First, fl.Last, o.First, o.Last)
			}
		}
		for _, oc := range o.Other {
			p, b = p+oc.Packets, b+oc.Bytes
		}
		p += o.Malformed.Total()
		for _, s := range o.Folded.Services {
			p, b = p+s.Packets, b+s.Bytes
			if s.Flows > s.Packets {
				t.Fatalf("folded service %+v: more flows than packets", s)
			}
		}
		// Malformed frames' bytes are in no bucket; only packets must add up.
		if p != packets || b > bytes {
			t.Fatalf("flows, other, malformed and folded hold %d packets %d bytes; %d and %d were added", p, b, packets, bytes)
		}
		if maxFlows > 0 && len(o.Flows) > int(maxFlows) {
			t.Fatalf("%d flows kept with a cap of %d", len(o.Flows), maxFlows)
		}
		if len(o.Folded.Services) > 0 && o.Complete() {
			t.Fatal("an observation with folded flows is complete")
		}
	})
}

// seedFrames are Ethernet frames of each kind Add handles: TCP, UDP with a
// DNS answer, ICMP echo, a first and a later IPv4 fragment, an ICMP
// unreachable quoting a UDP packet, IPv6 UDP, ARP, and IP-in-IP with the
// link's padding after it.
func seedFrames(tb testing.TB) [][]byte {
	a, b := net.IPv4(10, 0, 0, 1), net.IPv4(192, 0, 2, 9)
	ip4 := func(proto layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: a, DstIP: b}
	}
	eth := func(et layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: et}
	}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, Window: 1024}
	udp := &layers.UDP{SrcPort: 53, DstPort: 40001}
	dns := &layers.DNS{ID: 1, QR: true, QDCount: 1, ANCount: 1,
		Questions: []layers.DNSQuestion{{Name: []byte("example.com"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}},
		Answers:   []layers.DNSResourceRecord{{Name: []byte("example.com"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 60, IP: b}}}
	frag1 := ip4(layers.IPProtocolUDP)
	frag1.Flags, frag1.Id = layers.IPv4MoreFragments, 7
	frag2 := ip4(layers.IPProtocolUDP)
	frag2.FragOffset, frag2.Id = 2, 7
	quoted := ip4(layers.IPProtocolUDP)
	v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
	return [][]byte{
		frametest.Build(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP), tcp),
		frametest.Build(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP), udp, dns),
		frametest.Build(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 5, Seq: 1}),
		frametest.Build(tb, eth(layers.EthernetTypeIPv4), frag1, &layers.UDP{SrcPort: 40002, DstPort: 2049}, gopacket.Payload(make([]byte, 16))),
		frametest.Build(tb, eth(layers.EthernetTypeIPv4), frag2, gopacket.Payload(make([]byte, 16))),
		frametest.Build(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, quoted, &layers.UDP{SrcPort: 40003, DstPort: 123}),
		frametest.Build(tb, eth(layers.EthernetTypeIPv6), v6, &layers.UDP{SrcPort: 40004, DstPort: 53}, gopacket.Payload("q")),
		frametest.Build(tb, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			SourceHwAddress: make([]byte, 6), SourceProtAddress: a.To4(), DstHwAddress: make([]byte, 6), DstProtAddress: b.To4()}),
		append(frametest.Build(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolIPv4), ip4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 40005, DstPort: 514}), make([]byte, 6)...),
	}
}

// sliceSource is a capture.Source over frames held in memory.
type sliceSource struct{ frames []capture.Frame }

func (s *sliceSource) Next(fr *capture.Frame) error {
	if len(s.frames) == 0 {
		return io.EOF
	}
	*fr, s.frames = s.frames[0], s.frames[1:]
	return nil
}

func (s *sliceSource) Close() error { return nil }

// diffObservations names the first difference between what two
// classifiers observed from the same frames (their inputs aside).
func diffObservations(a, b *Observation) string {
	switch {
	case a.Packets != b.Packets || a.Bytes != b.Bytes || a.First != b.First || a.Last != b.Last:
		return fmt.Sprintf("totals %d/%d %d..%d vs %d/%d %d..%d", a.Packets, a.Bytes, a.First, a.Last, b.Packets, b.Bytes, b.First, b.Last)
	case !reflect.DeepEqual(a.Malformed, b.Malformed) || a.OrphanFragments != b.OrphanFragments:
		return fmt.Sprintf("malformed %+v %d vs %+v %d", a.Malformed, a.OrphanFragments, b.Malformed, b.OrphanFragments)
	case !slices.Equal(a.Flows, b.Flows):
		return fmt.Sprintf("flows %+v vs %+v", a.Flows, b.Flows)
	case !slices.Equal(a.Other, b.Other):
		return fmt.Sprintf("other %+v vs %+v", a.Other, b.Other)
	case !slices.Equal(a.ServerNames, b.ServerNames):
		return fmt.Sprintf("server names %v vs %v", a.ServerNames, b.ServerNames)
	case a.Folded.Flows != b.Folded.Flows || a.Folded.Exact != b.Folded.Exact || !slices.Equal(a.Folded.Services, b.Folded.Services):
		return fmt.Sprintf("folded %+v vs %+v", a.Folded, b.Folded)
	}
	return ""
}

package packet

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// FuzzDecode checks that Decode never panics and that, wherever it finds a
// TCP or UDP tuple, gopacket (the reference decoder) finds the same one.
func FuzzDecode(f *testing.F) {
	seeds := [][]byte{
		build(f, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 1, DstPort: 2, SYN: true}),
		build(f, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolUDP), &layers.UDP{SrcPort: 53, DstPort: 3}, gopacket.Payload("abc")),
		build(f, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{Type: layers.EthernetTypeIPv4}, ip4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 9, DstPort: 8}),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var p Parsed
		if err := p.Decode(layers.LinkTypeEthernet, frame); err != nil || p.Kind != KindTransport || !p.Tuple.Proto.HasPorts() {
			return
		}
		if p.FirstFragment {
			return // gopacket stops at fragments; nothing to compare
		}
		pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: false, NoCopy: true})
		ref, ok := referenceTuple(pkt)
		if !ok {
			return // gopacket could not decode as far; only agreement is checked
		}
		if ref != p.Tuple {
			t.Fatalf("tuple %+v, gopacket says %+v", p.Tuple, ref)
		}
	})
}

// referenceTuple reads the first network and transport layers gopacket
// decoded, when the transport layer directly follows the network layer.
func referenceTuple(pkt gopacket.Packet) (Tuple, bool) {
	var t Tuple
	var net gopacket.Layer
	for _, l := range pkt.Layers() {
		switch l := l.(type) {
		case *layers.IPv4:
			if net != nil {
				return t, false // tunnelled: not what Decode looks at
			}
			net = l
			s, _ := netip.AddrFromSlice(l.SrcIP.To4())
			d, _ := netip.AddrFromSlice(l.DstIP.To4())
			t.Src, t.Dst = s.As16(), d.As16()
		case *layers.IPv6:
			if net != nil {
				return t, false
			}
			net = l
			s, _ := netip.AddrFromSlice(l.SrcIP)
			d, _ := netip.AddrFromSlice(l.DstIP)
			t.Src, t.Dst = s.As16(), d.As16()
		case *layers.TCP:
			if net == nil {
				return t, false
			}
			t.SrcPort, t.DstPort, t.Proto = uint16(l.SrcPort), uint16(l.DstPort), ipproto.TCP
			return t, true
		case *layers.UDP:
			if net == nil {
				return t, false
			}
			t.SrcPort, t.DstPort, t.Proto = uint16(l.SrcPort), uint16(l.DstPort), ipproto.UDP
			return t, true
		case *layers.ICMPv4, *layers.ICMPv6, *layers.GRE, *layers.EtherIP:
			return t, false
		}
	}
	return t, false
}

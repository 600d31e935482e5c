package frametest

import (
	"net"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Build serialises ls, lengths fixed and checksums computed, and returns a
// copy of the bytes. It fails tb when gopacket cannot serialise them.
func Build(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	for _, l := range ls {
		n, ok := l.(gopacket.NetworkLayer)
		if !ok {
			continue
		}
		for _, o := range ls {
			switch tl := o.(type) {
			case *layers.TCP:
				tl.SetNetworkLayerForChecksum(n)
			case *layers.UDP:
				tl.SetNetworkLayerForChecksum(n)
			case *layers.ICMPv6:
				tl.SetNetworkLayerForChecksum(n)
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		tb.Fatalf("serialise %d layers: %v", len(ls), err)
	}
	return slices.Clone(buf.Bytes())
}

// The Ethernet addresses of Eth's frames: from MAC1 to MAC2.
var (
	MAC1 = net.HardwareAddr{0, 1, 2, 3, 4, 5}
	MAC2 = net.HardwareAddr{0, 1, 2, 3, 4, 6}
)

// Eth is an Ethernet header from MAC1 to MAC2 carrying t.
func Eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: MAC1, DstMAC: MAC2, EthernetType: t}
}

// IPv4 is an option-less IPv4 header from src to dst carrying p (TTL 64,
// ID 7).
func IPv4(src, dst net.IP, p layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: p, SrcIP: src, DstIP: dst, Id: 7}
}

// IPv6 is an IPv6 header from src to dst whose next header is p (hop
// limit 64).
func IPv6(src, dst net.IP, p layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: p, SrcIP: src, DstIP: dst}
}

// HopByHop is an IPv6 hop-by-hop options header with one four-byte option
// (type 1, PadN), followed by next.
func HopByHop(next layers.IPProtocol) *layers.IPv6HopByHop {
	h := &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 1, OptionData: []byte{0, 0, 0, 0}}}}
	h.NextHeader = next
	return h
}

package frametest

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestBuildChecksums decodes what Build made with gopacket (checksums
// verified) for each transport whose checksum covers a pseudo-header, over
// IPv4 and over IPv6 behind a hop-by-hop header.
func TestBuildChecksums(t *testing.T) {
	v4a, v4b := net.IP{10, 0, 0, 5}, net.IP{198, 51, 100, 10}
	v6a, v6b := net.ParseIP("fd00::5"), net.ParseIP("fd00::1")
	frames := map[string][]byte{
		"tcp4": Build(t, Eth(layers.EthernetTypeIPv4), IPv4(v4a, v4b, layers.IPProtocolTCP),
			&layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true}, gopacket.Payload("x")),
		"udp4": Build(t, Eth(layers.EthernetTypeIPv4), IPv4(v4a, v4b, layers.IPProtocolUDP),
			&layers.UDP{SrcPort: 40000, DstPort: 5000}, gopacket.Payload("query")),
		"udp6 hop-by-hop": Build(t, Eth(layers.EthernetTypeIPv6), IPv6(v6a, v6b, layers.IPProtocolIPv6HopByHop),
			HopByHop(layers.IPProtocolUDP), &layers.UDP{SrcPort: 40000, DstPort: 5000}, gopacket.Payload("answer")),
		"icmp6": Build(t, Eth(layers.EthernetTypeIPv6), IPv6(v6a, v6b, layers.IPProtocolICMPv6),
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, gopacket.Payload("ping")),
	}
	for name, fr := range frames {
		pkt := gopacket.NewPacket(fr, layers.LinkTypeEthernet, gopacket.Default)
		if el := pkt.ErrorLayer(); el != nil {
			t.Errorf("%s: %v", name, el.Error())
			continue
		}
		checked := 0
		for _, l := range pkt.Layers() {
			v, ok := l.(interface {
				VerifyChecksum() (error, gopacket.ChecksumVerificationResult)
			})
			if !ok {
				continue
			}
			checked++
			// gopacket's decoder does not tie a transport to its
			// network layer: verifying needs it.
			if tl, ok := l.(interface {
				SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
			}); ok {
				if err := tl.SetNetworkLayerForChecksum(pkt.NetworkLayer()); err != nil {
					t.Fatal(err)
				}
			}
			if err, res := v.VerifyChecksum(); err != nil || !res.Valid {
				t.Errorf("%s: %v checksum %#x, want %#x (%v)", name, l.LayerType(), res.Actual, res.Correct, err)
			}
		}
		if checked == 0 {
			t.Errorf("%s: no layer with a checksum decoded", name)
		}
		if eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); eth == nil || eth.SrcMAC.String() != MAC1.String() || eth.DstMAC.String() != MAC2.String() {
			t.Errorf("%s: Ethernet header %+v, want from MAC1 to MAC2", name, eth)
		}
	}
}

package packet

import (
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// TestDecodeLinkTypes decodes a TCP SYN (or, for the last cases, traffic
// that is no port flow) behind each link header of the link types beyond
// Ethernet. The headers are written by hand, byte by byte, from the
// link types' definitions (tcpdump.org/linktypes.html), since gopacket
// cannot serialise most of them.
func TestDecodeLinkTypes(t *testing.T) {
	syn4 := build(t, ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, Window: 1})
	syn6 := build(t, ip6(layers.IPProtocolTCP), &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, Window: 1})
	want4 := tuple(v4a, v4b, 40000, 443, ipproto.TCP)
	want6 := tuple(v6a, v6b, 40000, 443, ipproto.TCP)
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	mpls := []byte{0x00, 0x01, 0x01, 0x40} // label 16, bottom of stack
	macs := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	dot11Data := []byte{0x88, 0x01, 0, 0} // QoS data, to the DS
	dot11Data = append(dot11Data, make([]byte, 20)...)
	dot11Data = append(dot11Data, 0, 0)                                  // QoS control
	snap4 := []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}               // LLC/SNAP, IPv4
	nflog := []byte{2, 0, 0, 1, 8, 0, 1, 0, 0x08, 0x00, 0, 0}            // header; a hardware-header TLV of 8 bytes
	nflogPayload := []byte{byte(4 + len(syn4)), 0, 9, 0}                 // NFULA_PAYLOAD
	juniper := []byte{'M', 'G', 'C', 0x80, 0, 4, 1, 2, 3, 4}             // extensions of 4 bytes
	pktap := append([]byte{12, 0, 0, 0, 1, 0, 0, 0}, make([]byte, 4)...) // 12-byte header, DLT_EN10MB
	eth4 := cat(macs, []byte{0x08, 0x00})
	tests := []struct {
		name  string
		link  layers.LinkType
		frame []byte
		want  Tuple
	}{
		{"ppp", layers.LinkTypePPP, cat([]byte{0x00, 0x21}, syn4), want4},
		{"ppp compressed protocol", layers.LinkTypePPP, cat([]byte{0x21}, syn4), want4},
		{"ppp in hdlc", layers.LinkTypePPP_HDLC, cat([]byte{0xff, 0x03, 0x00, 0x57}, syn6), want6},
		{"ppp mpls", layers.LinkTypePPP_HDLC, cat([]byte{0xff, 0x03, 0x02, 0x81}, mpls, syn4), want4},
		{"pppoe session", layers.LinkTypePPPEthernet, cat([]byte{0x11, 0, 0, 1, 0, 42, 0x00, 0x21}, syn4), want4},
		{"cisco hdlc", layers.LinkTypeC_HDLC, cat([]byte{0x0f, 0x00, 0x86, 0xdd}, syn6), want6},
		{"frame relay ipv4", layers.LinkTypeFRelay, cat([]byte{0x18, 0x41, 0x03, 0xcc}, syn4), want4},
		{"frame relay snap", layers.LinkTypeFRelay, cat([]byte{0x18, 0x41, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x00}, syn4), want4},
		{"802.11 qos data", layers.LinkTypeIEEE802_11, cat(dot11Data, snap4, syn4), want4},
		{"radiotap 802.11", layers.LinkTypeIEEE80211Radio, cat([]byte{0, 0, 8, 0, 0, 0, 0, 0}, dot11Data, snap4, syn4), want4},
		{"slip", layers.LinkTypeSLIP, cat(make([]byte, 16), syn4), want4},
		{"pflog", layers.LinkTypePFLog, cat([]byte{61}, make([]byte, 63), syn4), want4},
		{"arcnet rfc 1201", layers.LinkTypeARCNetLinux, cat([]byte{1, 2, 0, 0, 0xd4, 0, 0, 0}, syn4), want4},
		{"arcnet rfc 1051", layers.LinkTypeARCNetLinux, cat([]byte{1, 2, 0, 0, 0xf0}, syn4), want4},
		{"nflog", linkTypeNFLog, cat(nflog, nflogPayload, syn4), want4},
		{"juniper ethernet", linkTypeJuniperEther, cat(juniper, eth4, syn4), want4},
		{"broadcom tag", linkTypeBRCM, cat(macs, []byte{0x20, 0, 0, 0}, []byte{0x08, 0x00}, syn4), want4},
		{"marvell edsa", linkTypeEDSA, cat(macs, []byte{0xda, 0xda, 0, 0, 0xc0, 0, 0, 0}, []byte{0x08, 0x00}, syn4), want4},
		{"pktap", linkTypePKTAP, cat(pktap, eth4, syn4), want4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Parsed
			if err := p.Decode(tc.link, tc.frame); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if p.Kind != KindTransport || p.Tuple != tc.want || p.TCPFlags != SYN {
				t.Errorf("kind %v tuple %+v flags %#x, want a SYN %+v", p.Kind, p.Tuple, p.TCPFlags, tc.want)
			}
			// Every cut of the frame is an error or no transport packet:
			// never a tuple read from bytes that are not there.
			for n := range len(tc.frame) {
				if err := p.Decode(tc.link, tc.frame[:n]); err == nil && p.Kind == KindTransport {
					t.Fatalf("%d bytes: a transport packet", n)
				}
			}
		})
	}

	others := []struct {
		name  string
		link  layers.LinkType
		frame []byte
		err   error
		what  string
	}{
		{"ppp lcp", layers.LinkTypePPP_HDLC, []byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}, nil, "PPP LCP"},
		{"frame relay q.933", layers.LinkTypeFRelay, []byte{0x00, 0x01, 0x03, 0x08, 0, 0}, nil, "frame relay NLPID 0x08"},
		{"802.11 beacon", layers.LinkTypeIEEE802_11, cat([]byte{0x80, 0}, make([]byte, 30)), nil, "802.11 management"},
		{"802.11 protected data", layers.LinkTypeIEEE802_11, cat([]byte{0x08, 0x41}, make([]byte, 40)), ErrLinkType, ""},
		{"arcnet arp", layers.LinkTypeARCNetLinux, []byte{1, 2, 0, 0, 0xd5, 0, 0, 0, 0}, nil, "ARCNET protocol 0xd5"},
		{"unknown", 147, syn4, ErrLinkType, ""},
	}
	for _, tc := range others {
		t.Run(tc.name, func(t *testing.T) {
			var p Parsed
			err := p.Decode(tc.link, tc.frame)
			if err != tc.err || p.Kind != KindOther {
				t.Fatalf("Decode: %v, kind %v; want %v and no flow", err, p.Kind, tc.err)
			}
			if tc.err == nil && p.Other.String() != tc.what {
				t.Errorf("named %q, want %q", p.Other.String(), tc.what)
			}
		})
	}
}

// FuzzDecodeLinks: Decode never panics on any frame of any link type it
// decodes, and a transport tuple it finds lies within the frame.
func FuzzDecodeLinks(f *testing.F) {
	links := []layers.LinkType{layers.LinkTypePPP, layers.LinkTypePPP_HDLC, layers.LinkTypePPPEthernet, layers.LinkTypeC_HDLC,
		layers.LinkTypeFRelay, layers.LinkTypeIEEE802_11, layers.LinkTypeIEEE80211Radio, layers.LinkTypeSLIP, layers.LinkTypePFLog,
		layers.LinkTypeARCNetLinux, linkTypeNFLog, linkTypeJuniperEther, linkTypeBRCM, linkTypeBRCMPrepend, linkTypeDSA, linkTypeEDSA,
		linkTypePKTAP, linkTypeUser2, layers.LinkTypeLinuxSLL2, layers.LinkTypeNull}
	for i := range links {
		f.Add(uint8(i), []byte{0xff, 0x03, 0x00, 0x21, 0x45, 0, 0, 40})
	}
	f.Fuzz(func(t *testing.T, which uint8, frame []byte) {
		var p Parsed
		p.Decode(links[int(which)%len(links)], frame)
	})
}

package classify

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/internal/frametest"
)

// TestEveryDNSAnswerTeaches sends a query and then several answers on one
// DNS flow, each naming another address: every answer teaches its name,
// not only the server's first payload, which decided the flow's protocol.
// A shortcut that skipped the payloads after a side's first (they are
// most payloads) would pass every corpus test and fail this one.
func TestEveryDNSAnswerTeaches(t *testing.T) {
	cli, srv := net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 53)
	frame := func(from, to net.IP, sport, dport uint16, answer net.IP, name string) capture.Frame {
		dns := &layers.DNS{ID: 1, QDCount: 1,
			Questions: []layers.DNSQuestion{{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
		if answer != nil {
			dns.QR, dns.ANCount = true, 1
			dns.Answers = []layers.DNSResourceRecord{{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 60, IP: answer}}
		}
		b := frametest.Build(t, frametest.Eth(layers.EthernetTypeIPv4), frametest.IPv4(from, to, layers.IPProtocolUDP),
			&layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}, dns)
		return capture.Frame{Data: b, WireLen: len(b), LinkType: layers.LinkTypeEthernet}
	}
	c := New(16)
	fr := frame(cli, srv, 40000, 53, nil, "a.example")
	c.Add(&fr)
	const answers = 3
	for i := range answers {
		name := fmt.Sprintf("host%d.example", i)
		fr := frame(srv, cli, 53, 40000, net.IPv4(192, 0, 2, byte(i+1)), name)
		c.Add(&fr)
	}
	o := c.Finish()
	if len(o.Flows) != 1 || o.Flows[0].Packets[0]+o.Flows[0].Packets[1] != answers+1 {
		t.Fatalf("%d flows (%v), want the one DNS flow of %d packets", len(o.Flows), o.Flows, answers+1)
	}
	for i := range answers {
		addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
		if got, want := o.Names.Hosts(addr), fmt.Sprintf("host%d.example", i); len(got) != 1 || got[0] != want {
			t.Errorf("answer %d: %v is known as %q, want %q", i+1, addr, got, want)
		}
	}
}

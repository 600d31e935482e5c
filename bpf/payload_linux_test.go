//go:build linux && (amd64 || arm64)

package bpf

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// receivePayloads reads n payload copies, failing after a timeout, and
// checks that no more follow.
func receivePayloads(t *testing.T, c *Counter, n int) []Payload {
	t.Helper()
	var got []Payload
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case p := <-c.Payloads():
			got = append(got, p)
		case <-timeout:
			t.Fatalf("received %d payloads, want %d", len(got), n)
		}
	}
	select {
	case p := <-c.Payloads():
		t.Errorf("unexpected payload %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
	return got
}

func TestPayloadsDNSAndFirstPayloads(t *testing.T) {
	c := loadCounter(t, Options{Payloads: true})
	query, answer1, answer2 := "query: example.com?", "answer 1: 192.0.2.7", "answer 2: 192.0.2.8"
	hello, more, reply := "\x16\x03\x01 client hello", "client data", "\x16\x03\x03 server hello"
	c.run(t, udp4(t, cli4, srv4, 50000, 53, query))          // first payload of the client
	c.run(t, udp4(t, srv4, cli4, 53, 50000, answer1))        // first of the server, and DNS
	c.run(t, udp4(t, srv4, cli4, 53, 50000, answer2))        // DNS only
	c.run(t, udp4(t, cli4, srv4, 50000, 53, "second query")) // neither
	c.run(t, tcp4(t, true, 40000, 443, "S", ""))             // no payload
	c.run(t, tcp4(t, true, 40000, 443, "PA", hello))         // first of the client
	c.run(t, tcp4(t, true, 40000, 443, "PA", more))          // neither
	c.run(t, tcp4(t, false, 40000, 443, "PA", reply))        // first of the server
	got := receivePayloads(t, c, 5)
	want := []struct {
		data       string
		first, dns bool
		fromPort   uint16
	}{
		{query, true, false, 50000},
		{answer1, true, true, 53},
		{answer2, false, true, 53},
		{hello, true, false, 40000},
		{reply, true, false, 443},
	}
	for i, w := range want {
		p := got[i]
		if string(p.Data) != w.data || p.Len != len(w.data) || p.First != w.first || p.DNS != w.dns || p.Key.Port(p.Side) != w.fromPort {
			t.Errorf("payload %d: %q len %d first %v dns %v from port %d; want %q first %v dns %v from %d",
				i, p.Data, p.Len, p.First, p.DNS, p.Key.Port(p.Side), w.data, w.first, w.dns, w.fromPort)
		}
	}
	if got[3].Key.Proto != ipproto.TCP || got[0].Key.Proto != ipproto.UDP {
		t.Errorf("protocols %v %v", got[0].Key.Proto, got[3].Key.Proto)
	}
}

func TestPayloadsAreBounded(t *testing.T) {
	c := loadCounter(t, Options{Payloads: true})
	big := strings.Repeat("0123456789", 100)
	c.run(t, udp4(t, srv4, cli4, 53, 50000, big))
	p := receivePayloads(t, c, 1)[0]
	if len(p.Data) != PayloadMax || p.Len != len(big) || !bytes.Equal(p.Data, []byte(big[:PayloadMax])) {
		t.Errorf("copied %d bytes, declared %d: want the first %d of %d", len(p.Data), p.Len, PayloadMax, len(big))
	}
	// IPv6 with extension headers: the payload starts after them.
	c.run(t, build(t, eth(layers.EthernetTypeIPv6), ip6(srv6, cli6, layers.IPProtocolIPv6HopByHop),
		hopByHop(layers.IPProtocolUDP), &layers.UDP{SrcPort: 5353, DstPort: 5353}, gopacket.Payload("mdns answer")))
	if p := receivePayloads(t, c, 1)[0]; string(p.Data) != "mdns answer" || !p.DNS {
		t.Errorf("ipv6 payload %q dns %v", p.Data, p.DNS)
	}
}

func TestPayloadsOffByDefault(t *testing.T) {
	c := loadCounter(t, Options{})
	c.run(t, udp4(t, srv4, cli4, 53, 50000, "answer"))
	c.run(t, tcp4(t, true, 40000, 443, "PA", "hello"))
	receivePayloads(t, c, 0)
}

func TestPayloadDropsAreCounted(t *testing.T) {
	c := loadCounter(t, Options{Payloads: true, PayloadRingBytes: 4096})
	const n = 2000
	for i := range n {
		c.run(t, udp4(t, srv4, cli4, 53, uint16(10000+i%100), "answer"))
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.PayloadDrops == 0 {
		t.Fatal("no payload drops with a one-page ring and nobody reading")
	}
	delivered := uint64(0)
	for done := false; !done; {
		select {
		case <-c.Payloads():
			delivered++
		case <-time.After(200 * time.Millisecond):
			done = true
		}
	}
	if delivered+st.PayloadDrops != n {
		t.Errorf("delivered %d + dropped %d != %d DNS answers", delivered, st.PayloadDrops, n)
	}
}

// TestPayloadsOfControlFlows: every payload of FTP control (TCP 21 either
// way), the portmapper (TCP/UDP 111 either way) and the endpoint mapper's
// responses (from TCP 135) is copied, not only the first of each side, so
// user space learns the related flows they announce as analyse does.
func TestPayloadsOfControlFlows(t *testing.T) {
	c := loadCounter(t, Options{Payloads: true})
	c.run(t, tcp4(t, false, 40000, 21, "PA", "220 FTP ready\r\n"))                                  // first, control
	c.run(t, tcp4(t, true, 40000, 21, "PA", "USER ftp\r\n"))                                        // first, control
	c.run(t, tcp4(t, false, 40000, 21, "PA", "227 Entering Passive Mode (10,0,0,5,195,80).\r\n"))   // control
	c.run(t, tcp4(t, true, 40000, 21, "PA", "PORT 10,0,0,1,156,64\r\n"))                            // control
	c.run(t, udp4(t, cli4, srv4, 700, 111, "getport call"))                                         // first, control
	c.run(t, udp4(t, srv4, cli4, 111, 700, "getport reply"))                                        // first, control
	c.run(t, udp4(t, srv4, cli4, 111, 700, "getport reply 2"))                                      // control
	c.run(t, tcp4(t, true, 40001, 135, "PA", "epm request"))                                        // first only
	c.run(t, tcp4(t, true, 40001, 135, "PA", "epm request 2"))                                      // neither
	c.run(t, tcp4(t, false, 40001, 135, "PA", "epm response"))                                      // first, control
	c.run(t, tcp4(t, false, 40001, 135, "PA", "epm response 2"))                                    // control
	c.run(t, tcp4(t, false, 40002, 2121, "PA", "227 Entering Passive Mode (10,0,0,5,195,81).\r\n")) // first only
	c.run(t, tcp4(t, false, 40002, 2121, "PA", "227 Entering Passive Mode (10,0,0,5,195,82).\r\n")) // neither: FTP on 2121 is user space's to recognise
	got := receivePayloads(t, c, 11)
	want := []struct {
		data           string
		first, control bool
	}{
		{"220 FTP ready\r\n", true, true},
		{"USER ftp\r\n", true, true},
		{"227 Entering Passive Mode (10,0,0,5,195,80).\r\n", false, true},
		{"PORT 10,0,0,1,156,64\r\n", false, true},
		{"getport call", true, true},
		{"getport reply", true, true},
		{"getport reply 2", false, true},
		{"epm request", true, false},
		{"epm response", true, true},
		{"epm response 2", false, true},
		{"227 Entering Passive Mode (10,0,0,5,195,81).\r\n", true, false},
	}
	for i, w := range want {
		if p := got[i]; string(p.Data) != w.data || p.First != w.first || p.Control != w.control {
			t.Errorf("payload %d: %q first %v control %v; want %q first %v control %v", i, p.Data, p.First, p.Control, w.data, w.first, w.control)
		}
	}
}

//go:build linux

package netnslab

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/wirecheck/wirecheck/bpf/testenv"
)

// SendUDP sends n datagrams from a socket in namespace ns bound to from,
// to to; the same ports each time, so that they form one flow.
func SendUDP(t testing.TB, ns string, from, to netip.AddrPort, n int) {
	t.Helper()
	var c *net.UDPConn
	if err := testenv.InNetns(ns, func() (err error) {
		c, err = net.DialUDP("udp", net.UDPAddrFromAddrPort(from), net.UDPAddrFromAddrPort(to))
		return err
	}); err != nil {
		t.Fatalf("udp socket: %v", err)
	}
	defer c.Close()
	for i := range n {
		msg := []byte("netnslab " + strconv.Itoa(i))
		if _, err := c.Write(msg); err != nil {
			// An ICMP port unreachable from the peer makes the next
			// write fail with ECONNREFUSED; the datagram was not sent.
			if _, err := c.Write(msg); err != nil {
				t.Fatalf("send: %v", err)
			}
		}
	}
}

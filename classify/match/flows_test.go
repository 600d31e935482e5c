package match

import (
	"net/netip"
	"slices"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/profile"
)

// testFlow describes a flow the way a person reads a capture: who opened it,
// to which server and port, and the ServerHello when there was one.
type testFlow struct {
	proto          ipproto.Proto
	client, server netip.Addr
	clientPort     uint16
	serverPort     uint16
	tlsVersion     uint16
	tlsCipher      uint16
	tlsOffer       uint8 // flow.Flow.TLSOffer: what the ClientHello offered
}

// flow builds the counters a classifier would have kept for a flow that
// completed normally: a TCP handshake (or echo request) from the client,
// three packets each way, the client first.
func (tf testFlow) flow() *flow.Flow {
	cport, sport := tf.clientPort, tf.serverPort
	if tf.proto.IsICMP() {
		cport, sport = 7, 7 // both ports of an echo flow hold its identifier
	}
	if cport == 0 {
		cport = 40000
	}
	f := &flow.Flow{Key: flow.MakeKey(tf.proto, netip.AddrPortFrom(tf.client, cport), netip.AddrPortFrom(tf.server, sport))}
	c := flow.SideB
	if f.Key.Addr(flow.SideA) == tf.client {
		c = flow.SideA
	}
	s := c.Other()
	f.Packets = [2]uint64{3, 3}
	f.Bytes = [2]uint64{300, 300}
	f.First, f.Last, f.FirstSide = 1, 2, c
	switch {
	case tf.proto == ipproto.TCP:
		const syn, ack = 0x02, 0x10
		f.SYNs[c] = 1
		f.Flags[c], f.Flags[s] = syn|ack, syn|ack
	case tf.proto.IsICMP():
		f.SYNs[c] = 3
	}
	f.TLSVersion, f.TLSCipher, f.TLSOffer = tf.tlsVersion, tf.tlsCipher, tf.tlsOffer
	return f
}

// matched reports whether rule r is among the rules that matched.
func matched(fr FlowResult, r *profile.Rule) bool {
	return slices.ContainsFunc(fr.Rules(), func(m *profile.Rule) bool { return m.ID() == r.ID() })
}

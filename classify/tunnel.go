package classify

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// Tunnels says which tunnels' packets (VXLAN, GENEVE, GRE with ERSPAN
// types I to III, IP-in-IP: packet.Tunnel) are judged as the packets they
// carry. The zero value is TunnelsAuto.
type Tunnels uint8

const (
	// TunnelsAuto decapsulates a tunnel packet unless one of its outer
	// addresses is the host's (Limits.Host): on a mirror target (AWS VPC
	// Traffic Mirroring, a Gateway Load Balancer appliance, an ERSPAN
	// destination) the host's flows are inside the tunnel, while a host
	// that is itself a tunnel endpoint sends and receives the outer
	// packets, which are its own traffic. With no host given, every
	// tunnel is decapsulated.
	TunnelsAuto Tunnels = iota
	// TunnelsOff judges every packet as it is on the wire.
	TunnelsOff
)

// ParseTunnels parses a --tunnels value: "auto" or "off".
func ParseTunnels(s string) (Tunnels, error) {
	switch s {
	case "auto":
		return TunnelsAuto, nil
	case "off":
		return TunnelsOff, nil
	}
	return 0, fmt.Errorf("%q: want auto or off", s)
}

// TunnelCount is the packets one tunnel carried that were judged as the
// packets inside it.
type TunnelCount struct {
	// Name says the tunnel's kind and outer ends, e.g. "vxlan 10.0.0.9 ->
	// 10.0.0.10" (the first packet's direction).
	Name    string
	Packets uint64
}

// tunnels is the Classifier's record of the tunnels it decapsulated.
type tunnels struct {
	inside bool // the packet being added came out of a tunnel
	byKey  map[tunnelKey]*TunnelCount
	flows  map[flow.Key]string // the tunnel a flow's first decapsulated packet came from
}

type tunnelKey struct {
	kind packet.Tunnel
	a, b [16]byte // the outer addresses, lower first
}

// decapsulate adds the packet inside tunnel packet p (frame fr) in place
// of p, when Limits.Tunnels says to, and returns the index of its flow (or
// -1). ok is false when p carries no tunnel to decapsulate: the caller
// counts p itself.
func (c *Classifier) decapsulate(p *packet.Parsed, fr *capture.Frame) (i int, ok bool) {
	kind, link, inner := p.Encapsulated()
	if kind == packet.TunnelNone || len(inner) == 0 {
		return -1, false
	}
	outer := p.Tuple
	if !c.tunnelHere(&outer) {
		return -1, false
	}
	t := &c.tun
	k := tunnelKey{kind: kind, a: outer.Src, b: outer.Dst}
	if string(k.b[:]) < string(k.a[:]) {
		k.a, k.b = k.b, k.a
	}
	tc := t.byKey[k]
	if tc == nil {
		if t.byKey == nil {
			t.byKey, t.flows = make(map[tunnelKey]*TunnelCount), make(map[flow.Key]string)
		}
		tc = &TunnelCount{Name: fmt.Sprintf("%s %s -> %s", kind, outer.SrcAddr(), outer.DstAddr())}
		t.byKey[k] = tc
	}
	tc.Packets++
	// The inner packet's length on the wire is what the outer headers
	// declare, less the tunnel's own header: not the frame's length less
	// the bytes before the inner packet, which would take the link's
	// padding after the outer packet for part of the inner one.
	ifr := capture.Frame{Data: inner, WireLen: max(p.PayloadLen-(len(p.Payload)-len(inner)), len(inner)), Time: fr.Time, LinkType: link}
	err := c.inner.Decode(link, inner)
	t.inside = true
	i = c.addParsed(&c.inner, err, &ifr)
	t.inside = false
	// The totals count every frame as it is on the wire: add the outer
	// headers and padding that the inner packet's count left out.
	c.obs.Bytes += uint64(fr.WireLen - ifr.WireLen)
	if i >= 0 {
		fk := c.table.Flow(i).Key
		if _, seen := t.flows[fk]; !seen {
			t.flows[fk] = tc.Name
		}
	}
	return i, true
}

// tunnelHere reports whether a tunnel packet with the outer tuple t is
// decapsulated (Tunnels).
func (c *Classifier) tunnelHere(t *packet.Tuple) bool {
	if c.lim.Tunnels == TunnelsOff {
		return false
	}
	src, dst := t.SrcAddr(), t.DstAddr()
	for _, h := range c.lim.Host {
		if h.Contains(src) || h.Contains(dst) {
			return false
		}
	}
	return true
}

// snapshot returns the tunnels, most packets first, and the tunnel of each
// flow that came out of one.
func (t *tunnels) snapshot() ([]TunnelCount, map[flow.Key]string) {
	if len(t.byKey) == 0 {
		return nil, nil
	}
	out := make([]TunnelCount, 0, len(t.byKey))
	for _, tc := range t.byKey {
		out = append(out, *tc)
	}
	slices.SortFunc(out, func(a, b TunnelCount) int {
		return cmp.Or(cmp.Compare(b.Packets, a.Packets), cmp.Compare(a.Name, b.Name))
	})
	flows := make(map[flow.Key]string, len(t.flows))
	for k, v := range t.flows {
		flows[k] = v
	}
	return out, flows
}

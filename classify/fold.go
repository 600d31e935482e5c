package classify

import (
	"cmp"
	"hash/maphash"
	"net/netip"
	"slices"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/classify/service"
)

// Limits bound what a Classifier keeps. The zero value keeps every flow.
type Limits struct {
	// MaxFlows caps the flow table. Once it holds MaxFlows flows, packets
	// of flows not in it are folded: counted per service (protocol, server
	// port, direction) instead of one by one. 0 means no cap.
	MaxFlows int
	// Host lists the capturing host's addresses, which give folded
	// services their direction. When it is empty, the host is inferred
	// (flow.InferHost, as the matcher infers it) once, from the flows kept,
	// when the first flow is folded.
	Host []netip.Prefix
	// Tunnels says which tunnels' packets are judged as the packets inside
	// them (see Tunnels).
	Tunnels Tunnels

	foldKeys int // tests: the bound on folded flows counted one by one
}

// FoldDirection is the direction of a folded service relative to the host.
type FoldDirection uint8

const (
	FoldUnknown  FoldDirection = iota // no host was given or could be inferred
	FoldInbound                       // the host is the server
	FoldOutbound                      // the host is the client
	FoldLocal                         // the host is both ends
	FoldTransit                       // the host is neither end
)

func (d FoldDirection) String() string {
	return [...]string{"unknown", "inbound", "outbound", "local", "transit"}[d]
}

// FoldKey identifies a folded service. ServerPort is 0 for ICMP echo.
type FoldKey struct {
	Proto      ipproto.Proto
	ServerPort uint16
	Direction  FoldDirection
}

// FoldedService counts the folded flows of one service.
type FoldedService struct {
	FoldKey
	// Flows counts distinct flows (5-tuples) while Folded.Exact holds.
	Flows          uint64
	Packets, Bytes uint64
}

// Folded accounts for the flows beyond Limits.MaxFlows. Their packets and
// bytes are counted exactly; the number of distinct flows is exact up to
// foldKeysMin flows (or foldKeysPerFlow per kept flow, when more) and a
// lower bound after it (Exact).
type Folded struct {
	Flows    uint64
	Exact    bool
	Host     []netip.Prefix // the host that gave directions; nil when unknown
	Services []FoldedService
}

// The set that tells a folded flow's first packet from its later ones, and
// remembers the service its first packet decided, holds a 64-bit hash and
// a pointer per flow (about 20 bytes with the map's overhead, against some
// 150 for a kept flow): up to foldKeysMin flows, or foldKeysPerFlow per kept
// flow when that is more. A million folded flows cost about 20 MB and are
// counted exactly; beyond the bound the count is a lower bound.
const (
	foldKeysPerFlow = 64
	foldKeysMin     = 1 << 20
)

type folder struct {
	started  bool
	host     []netip.Prefix
	seed     maphash.Seed
	keys     map[uint64]*FoldedService // by flow key hash: the service its first packet decided
	maxKeys  int
	flows    uint64
	exact    bool
	services map[FoldKey]*FoldedService
}

// SetLimits sets the bounds; call it before the first Add.
func (c *Classifier) SetLimits(l Limits) {
	c.lim = l
	c.table.SetMax(l.MaxFlows)
}

// ReserveFlows reserves room for as many flows as the limit allows, up to
// maxReserve (see flow.Table.Reserve), for reading a file once; beyond
// that, and without a limit, the table grows as it needs.
func (c *Classifier) ReserveFlows() {
	if c.lim.MaxFlows > 0 {
		c.table.Reserve(min(c.lim.MaxFlows, maxReserve))
	}
}

// maxReserve bounds the reservation (152 MB of address space): a huge
// --max-flows must not ask the kernel for more than it will map.
const maxReserve = 1 << 20

// fold counts a packet of a flow that the full table cannot take.
func (c *Classifier) fold(p *packet.Parsed, k flow.Key, wireLen int) {
	f := &c.folder
	if !f.started {
		f.started, f.exact = true, true
		f.host = c.lim.Host
		if len(f.host) == 0 {
			for _, a := range flow.InferHost(c.table.Flows()) {
				f.host = append(f.host, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		f.seed = maphash.MakeSeed()
		f.maxKeys = max(foldKeysPerFlow*c.lim.MaxFlows, foldKeysMin)
		if c.lim.foldKeys > 0 {
			f.maxKeys = c.lim.foldKeys
		}
		f.keys = make(map[uint64]*FoldedService)
		f.services = make(map[FoldKey]*FoldedService)
	}
	t := &p.Tuple
	h := maphash.Comparable(f.seed, k)
	s := f.keys[h]
	if s == nil {
		s = f.service(p)
		if len(f.keys) < f.maxKeys {
			f.keys[h] = s
			s.Flows++
			f.flows++
		} else {
			f.exact = false
		}
	}
	s.Packets++
	s.Bytes += uint64(wireLen)
	// Names still come from DNS answers; nothing else is inspected.
	c.in.DNS(t, p.Payload)
}

// service returns the folded service of the flow whose first folded packet
// p is, made when new.
func (f *folder) service(p *packet.Parsed) *FoldedService {
	t := &p.Tuple
	client, server, port := t.Src, t.Dst, t.DstPort
	if !serverIsDst(p) {
		client, server, port = t.Dst, t.Src, t.SrcPort
	}
	if t.Proto.IsICMP() {
		port = 0
	}
	fk := FoldKey{Proto: t.Proto, ServerPort: port, Direction: f.direction(client, server)}
	s := f.services[fk]
	if s == nil {
		s = &FoldedService{FoldKey: fk}
		f.services[fk] = s
	}
	return s
}

// serverIsDst tells, from the first packet of a folded flow, whether its
// destination is the server (its later packets are counted with it): the
// SYN's destination, the SYN-ACK's source, the echo request's target, else
// the end whose port is a well-known service port, else the lower port.
func serverIsDst(p *packet.Parsed) bool {
	t := &p.Tuple
	if t.Proto.IsICMP() {
		return packet.IsEchoRequest(t.Proto, p.ICMPType)
	}
	if t.Proto == ipproto.TCP && p.TCPFlags&packet.SYN != 0 {
		return p.TCPFlags&packet.ACK == 0
	}
	sw, dw := service.WellKnown(t.Proto, t.SrcPort), service.WellKnown(t.Proto, t.DstPort)
	if sw != dw {
		return dw
	}
	return t.DstPort <= t.SrcPort
}

func (f *folder) direction(client, server [16]byte) FoldDirection {
	if len(f.host) == 0 {
		return FoldUnknown
	}
	c, s := f.isHost(client), f.isHost(server)
	switch {
	case c && s:
		return FoldLocal
	case s:
		return FoldInbound
	case c:
		return FoldOutbound
	}
	return FoldTransit
}

func (f *folder) isHost(a [16]byte) bool {
	addr := netip.AddrFrom16(a).Unmap()
	for _, p := range f.host {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// snapshot returns the folded services, most packets first.
func (f *folder) snapshot() Folded {
	if !f.started {
		return Folded{Exact: true}
	}
	out := Folded{Flows: f.flows, Exact: f.exact, Host: slices.Clone(f.host)}
	for _, s := range f.services {
		out.Services = append(out.Services, *s)
	}
	slices.SortFunc(out.Services, func(a, b FoldedService) int {
		return cmp.Or(cmp.Compare(b.Packets, a.Packets), cmp.Compare(a.Proto, b.Proto),
			cmp.Compare(a.ServerPort, b.ServerPort), cmp.Compare(a.Direction, b.Direction))
	})
	return out
}

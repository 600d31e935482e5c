package classify

import (
	"net/netip"
	"slices"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/names"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/classify/related"
	"github.com/wirecheck/wirecheck/classify/service"
)

// Inspector learns from payloads: the application protocol of the first
// payload each side of a flow sends, a TLS server's version and cipher,
// and names for addresses from DNS answers and TLS SNI. Every engine feeds
// it the payloads it has, so files and live traffic learn the same things.
// It is not safe for concurrent use.
type Inspector struct {
	names *names.Table
	// sni lists the server names clients asked for, once each, and sniIDs
	// finds a name's handle (flow.Flow.SNI): 1 + its index in sni.
	sni    []string
	sniIDs map[string]uint32
	dns    service.DNSReader // reused: DNS answers are parsed without allocating

	// learner finds the data connections control flows announce (FTP
	// PASV/PORT, portmapper replies, endpoint mapper responses); ann
	// holds them, at most maxAnnouncements, and annDropped counts the
	// rest.
	learner    related.Learner
	ann        []related.Announcement
	annDropped uint64
}

// maxAnnouncements bounds the announcements an Inspector keeps (a live
// engine runs for weeks; each is 64 bytes).
const maxAnnouncements = 1 << 16

// maxServerNames bounds the distinct server names an Inspector keeps (a
// live engine runs for weeks); flows asking for a name past it get none,
// counted in the names table's Dropped.
const maxServerNames = 1 << 16

// NewInspector returns an empty Inspector.
func NewInspector() *Inspector {
	return &Inspector{names: names.New(), sniIDs: make(map[string]uint32)}
}

// dnsPort reports the ports whose answers teach names: DNS, mDNS, LLMNR.
func dnsPort(port uint16) bool { return port == 53 || port == 5353 || port == 5355 }

// DNS learns names from payload when t comes from a DNS port; the reader
// is reused, so an answer costs no allocation beyond the names kept.
func (in *Inspector) DNS(t *packet.Tuple, payload []byte) {
	if t.Proto.HasPorts() && dnsPort(t.SrcPort) && len(payload) > 0 {
		_ = in.dns.Answers(payload, t.Proto == ipproto.TCP, in.learnDNS)
	}
}

// Payload inspects a payload that side of f sent in a packet with tuple t.
// Only the first payload of each side decides the flow's protocol; every
// DNS answer teaches names.
func (in *Inspector) Payload(f *flow.Flow, side flow.Side, t *packet.Tuple, payload []byte) {
	in.DNS(t, payload)
	if f.App[side] != uint8(service.AppNone) {
		return
	}
	app := service.Detect(t.Proto, t.SrcPort, t.DstPort, payload)
	f.App[side] = uint8(app)
	f.Says[side] = uint8(service.Says(app, t.Proto, t.SrcPort, t.DstPort, payload))
	if app != service.AppTLS {
		return
	}
	if offers, ok := service.ClientHelloForwardSecrecy(payload); ok {
		f.TLSOffer = flow.TLSHelloSeen
		if offers {
			f.TLSOffer |= flow.TLSOffersForwardSecrecy
		}
		if sni, ok := service.ParseClientHello(payload); ok {
			f.SNI = in.serverName(sni)
			in.names.Add(t.DstAddr(), sni, names.FromSNI)
		}
	} else if v, cs, ok := service.ParseServerHello(payload); ok {
		f.TLSVersion, f.TLSCipher = v, cs
	}
}

// Announce learns the data connections a payload of a control flow
// announces (related.Control says which flows those are); other payloads
// cost a few comparisons. side of f sent payload in a packet with tuple t
// at time now (Unix ns).
func (in *Inspector) Announce(f *flow.Flow, side flow.Side, t *packet.Tuple, now int64, payload []byte) {
	if related.Control(t.Proto, t.SrcPort, t.DstPort, f.App, uint8(service.AppFTP)) {
		in.announce(f, side, t, now, payload)
	}
}

func (in *Inspector) announce(f *flow.Flow, side flow.Side, t *packet.Tuple, now int64, payload []byte) {
	ftp := t.Proto == ipproto.TCP && (t.SrcPort == 21 || t.DstPort == 21 ||
		f.App[0] == uint8(service.AppFTP) || f.App[1] == uint8(service.AppFTP))
	n := len(in.ann)
	in.ann = in.learner.Learn(in.ann, &f.Key, side, now, ftp, payload)
	if len(in.ann) > maxAnnouncements {
		in.annDropped += uint64(len(in.ann) - max(n, maxAnnouncements))
		in.ann = in.ann[:max(n, maxAnnouncements)]
	}
}

// serverName returns the handle of name, adding it to the list when new
// (0 when the list is full).
func (in *Inspector) serverName(name string) uint32 {
	if id, ok := in.sniIDs[name]; ok {
		return id
	}
	if len(in.sni) >= maxServerNames {
		in.names.Dropped++
		return 0
	}
	in.sni = append(in.sni, name)
	id := uint32(len(in.sni))
	in.sniIDs[name] = id
	return id
}

// ServerName returns the server name of handle id (flow.Flow.SNI), or "".
func (in *Inspector) ServerName(id uint32) string {
	return flow.ServerName(in.sni, id)
}

func (in *Inspector) learnDNS(name string, addr netip.Addr) {
	in.names.Add(addr, name, names.FromDNS)
}

// Snapshot returns copies of what was learned, for an Observation that must
// not change under its reader: the server names (Observation.ServerNames)
// and the names of addresses.
func (in *Inspector) Snapshot() ([]string, *names.Table) {
	t := names.New()
	t.Merge(in.names)
	return slices.Clone(in.sni), t
}

// Related returns a copy of the announcements learned so far, in the order
// they were sent, and how many were not kept (past maxAnnouncements).
func (in *Inspector) Related() ([]related.Announcement, uint64) {
	return slices.Clone(in.ann), in.annDropped
}

// AddRelated puts what Related returned into o: the announcements, and a
// loss for those not kept, which can only make related flows unexpected.
func AddRelated(o *Observation, ann []related.Announcement, dropped uint64) {
	o.Related = ann
	if dropped > 0 {
		o.Losses = append(o.Losses, Loss{What: "announcements of related flows not kept (their flows may be reported unexpected)", Count: dropped, Degraded: true})
	}
}

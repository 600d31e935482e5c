package classify

import (
	"cmp"
	"slices"

	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/names"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/classify/related"
	"github.com/wirecheck/wirecheck/classify/service"
)

// Classifier builds an Observation from frames.
type Classifier struct {
	p      packet.Parsed // the frame being added, on the rare path
	inner  packet.Parsed // the packet inside a tunnel
	tun    tunnels
	d      decoded
	table  *flow.Table
	in     *Inspector
	other  map[packet.Other]*OtherCount
	links  map[layers.LinkType]uint64 // Malformed.UnknownLink by link type
	obs    Observation
	inputs []Input
	lim    Limits
	folder folder
}

// New returns a Classifier sized for about flowHint flows.
func New(flowHint int) *Classifier {
	return &Classifier{
		table: flow.NewTable(flowHint),
		in:    NewInspector(),
		other: make(map[packet.Other]*OtherCount),
	}
}

// Add classifies one frame.
func (c *Classifier) Add(fr *capture.Frame) {
	err := c.p.CheckLength(c.p.Decode(fr.LinkType, fr.Data), len(fr.Data), fr.WireLen)
	if c.d.set(c.table, &c.p, err, fr) {
		c.addTransport(&c.d, fr)
	} else {
		c.addParsed(&c.p, err, fr)
	}
}

// decoded is a frame reduced to what add needs in the common case, a packet
// of KindTransport that is no first fragment: the flow update (its key, side
// and hash included) and the payload to inspect. Read's reading goroutine
// makes it, so that what crosses to the counting goroutine is a sixth of a
// packet.Parsed and the key and hash are computed on the reading side. Other
// frames are rare and are decoded again by the counting side (addParsed).
type decoded struct {
	u       flow.Packet // u.Key.Proto is 0 (the zero Key: no flow) for other frames
	payload []byte
}

// set makes d of frame fr, decoded into p with error err. It reports whether
// the frame takes the common path.
func (d *decoded) set(tab *flow.Table, p *packet.Parsed, err error, fr *capture.Frame) bool {
	if err != nil || p.Kind != packet.KindTransport || p.FirstFragment || p.MaybeTunnel() {
		d.u.Key.Proto = 0
		return false
	}
	d.u.Set(tab, p, fr.Time, fr.WireLen)
	d.payload = p.Payload
	return true
}

// count counts a frame in the totals.
func (c *Classifier) count(time int64, wireLen int) {
	o := &c.obs
	if o.Packets == 0 || time < o.First {
		o.First = time
	}
	if o.Packets == 0 || time > o.Last {
		o.Last = time
	}
	o.Packets++
	o.Bytes += uint64(wireLen)
}

// addTransport counts frame fr, a packet of KindTransport made into d. It
// returns the index of its flow, or -1 when it was folded.
func (c *Classifier) addTransport(d *decoded, fr *capture.Frame) int {
	u := &d.u
	c.count(u.Time, int(u.WireLen))
	i, _ := c.table.Add(u)
	if i < 0 {
		// The table is full. Folding needs the whole packet (Read's
		// counting side does not have it), which costs a decode more.
		c.p.Decode(fr.LinkType, fr.Data)
		c.fold(&c.p, u.Key, int(u.WireLen))
		return -1
	}
	if len(d.payload) > 0 {
		t := u.Key.From(u.Side)
		f := c.table.Flow(i)
		c.in.Payload(f, u.Side, &t, d.payload)
		// Checked here, inlined, so that the payloads of other flows
		// (nearly all) cost no call.
		if related.Control(t.Proto, t.SrcPort, t.DstPort, f.App, uint8(service.AppFTP)) {
			c.in.Announce(f, u.Side, &t, u.Time, d.payload)
		}
	}
	return i
}

// addParsed counts frame fr, decoded into p with error err, when set did not
// take it. It returns the index of the frame's flow, or -1 when it is in
// none.
func (c *Classifier) addParsed(p *packet.Parsed, err error, fr *capture.Frame) int {
	if err == nil && !c.tun.inside && c.lim.Tunnels != TunnelsOff && p.MaybeTunnel() {
		if i, ok := c.decapsulate(p, fr); ok {
			return i
		}
	}
	if err == nil && p.Kind == packet.KindTransport {
		// A first fragment (or a packet a tunnel might have carried):
		// counted as any other packet of its flow, then a first
		// fragment's later fragments are tied to the flow.
		d := decoded{payload: p.Payload}
		d.u.Set(c.table, p, fr.Time, fr.WireLen)
		i := c.addTransport(&d, fr)
		if i >= 0 && p.FirstFragment {
			c.table.FirstFragment(p, i, d.u.Side)
		}
		return i
	}
	c.count(fr.Time, fr.WireLen)
	o := &c.obs
	if err != nil {
		switch err {
		case packet.ErrTruncated:
			o.Malformed.Truncated++
		case packet.ErrLinkType:
			o.Malformed.UnknownLink++
			if c.links == nil {
				c.links = make(map[layers.LinkType]uint64)
			}
			c.links[fr.LinkType]++
		default:
			o.Malformed.Malformed++
		}
		return -1
	}
	switch p.Kind {
	case packet.KindFragment:
		if i := c.table.Fragment(p, fr.Time, fr.WireLen); i >= 0 {
			return i
		}
	case packet.KindICMPError:
		// A full table takes no new flow from an error's quote either.
		c.table.ICMPError(p, fr.Time)
		// The error itself is not part of the flow's counts; it is
		// summarised below with other ICMP.
	}
	oc := c.other[p.Other]
	if oc == nil {
		oc = &OtherCount{Kind: p.Other}
		c.other[p.Other] = oc
	}
	oc.Packets++
	oc.Bytes += uint64(fr.WireLen)
	return -1
}

// AddInput records a source that was read, for the report.
func (c *Classifier) AddInput(in Input) { c.inputs = append(c.inputs, in) }

// Observation returns what was classified so far. It shares nothing with
// the Classifier, which can go on adding frames.
func (c *Classifier) Observation() *Observation {
	sni, nt := c.in.Snapshot()
	o := c.observation(slices.Clone(c.table.Flows()), sni, nt)
	ann, dropped := c.in.Related()
	AddRelated(o, ann, dropped)
	return o
}

// observation builds the Observation around flows and what was learned.
func (c *Classifier) observation(flows []flow.Flow, sni []string, nt *names.Table) *Observation {
	o := c.obs
	o.Flows, o.ServerNames, o.Names = flows, sni, nt
	o.OrphanFragments = c.table.OrphanFragments
	o.Inputs = slices.Clone(c.inputs)
	o.Folded = c.folder.snapshot()
	o.Tunnels, o.Tunneled = c.tun.snapshot()
	o.Malformed.Links = nil
	for t, n := range c.links {
		o.Malformed.Links = append(o.Malformed.Links, LinkCount{t, n})
	}
	slices.SortFunc(o.Malformed.Links, func(a, b LinkCount) int { return cmp.Compare(a.LinkType, b.LinkType) })
	o.Other = make([]OtherCount, 0, len(c.other))
	for _, oc := range c.other {
		o.Other = append(o.Other, *oc)
	}
	slices.SortFunc(o.Other, func(a, b OtherCount) int {
		if c := cmp.Compare(b.Packets, a.Packets); c != 0 {
			return c
		}
		return compareOther(a.Kind, b.Kind)
	})
	return &o
}

func compareOther(a, b packet.Other) int {
	return cmp.Or(
		cmp.Compare(a.LinkType, b.LinkType),
		cmp.Compare(a.EtherType, b.EtherType),
		cmp.Compare(a.IPProto, b.IPProto),
		cmp.Compare(a.ICMPType, b.ICMPType),
		cmp.Compare(a.LinkProto, b.LinkProto),
	)
}

// Related returns a copy of the announcements of related flows learned so
// far (Observation.Related).
func (c *Classifier) Related() []related.Announcement {
	ann, _ := c.in.Related()
	return ann
}

// FlowsSince returns copies of the flows created after the first n, in the
// order they appeared: a live engine's way to hand out new flows.
func (c *Classifier) FlowsSince(n int) []flow.Flow {
	all := c.table.Flows()
	if n >= len(all) {
		return nil
	}
	return slices.Clone(all[n:])
}

package classify

import (
	"cmp"
	"slices"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// Classifier builds an Observation from frames.
type Classifier struct {
	d      decoded
	table  *flow.Table
	in     *Inspector
	other  map[packet.Other]*OtherCount
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
	c.d.decode(c.table, fr, fr.Data)
	c.add(&c.d)
}

// decode fills d from frame fr whose bytes are data (fr.Data, or Read's
// copy of it): the one place that turns a frame into what add needs.
func (d *decoded) decode(tab *flow.Table, fr *capture.Frame, data []byte) {
	d.err = d.p.Decode(fr.LinkType, data)
	if d.err == nil && d.p.Kind == packet.KindTransport {
		d.key, d.side = flow.KeyOf(d.p.Tuple)
		d.hash = tab.Hash(&d.key)
	}
	d.time, d.wireLen = fr.Time, fr.WireLen
}

// decoded is a frame as Add needs it: decoded, and for KindTransport with
// its flow key and hash, which a reading goroutine can compute (Read).
type decoded struct {
	p       packet.Parsed
	err     error
	key     flow.Key
	side    flow.Side
	hash    uint64
	time    int64
	wireLen int
}

func (c *Classifier) add(d *decoded) {
	o := &c.obs
	if o.Packets == 0 || d.time < o.First {
		o.First = d.time
	}
	if o.Packets == 0 || d.time > o.Last {
		o.Last = d.time
	}
	o.Packets++
	o.Bytes += uint64(d.wireLen)

	p := &d.p
	if err := d.err; err != nil {
		switch err {
		case packet.ErrTruncated:
			o.Malformed.Truncated++
		case packet.ErrLinkType:
			o.Malformed.UnknownLink++
		default:
			o.Malformed.Malformed++
		}
		return
	}
	switch p.Kind {
	case packet.KindTransport:
		if c.full(d.key) {
			c.fold(p, d.key, d.wireLen)
			return
		}
		i, _ := c.table.PacketKeyed(p, d.key, d.side, d.hash, d.time, d.wireLen)
		if len(p.Payload) > 0 {
			c.in.Payload(c.table.Flow(i), d.side, &p.Tuple, p.Payload)
		}
		return
	case packet.KindFragment:
		if c.table.Fragment(p, d.time, d.wireLen) >= 0 {
			return
		}
	case packet.KindICMPError:
		// A full table takes no new flow from an error's quote either.
		if k, _ := flow.KeyOf(p.Quoted); !c.full(k) {
			c.table.ICMPError(p, d.time)
		}
		// The error itself is not part of the flow's counts; it is
		// summarised below with other ICMP.
	}
	oc := c.other[p.Other]
	if oc == nil {
		oc = &OtherCount{Kind: p.Other}
		c.other[p.Other] = oc
	}
	oc.Packets++
	oc.Bytes += uint64(d.wireLen)
}

// AddInput records a source that was read, for the report.
func (c *Classifier) AddInput(in Input) { c.inputs = append(c.inputs, in) }

// Observation returns what was classified so far. It shares nothing with
// the Classifier, which can go on adding frames.
func (c *Classifier) Observation() *Observation {
	return c.observation(slices.Clone(c.table.Flows()))
}

// observation builds the Observation around flows.
func (c *Classifier) observation(flows []flow.Flow) *Observation {
	o := c.obs
	o.Flows = flows
	o.SNI, o.Names = c.in.Snapshot()
	o.OrphanFragments = c.table.OrphanFragments
	o.Inputs = slices.Clone(c.inputs)
	o.Folded = c.folder.snapshot()
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
	)
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

package classify

import (
	"cmp"
	"io"
	"slices"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// Classifier builds an Observation from frames.
type Classifier struct {
	p      packet.Parsed
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
	o := &c.obs
	if o.Packets == 0 || fr.Time < o.First {
		o.First = fr.Time
	}
	if o.Packets == 0 || fr.Time > o.Last {
		o.Last = fr.Time
	}
	o.Packets++
	o.Bytes += uint64(fr.WireLen)

	p := &c.p
	if err := p.Decode(fr.LinkType, fr.Data); err != nil {
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
		if c.lim.MaxFlows > 0 {
			if k, _ := flow.KeyOf(p.Tuple); c.full(k) {
				c.fold(p, k, fr.WireLen)
				return
			}
		}
		i, side, _ := c.table.Packet(p, fr.Time, fr.WireLen)
		if len(p.Payload) > 0 {
			c.in.Payload(c.table.Flow(i), side, &p.Tuple, p.Payload)
		}
		return
	case packet.KindFragment:
		if c.table.Fragment(p, fr.Time, fr.WireLen) >= 0 {
			return
		}
	case packet.KindICMPError:
		// A full table takes no new flow from an error's quote either.
		if k, _ := flow.KeyOf(p.Quoted); !c.full(k) {
			c.table.ICMPError(p, fr.Time)
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
	oc.Bytes += uint64(fr.WireLen)
}

// AddInput records a source that was read, for the report.
func (c *Classifier) AddInput(in Input) { c.inputs = append(c.inputs, in) }

// Observation returns what was classified so far. It shares nothing with
// the Classifier, which can go on adding frames.
func (c *Classifier) Observation() *Observation {
	o := c.obs
	o.Flows = slices.Clone(c.table.Flows())
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

// Read classifies every frame of src that keep accepts (every frame when keep
// is nil) and records src as an input named name. Damage to src does not
// lose what was read before it: the frames up to the damage are classified,
// the input is marked as stopped, and the error is returned for the caller
// to report. A clean end returns nil.
func (c *Classifier) Read(name string, src capture.Source, keep func(*capture.Frame) bool) error {
	var fr capture.Frame
	var n uint64
	for {
		err := src.Next(&fr)
		if err == io.EOF {
			c.AddInput(Input{Name: name, Packets: n})
			return nil
		}
		if err != nil {
			c.AddInput(Input{Name: name, Packets: n, Stopped: err})
			return err
		}
		n++
		if keep == nil || keep(&fr) {
			c.Add(&fr)
		}
	}
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

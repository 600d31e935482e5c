package classify

import (
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/names"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/classify/related"
)

// Observation is everything an engine saw, ready to be matched.
type Observation struct {
	Flows []flow.Flow
	// ServerNames holds, once each, the server names TLS clients asked for
	// (SNI). A flow's SNI field is 1 + the index of its name here; SNI
	// returns that name.
	ServerNames []string
	Names       *names.Table
	// Related lists the data connections control flows announced (FTP
	// PASV/PORT, portmapper replies, endpoint mapper responses), in the
	// order they were sent; the matcher accepts flows to them under the
	// control flow's rule when the rule allows the relation.
	Related []related.Announcement

	// Other summarises packets that formed no port flow, most packets first.
	Other []OtherCount
	// Malformed counts frames whose headers could not be decoded.
	Malformed Malformed
	// OrphanFragments counts later IP fragments that could not be tied to
	// the flow of their first fragment.
	OrphanFragments uint64

	// Packets and Bytes count every frame; First and Last are the times of
	// the earliest and latest (Unix ns).
	Packets, Bytes uint64
	First, Last    int64

	// Inputs lists what was read (files, interfaces), in order.
	Inputs []Input
	// Losses are packets or flows the engine knows it missed: capture drops,
	// map evictions, lost events. Any loss makes the observation incomplete.
	Losses []Loss
	// Filter is the capture filter (-f) that chose the frames observed, or
	// "". FilterExcluded counts the frames it left out when FilterCounted
	// (reading a file counts them; a live capture filters in the kernel,
	// which does not). Frames a filter excluded may have been a required
	// flow's, so an observation whose filter excluded any, or an unknown
	// number, is incomplete.
	Filter         string
	FilterExcluded uint64
	FilterCounted  bool
	// Folded counts the flows beyond Limits.MaxFlows per service. They were
	// seen but not kept one by one, so they cannot be matched to rules:
	// any folded flow makes the observation incomplete.
	Folded Folded
}

// SNI returns the server name f's client asked for, or "" when none was
// seen; f is one of o.Flows.
func (o *Observation) SNI(f *flow.Flow) string { return flow.ServerName(o.ServerNames, f.SNI) }

// OtherCount is the traffic of one kind that formed no port flow.
type OtherCount struct {
	Kind packet.Other
	// Label names the traffic when Kind cannot (an engine that counts all
	// such traffic together).
	Label          string
	Packets, Bytes uint64
}

// Name names the kind of traffic.
func (o OtherCount) Name() string {
	if o.Label != "" {
		return o.Label
	}
	return o.Kind.String()
}

// Malformed counts undecodable frames by reason.
type Malformed struct {
	Truncated, Malformed, UnknownLink uint64
}

// Total returns the number of malformed frames.
func (m Malformed) Total() uint64 { return m.Truncated + m.Malformed + m.UnknownLink }

// Input is one source that was read.
type Input struct {
	Name    string
	Packets uint64
	// Stopped is set when reading ended early (a *capture.ReadError for a
	// damaged file): only the packets before it were observed.
	Stopped error
}

// Loss is something an engine knows it did not observe.
type Loss struct {
	What  string // e.g. "packets dropped by libpcap", "flows evicted from the kernel map"
	Count uint64
	// Degraded marks losses that cost detail but hide no flow (a late alert,
	// a name not learned): they are reported but leave the observation
	// complete.
	Degraded bool
}

// Complete reports whether the observation saw everything it was given:
// every input read to its end and nothing lost.
func (o *Observation) Complete() bool {
	if len(o.Folded.Services) > 0 {
		return false
	}
	if o.Filter != "" && (!o.FilterCounted || o.FilterExcluded > 0) {
		return false
	}
	for _, in := range o.Inputs {
		if in.Stopped != nil {
			return false
		}
	}
	for _, l := range o.Losses {
		if l.Count > 0 && !l.Degraded {
			return false
		}
	}
	return true
}

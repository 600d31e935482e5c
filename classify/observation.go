package classify

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/capture"
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
	// Tunnels lists the tunnels whose packets were judged as the packets
	// inside them (Limits.Tunnels), and Tunneled names, for each flow that
	// came out of a tunnel, the tunnel its first such packet came from.
	// A decapsulated frame is counted once: in the totals (Packets, Bytes)
	// as the frame on the wire, in a flow or Other as its inner packet.
	Tunnels  []TunnelCount
	Tunneled map[flow.Key]string
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
	// Links counts the UnknownLink frames by link type, in link type
	// order, where the engine knows the link type (capture files).
	Links []LinkCount
}

// LinkCount is the number of frames of one link type.
type LinkCount struct {
	LinkType layers.LinkType
	Frames   uint64
}

// Total returns the number of malformed frames.
func (m Malformed) Total() uint64 { return m.Truncated + m.Malformed + m.UnknownLink }

// Input is one source that was read.
type Input struct {
	Name    string
	Packets uint64
	// Skipped counts the damaged records reading passed over: frames the
	// file held that were not read.
	Skipped capture.Skipped
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

// AllLosses returns Losses and the losses the frames themselves show:
// damaged records skipped in an input, frames of a link type wirecheck
// does not decode (by link type), and frames whose headers were cut short
// or damaged. Any of those frames may have been a flow's packet, so they
// hide traffic. Every frame an engine counted is in a flow, in Other, or in
// one of these.
func (o *Observation) AllLosses() []Loss {
	out := append([]Loss(nil), o.Losses...)
	for _, in := range o.Inputs {
		if in.Skipped.Records > 0 {
			out = append(out, Loss{What: fmt.Sprintf("damaged records skipped in %s (first: %s)", in.Name, in.Skipped.First), Count: in.Skipped.Records})
		}
	}
	m := o.Malformed
	named := uint64(0)
	for _, l := range m.Links {
		out = append(out, Loss{What: fmt.Sprintf("frames of %s not decoded", linkName(l.LinkType)), Count: l.Frames})
		named += l.Frames
	}
	if m.UnknownLink > named {
		out = append(out, Loss{What: "frames of a link type not decoded", Count: m.UnknownLink - named})
	}
	if m.Truncated > 0 {
		out = append(out, Loss{What: "frames with headers cut short (no flow could be told)", Count: m.Truncated})
	}
	if m.Malformed > 0 {
		out = append(out, Loss{What: "frames with damaged headers (no flow could be told)", Count: m.Malformed})
	}
	return out
}

// linkName names a link type for a loss: "link type PPP (9)", or "link
// type 182" when gopacket has no name for it.
func linkName(t layers.LinkType) string {
	if s := t.String(); s != "" && s != "UnknownLinkType" {
		return fmt.Sprintf("link type %s (%d)", s, uint32(t))
	}
	return fmt.Sprintf("link type %d", uint32(t))
}

// Undecoded reports whether the observation holds frames (or skipped
// records) of which none could be decoded: nothing was judged.
func (o *Observation) Undecoded() bool {
	if o.Packets > o.Malformed.Total() {
		return false
	}
	if o.Packets > 0 {
		return true
	}
	for _, in := range o.Inputs {
		if in.Skipped.Records > 0 {
			return true
		}
	}
	return false
}

// Complete reports whether the observation saw everything it was given:
// every input read to its end and nothing lost (AllLosses).
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
	for _, l := range o.AllLosses() {
		if l.Count > 0 && !l.Degraded {
			return false
		}
	}
	return true
}

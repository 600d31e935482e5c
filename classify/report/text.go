package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// Text writes the report for people: the verdict, then each problem on one
// line that says what to do, then the rules, the flows and everything else.
// Its lines are as long as they need to be: the layout for files and
// pipes, which tools read line by line.
func Text(w io.Writer, res *match.Result) error { return TextWidth(w, res, 0) }

// TextWidth writes Text laid out for a terminal of width columns: every
// line wrapped to fit (a problem's continuation lines indented past its
// number), and the rules and flows each on two lines rather than in wide
// tables. A width of 0 is Text's layout.
func TextWidth(w io.Writer, res *match.Result, width int) error {
	if width <= 0 {
		return writeText(w, res, 0)
	}
	wr := &textout.Wrapper{W: w, Width: width}
	if err := writeText(wr, res, width); err != nil {
		return err
	}
	return wr.Flush()
}

func writeText(w io.Writer, res *match.Result, width int) error {
	problems := res.Findings(res.Problems()).List
	// The head without its problems, which are written from problems
	// itself: building the model's copy of each was a tenth of a run in
	// which every flow was one.
	rep := buildHead(res, nil)
	ew := textout.Printer{Writer: bufio.NewWriter(w)}
	ew.Printf("%s\n", headline(res, problems))
	ew.Printf("profiles: %s; phase: %s; region: %s\n", strings.Join(res.Profiles, ", "), cmp.Or(res.Phase, "all"), cmp.Or(res.Region, "any"))
	hosts := strings.Join(rep.Host.Addresses, ", ")
	switch {
	case len(rep.Host.Addresses) == 0:
		ew.Printf("host: unknown (no flows; set --host)\n")
	case rep.Host.Absent:
		ew.Printf("host: %s%s\n", hosts, hostAbsent)
	case rep.Host.Inferred:
		ew.Printf("host: %s (inferred: the endpoint of the most flows; set --host to be sure)\n", hosts)
	default:
		ew.Printf("host: %s\n", hosts)
	}
	for _, in := range rep.Inputs {
		ew.Printf("input: %s: %s", in.Name, textout.Count(in.Packets, "packet"))
		if in.Stopped != nil {
			ew.Printf(" (INCOMPLETE: %s)", *in.Stopped)
		}
		ew.Printf("\n")
	}
	if f := filterText(rep); f != "" {
		ew.Printf("filter: %s\n", f)
	}
	for _, l := range rep.Losses {
		switch {
		case l.Count == 0:
		case l.Degraded:
			ew.Printf("lost: %d %s (no flow is hidden by this)\n", l.Count, l.What)
		default:
			ew.Printf("lost: %d %s (the report is built on incomplete data)\n", l.Count, l.What)
		}
	}
	s := rep.Summary
	span := ""
	if s.First != nil {
		span = fmt.Sprintf(", %s to %s", shortTime(*s.First), shortTime(*s.Last))
	}
	ew.Printf("traffic: %s, %s, %s%s\n", textout.Count(s.Packets, "packet"), textout.Count(s.Bytes, "byte"), textout.Count(uint64(s.Flows), "flow"), span)
	if s.OneDirection {
		ew.Printf("direction: %s\n", oneDirectionText)
	}
	if fo := rep.Folded; fo != nil {
		n := fmt.Sprint(fo.Flows)
		if !fo.Exact {
			n = "at least " + n
		}
		ew.Printf("folded: %s more flows beyond --max-flows into %d %s (counted, not judged; the report is built on incomplete data)\n", n, len(fo.Services), textout.Plural(len(fo.Services), "service", "services"))
	}

	if len(problems) > 0 {
		ew.Printf("\nProblems:\n")
		n := 0
		for _, p := range problems {
			if p.Fails {
				n++
				ew.Printf("  %d. %s\n", n, findingText(res, &p))
			}
		}
		for _, p := range problems {
			if !p.Fails {
				ew.Printf("  - %s\n", findingText(res, &p))
			}
		}
	}

	ew.Printf("\nRules:\n")
	if width > 0 {
		narrowRules(ew, res, rep)
		ew.Printf("\nFlows:\n")
		narrowFlows(ew, res.Flows)
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	rr := res.Rules
	if width == 0 {
		fmt.Fprintf(tw, "  STATUS\tLEVEL\tRULE\tPROTO\tPORTS\tFROM -> TO\tFLOWS\n")
	}
	for i, r := range rep.Rules {
		if width > 0 {
			break
		}
		arrow := " -> "
		if r.Either {
			arrow = " <-> "
		}
		level := r.Level
		if r.Phase != "" {
			level += " (" + r.Phase + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Status, level, r.ID, strings.ToLower(ProtosName(rr[i].Rule.Protos)), cmp.Or(strings.Join(r.Ports, ","), "any"),
			r.From+arrow+r.To, len(r.Flows))
	}
	tw.Flush()

	if width == 0 {
		ew.Printf("\nFlows:\n")
		writeFlows(ew, res.Flows)
	}

	if tt := tunnelTexts(res, rep); len(tt) > 0 {
		ew.Printf("\nTunnels (%s):\n", tunnelsNote)
		for _, t := range tt {
			ew.Printf("  %s\n", t)
		}
	}

	if len(rep.Other) > 0 || s.Malformed > 0 || s.OrphanFragments > 0 {
		ew.Printf("\nNot port flows (never judged):\n")
		for _, o := range rep.Other {
			ew.Printf("  %s: %s, %s\n", o.Kind, textout.Count(o.Packets, "packet"), textout.Count(o.Bytes, "byte"))
		}
		if s.Malformed > 0 {
			m := res.Obs.Malformed
			ew.Printf("  malformed frames: %d (truncated %d, bad headers %d, unsupported link type %d)\n", s.Malformed, m.Truncated, m.Malformed, m.UnknownLink)
		}
		if s.OrphanFragments > 0 {
			ew.Printf("  IP fragments without their first fragment: %d\n", s.OrphanFragments)
		}
	}
	return ew.Flush()
}

// narrowRules writes the rules for a terminal: the status, the rule and
// its flows on one line, what it allows on the next.
func narrowRules(w io.Writer, res *match.Result, rep *Report) {
	for i, r := range rep.Rules {
		rr := &res.Rules[i]
		arrow := " -> "
		if r.Either {
			arrow = " <-> "
		}
		fmt.Fprintf(w, "  %-12s %s, %s\n", r.Status, r.ID, textout.Count(uint64(len(r.Flows)), "flow"))
		fmt.Fprintf(w, "               %s, %s %s, %s\n", ruleLevel(rr), strings.ToLower(ProtosName(rr.Rule.Protos)),
			cmp.Or(strings.Join(r.Ports, ","), "any"), r.From+arrow+r.To)
	}
}

// narrowFlows writes the flows for a terminal, in the wide table's order:
// the verdict and the endpoints on one line, the rest on the next.
func narrowFlows(w io.Writer, flows []match.FlowResult) {
	inOrder(w, len(flows), 0, newFlowScratch, func(b []byte, i int, s *flowScratch) []byte {
		f := &flows[i]
		b = append(b, "  "...)
		b = append(b, f.Verdict.String()...)
		b = append(b, spaces[:max(12-len(f.Verdict.String()), 1)]...)
		b = append(b, ' ')
		b = append(b, f.Proto.String()...)
		b = append(b, ' ')
		b = appendHostPort(b, f.Client(), f.ClientPort, f.Proto.HasPorts())
		b = append(b, " -> "...)
		b = appendHostPort(b, f.Server(), f.ServerPort, f.Proto.HasPorts())
		b = appendNames(b, f.ServerLabels())
		b = append(b, "\n               "...)
		b = append(b, cmp.Or(serviceText(f.Service(), f.Mismatch, f.App.String()), "-")...)
		b = append(b, ", "...)
		b = append(b, f.Direction.String()...)
		b = append(b, ", "...)
		b = append(b, f.State.String()...)
		b = append(b, ", "...)
		b = append(b, textout.Count(f.Packets(), "packet")...)
		b = append(b, ", "...)
		b = append(b, textout.Count(f.Bytes(), "byte")...)
		b = append(b, ", "...)
		if f.Rule == nil {
			b = append(b, "no rule"...)
		} else {
			b = append(b, s.ruleID(f.Rule)...)
			if rel := f.Related(); rel != nil {
				b = append(b, " (related: "...)
				b = append(b, relationText(rel)...)
				b = append(b, ')')
			}
		}
		return append(b, '\n')
	})
}

func joinHostPort(addr string, port uint16, proto string) string {
	if proto != "tcp" && proto != "udp" {
		return addr
	}
	return net.JoinHostPort(addr, strconv.Itoa(int(port)))
}

func shortTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.Format(shortTimeLayout)
}

// shortTimeLayout is how text formats show a capture time.
const shortTimeLayout = "2006-01-02 15:04:05.000Z"

// flowColumns is the flows table's header; every row has as many cells.
var flowColumns = [...]string{"  VERDICT", "PROTO", "CLIENT", "SERVER", "SERVICE", "DIR", "STATE", "PKTS", "BYTES", "RULE"}

// flowRow is one row of the flows table, its cells appended to one buffer
// straight from the FlowResult: building the report model's Flow for each
// row (strings, two RFC 3339 times the table never shows) was most of the
// text report's time for 100k flows.
type flowRow struct {
	buf []byte
	end [len(flowColumns)]int // cell i is buf[end[i-1]:end[i]]
}

func (r *flowRow) cell(i int) []byte {
	start := 0
	if i > 0 {
		start = r.end[i-1]
	}
	return r.buf[start:r.end[i]]
}

// fill builds f's row; ruleIDs caches Rule.ID, which concatenates.
func (r *flowRow) fill(f *match.FlowResult, ruleIDs map[*profile.Rule]string) {
	r.buf = appendCells(r.buf[:0], f, ruleIDs, cellEnds{end: &r.end})
}

// cellEnds is what appendCells does at the end of each cell: note where
// it ends (end, for fill), or pad it to its column (width, for a line of
// the table written straight into the output, which spares copying the
// row there from a row of its own).
type cellEnds struct {
	end   *[len(flowColumns)]int
	width *flowWidths
}

func (ce cellEnds) done(b []byte, i, start int) []byte {
	if ce.end != nil {
		ce.end[i] = len(b)
	}
	if ce.width != nil && i < len(ce.width) {
		b = ce.width.pad(b, i, b[start:])
	}
	return b
}

// appendCells appends f's cells, each followed by ce.done.
func appendCells(b []byte, f *match.FlowResult, ruleIDs map[*profile.Rule]string, ce cellEnds) []byte {
	start := len(b)
	b = append(b, "  "...)
	b = append(b, f.Verdict.String()...)
	b = ce.done(b, 0, start)
	start = len(b)
	b = append(b, f.Proto.String()...)
	b = ce.done(b, 1, start)
	start = len(b)
	b = appendHostPort(b, f.Client(), f.ClientPort, f.Proto.HasPorts())
	b = ce.done(b, 2, start)
	start = len(b)
	b = appendHostPort(b, f.Server(), f.ServerPort, f.Proto.HasPorts())
	b = appendNames(b, f.ServerLabels())
	b = ce.done(b, 3, start)
	start = len(b)
	b = append(b, cmp.Or(serviceText(f.Service(), f.Mismatch, f.App.String()), "-")...)
	b = ce.done(b, 4, start)
	start = len(b)
	b = append(b, f.Direction.String()...)
	b = ce.done(b, 5, start)
	start = len(b)
	b = append(b, f.State.String()...)
	if f.OneSided() {
		b = append(b, " (one-sided)"...)
	}
	b = ce.done(b, 6, start)
	start = len(b)
	b = strconv.AppendUint(b, f.Packets(), 10)
	b = ce.done(b, 7, start)
	start = len(b)
	b = strconv.AppendUint(b, f.Bytes(), 10)
	b = ce.done(b, 8, start)
	start = len(b)
	if f.Rule == nil {
		b = append(b, '-')
	} else {
		id, ok := ruleIDs[f.Rule]
		if !ok {
			id = f.Rule.ID()
			ruleIDs[f.Rule] = id
		}
		b = append(b, id...)
		if rel := f.Related(); rel != nil {
			b = append(b, " (related: "...)
			b = append(b, relationText(rel)...)
			b = append(b, ')')
		}
	}
	return ce.done(b, 9, start)
}

// appendHostPort appends addr, with :port (IPv6 in brackets) when the
// protocol has ports, as net.JoinHostPort writes it.
func appendHostPort(b []byte, addr netip.Addr, port uint16, hasPorts bool) []byte {
	if !hasPorts {
		return addr.AppendTo(b)
	}
	return netip.AddrPortFrom(addr, port).AppendTo(b)
}

// writeFlows writes the flows table aligned as text/tabwriter aligns it
// (columns two spaces wider than their widest cell, the last column not
// padded), in two passes over the flows: the first measures, the second
// writes. tabwriter holds the whole table's bytes and cells until its
// Flush, which for a million flows was a gigabyte and most of the report's
// time; rows are built twice rather than held for the same reason. Both
// passes share the rows among the CPUs; the second writes them in order
// (inOrder).
func writeFlows(w io.Writer, flows []match.FlowResult) {
	var head flowRow
	for i, c := range flowColumns {
		head.buf = append(head.buf, c...)
		head.end[i] = len(head.buf)
	}
	var width flowWidths
	width.measure(&head)
	workers := min(runtime.GOMAXPROCS(0), max(1, len(flows)/streamChunk))
	parts := make([]flowWidths, workers)
	var wg sync.WaitGroup
	for p := range workers {
		wg.Go(func() {
			ruleIDs := map[*profile.Rule]string{}
			var row flowRow
			lo, hi := p*len(flows)/workers, (p+1)*len(flows)/workers
			for i := lo; i < hi; i++ {
				if (i-lo)%warmRows == 0 {
					warm(flows[i:min(i+warmRows, hi)])
				}
				row.fill(&flows[i], ruleIDs)
				parts[p].measure(&row)
			}
		})
	}
	wg.Wait()
	for _, p := range parts {
		width.merge(&p)
	}

	w.Write(width.line(nil, &head))
	// A row is as wide as the widths make it, with a last column of up to
	// 32 bytes: the chunks' buffers rarely grow.
	inOrder(w, len(flows), width.padded()+32, newFlowScratch, func(b []byte, i int, s *flowScratch) []byte {
		if i%warmRows == 0 {
			warm(flows[i:min(i+warmRows, len(flows))])
		}
		return append(appendCells(b, &flows[i], s.ruleIDs, cellEnds{width: &width}), '\n')
	})
}

// warmRows is how many rows warm loads ahead: their flows (three or four
// cache lines each) stay in cache until they are formatted.
const warmRows = 128

// warm reads rs's flows (Flow.Touch) in a loop that does nothing else. Rows are in report order, so each flow is a random
// access; this loop keeps dozens of those loads in flight, where filling
// rows one by one waited for each in turn, which was most of the report's
// CPU time for 100k flows (BenchmarkFlowsTable in `make bench`).
//
//go:noinline
func warm(rs []match.FlowResult) (sum uint64) {
	for i := range rs {
		sum += rs[i].Flow.Touch()
	}
	return sum
}

// flowWidths are the widths of the flows table's columns but the last.
type flowWidths [len(flowColumns) - 1]int

// padded returns the runes of a row's padded columns: all but the last.
func (wd *flowWidths) padded() int {
	n := 0
	for _, w := range wd {
		n += w + 2
	}
	return n
}

func (wd *flowWidths) measure(r *flowRow) {
	for i := range wd {
		// A cell has no more runes than bytes: only one with more bytes
		// than the width so far needs its runes counted.
		if c := r.cell(i); len(c) > wd[i] {
			wd[i] = max(wd[i], utf8.RuneCount(c))
		}
	}
}

func (wd *flowWidths) merge(o *flowWidths) {
	for i := range wd {
		wd[i] = max(wd[i], o[i])
	}
}

// line appends r as a line of the table.
func (wd *flowWidths) line(b []byte, r *flowRow) []byte {
	for i := range wd {
		b = wd.pad(append(b, r.cell(i)...), i, r.cell(i))
	}
	return append(append(b, r.cell(len(flowColumns)-1)...), '\n')
}

// pad appends the spaces that follow cell c in column i.
func (wd *flowWidths) pad(b []byte, i int, c []byte) []byte {
	pad := max(wd[i]+2-utf8.RuneCount(c), 0) // measure saw c: never below 2
	for pad > len(spaces) {
		b = append(b, spaces...)
		pad -= len(spaces)
	}
	return append(b, spaces[:pad]...)
}

// spaces pads cells, a slice of it at a time rather than a space at a time.
const spaces = "                                                                "

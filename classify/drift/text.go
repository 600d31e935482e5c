package drift

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/wirecheck/wirecheck/internal/textout"
)

// JSON writes the diff as indented JSON (schema Version).
func (d *Diff) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "closed -> unanswered", not "-\u003e"
	return enc.Encode(d)
}

// Text writes the diff for people: a one-line verdict, the two reports, what
// makes them hard to compare, then the rules and flows that changed, worse
// first.
func (d *Diff) Text(w io.Writer) error {
	ew := textout.Printer{Writer: bufio.NewWriter(w)}
	c := d.Counts
	tally := fmt.Sprintf("%d %s for the worse, %d for the better, %d other", c.Worse, textout.Plural(c.Worse, "change", "changes"), c.Better, c.Neutral)
	switch {
	case c.Worse > 0:
		ew.Printf("WORSE: %s\n", tally)
	case c.Better > 0:
		ew.Printf("BETTER: %s\n", tally)
	case c.Neutral > 0:
		ew.Printf("CHANGED: %s\n", tally)
	default:
		ew.Printf("SAME: no flow appeared, vanished or changed, and no rule changed status\n")
	}
	for _, s := range []struct {
		label string
		s     Summary
	}{{"old", d.Old}, {"new", d.New}} {
		ew.Printf("%s: %s: %s, %d %s, %s\n", s.label, s.s.Name, s.s.Verdict, s.s.Flows, textout.Plural(s.s.Flows, "flow", "flows"), textout.Count(s.s.Packets, "packet"))
	}
	for _, n := range d.Notes {
		ew.Printf("note: %s\n", n)
	}

	if len(d.Rules) > 0 {
		ew.Printf("\nRules whose status changed:\n")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  IMPACT\tRULE\tLEVEL\tOLD\tNEW\n")
		for _, r := range d.Rules {
			level := ""
			switch {
			case r.New != nil:
				level = r.New.Level
			case r.Old != nil:
				level = r.Old.Level
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", mark(r.Impact), r.ID, level, ruleStatus(r.Old), ruleStatus(r.New))
		}
		tw.Flush()
	}

	for _, sec := range []struct {
		change, title string
	}{{Appeared, "Flows that appeared"}, {Vanished, "Flows that vanished"}, {Changed, "Flows that changed"}} {
		var rows []FlowChange
		for _, f := range d.Flows {
			if f.Change == sec.change {
				rows = append(rows, f)
			}
		}
		if len(rows) == 0 {
			continue
		}
		ew.Printf("\n%s:\n", sec.title)
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		if sec.change == Changed {
			fmt.Fprintf(tw, "  IMPACT\tPROTO\tCLIENT\tSERVER\tDIR\tFLOWS\tCHANGE\n")
		} else {
			fmt.Fprintf(tw, "  IMPACT\tVERDICT\tPROTO\tCLIENT\tSERVER\tDIR\tSTATE\tFLOWS\tPKTS\tRULE\n")
		}
		for _, f := range rows {
			server := serverText(f)
			if sec.change == Changed {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d -> %d\t%s\n", mark(f.Impact), f.Proto, f.Client, server, f.Direction,
					f.Old.Flows, f.New.Flows, strings.Join(f.What, "; "))
				continue
			}
			s := f.New
			if s == nil {
				s = f.Old
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", mark(f.Impact), s.Verdict, f.Proto, f.Client, server, f.Direction,
				strings.Join(s.States, ","), s.Flows, s.Packets, cmp.Or(s.Rule, "-"))
		}
		tw.Flush()
	}
	return ew.Flush()
}

// serverText writes the server as the report does: address, port, and what
// is known of it.
func serverText(f FlowChange) string {
	s := f.Server
	if f.Proto == "tcp" || f.Proto == "udp" {
		s = net.JoinHostPort(s, strconv.Itoa(int(f.ServerPort)))
	}
	var about []string
	for _, side := range []*FlowSide{f.New, f.Old} {
		if side == nil {
			continue
		}
		if side.Service != "" {
			about = append(about, side.Service)
		}
		about = append(about, side.Names...)
		break
	}
	if len(about) > 0 {
		s += " (" + strings.Join(about, ", ") + ")"
	}
	return s
}

func ruleStatus(s *RuleSide) string {
	switch {
	case s == nil:
		return "(no such rule)"
	case s.Required:
		return s.Status
	case s.Status == "seen" || s.Status == "unused" || s.Status == "inactive":
		return s.Status
	}
	return s.Status + " (not required)"
}

func mark(i Impact) string {
	if i == Neutral {
		return "-"
	}
	return string(i)
}

package profiletable

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	portnames "github.com/wirecheck/wirecheck/classify/service"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// List writes each profile's name and description, a line each.
func List(w io.Writer, all []*profile.Profile) error {
	out, flush := fitTerminal(w)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, p := range all {
		fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return flush()
}

// Show writes each profile of the set as a table shaped like the vendor's
// (From, To, Protocol, Port, Level, How used, Source), then the notes the
// Level column points to and the peer groups the rules name, so that the
// table itself stays one line per rule.
//
// On a terminal (textout.TerminalWidth), each rule is a line (from, to,
// protocol, port, level) with its "how used" and source on lines below it,
// and every line is wrapped to fit.
func Show(w io.Writer, set *profile.Set) error {
	out, flush := fitTerminal(w)
	narrow := textout.TerminalWidth(w) > 0
	for _, p := range set.Profiles {
		fmt.Fprintf(out, "%s — %s\n", p.Name, p.Description)
		if len(p.Includes) > 0 {
			fmt.Fprintf(out, "includes: %s\n", strings.Join(p.Includes, ", "))
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		if !narrow {
			fmt.Fprintf(tw, "  From\tTo\tScope\tProtocol\tPort\tLevel\tHow used\tSource\n")
		}
		var notes []string
		var groups []string
		unbound := false
		for _, r := range p.Rules {
			from, to := groupLabel(set, p.Name, r.From), groupLabel(set, p.Name, r.To)
			unbound = unbound || strings.HasSuffix(from, "*") || strings.HasSuffix(to, "*")
			if r.Bidirectional {
				to += " (either way)"
			}
			for _, g := range []string{r.From, r.To} {
				if g != profile.PeerHost && g != profile.PeerAny && !slices.Contains(groups, g) {
					groups = append(groups, g)
				}
			}
			level := r.Level.String()
			var qual []string
			if r.Phase != "" {
				qual = append(qual, r.Phase)
			}
			if r.Overlay {
				qual = append(qual, "overlay")
			}
			if q := eachText(set, p.Name, &r); q != "" {
				qual = append(qual, q)
			}
			if len(qual) > 0 {
				level += " (" + strings.Join(qual, ", ") + ")"
			}
			if r.Note != "" {
				notes = append(notes, fmt.Sprintf("[%d] %s: %s", len(notes)+1, r.Name, r.Note))
				level += fmt.Sprintf(" [%d]", len(notes))
			}
			proto := report.ProtosName(r.Protos)
			if r.TLS != nil {
				proto += " " + describeTLS(r.TLS)
			}
			if r.Related != nil {
				proto += " + related (" + strings.Join(r.Related.Strings(), ", ") + ")"
			}
			var srcs []string
			for _, s := range r.Sources {
				srcs = append(srcs, s.String())
			}
			if narrow {
				fmt.Fprintf(out, "  %s -> %s (%s), %s %s, %s\n", from, to, scopeText(&r), proto, portsText(r), level)
				fmt.Fprintf(out, "      how used: %s\n", orDash(r.How))
				for _, src := range srcs {
					fmt.Fprintf(out, "      source: %s\n", src)
				}
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", from, to, scopeText(&r), proto,
				portsText(r), level, orDash(r.How), orDash(strings.Join(srcs, "; ")))
		}
		tw.Flush()
		if unbound {
			fmt.Fprintln(out, "  * unbound group: matches any address until --peer binds it; a flow accepted only through it is an unbound warning (a failure with --strict)")
		}
		if len(notes) > 0 {
			fmt.Fprintln(out, "Notes:")
			for _, n := range notes {
				fmt.Fprintf(out, "  %s\n", n)
			}
		}
		if len(groups) > 0 {
			fmt.Fprintln(out, "Peer groups:")
			tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			for _, name := range groups {
				g, ok := set.Group(p.Name, name)
				if !ok {
					continue
				}
				fmt.Fprintf(tw, "  %s\t%s\n  \t= %s\n", name, orDash(g.Description), describeGroup(g))
			}
			tw.Flush()
		}
		fmt.Fprintln(out)
	}
	return flush()
}

// fitTerminal returns w, wrapped to the terminal's width when w is a
// terminal (textout.TerminalWidth), and what to call when done.
func fitTerminal(w io.Writer) (io.Writer, func() error) {
	width := textout.TerminalWidth(w)
	if width == 0 {
		return w, func() error { return nil }
	}
	wr := &textout.Wrapper{W: w, Width: width}
	return wr, wr.Flush
}

// groupLabel is a rule's group as the table shows it: an unbound group
// (no addresses, no names) is marked with "*".
func groupLabel(set *profile.Set, prof, name string) string {
	if name == profile.PeerHost || name == profile.PeerAny {
		return name
	}
	if g, ok := set.Group(prof, name); ok && g.Unbound() && !g.NoneUntilBound {
		return name + "*"
	}
	return name
}

// scopeText says which of the host's flows a rule judges: outbound (the
// host opens it), inbound, either way, network (never the host's own), or
// any flow at all.
func scopeText(r *profile.Rule) string {
	switch {
	case r.Scope == profile.ScopeNetwork:
		return "network (not the host)"
	case r.From == profile.PeerHost && r.Bidirectional, r.To == profile.PeerHost && r.Bidirectional:
		return "either way"
	case r.From == profile.PeerHost:
		return "outbound"
	case r.To == profile.PeerHost:
		return "inbound"
	}
	return "any flow"
}

// eachText says, for a required rule with a list, whether each entry or
// any one is needed.
func eachText(set *profile.Set, prof string, r *profile.Rule) string {
	if r.Level != profile.LevelRequired {
		return ""
	}
	var parts []string
	if r.Each&profile.EachPort != 0 {
		parts = append(parts, "each port")
	}
	if r.Each&profile.EachPeer != 0 {
		parts = append(parts, "each peer")
	}
	if len(parts) > 0 {
		return strings.Join(parts, ", ")
	}
	peers := 0
	if g, ok := set.Group(prof, r.To); ok {
		peers = len(g.CIDRs) + len(g.Names)
	}
	if len(r.Ports) > 1 || peers > 1 {
		return "any one"
	}
	return ""
}

// portsText writes the ports as the vendor tables do: "443 (https)", "139,
// 445", "1024-1064"; "any" for a rule that covers every port and "-" for ICMP.
func portsText(r profile.Rule) string {
	switch {
	case r.Protos == profile.ICMP:
		return "-"
	case len(r.Ports) == 0:
		return "any"
	case len(r.Ports) == 1 && r.Ports[0].First == r.Ports[0].Last:
		proto := ipproto.TCP
		if !r.Protos.Has(proto) {
			proto = ipproto.UDP
		}
		if name := portnames.Name(proto, r.Ports[0].First); name != "" {
			return fmt.Sprintf("%d (%s)", r.Ports[0].First, name)
		}
	}
	return strings.Join(r.PortStrings(), ", ")
}

// describeGroup says what a peer group stands for: its CIDRs and name
// patterns, or that the user binds it.
func describeGroup(g *profile.PeerGroup) string {
	var s []string
	for _, c := range g.CIDRs {
		s = append(s, c.String())
	}
	s = append(s, g.Names...)
	if len(s) == 0 && g.NoneUntilBound {
		return "no address until bound with --peer " + g.Name + "=ADDR|CIDR (the document says to specify it)"
	}
	if len(s) == 0 {
		return "any address until bound with --peer " + g.Name + "=ADDR|CIDR"
	}
	return strings.Join(s, ", ")
}

func describeTLS(c *profile.TLSCondition) string {
	var parts []string
	for _, v := range c.Versions {
		parts = append(parts, fmt.Sprintf("TLS %d.%d", (v>>8)-2, (v&0xff)-1))
	}
	if c.ForwardSecrecy != nil {
		if *c.ForwardSecrecy {
			parts = append(parts, "forward-secret")
		} else {
			parts = append(parts, "not forward-secret")
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

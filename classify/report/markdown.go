package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// Markdown writes the report as GitHub-flavoured Markdown for a pull
// request comment or a ticket: the verdict and the problems first, then
// the rules table, and the flows table folded in a <details> block so a
// long capture does not bury the problems.
func Markdown(w io.Writer, res *match.Result) error {
	rep := buildHead(res, nil)
	problems := res.Findings(res.Problems()).List
	ew := textout.Printer{Writer: bufio.NewWriter(w)}

	icon := map[match.Verdict]string{match.Conformant: "✅", match.NotConformant: "❌", match.Inconclusive: "⚠️"}[res.Verdict]
	head, rest, _ := strings.Cut(headline(res, problems), ": ")
	if res.Verdict == match.NotConformant {
		ew.Printf("## %s wirecheck: %s (%s)\n\n", icon, head, rest)
	} else {
		ew.Printf("## %s wirecheck: %s\n\n%s.\n\n", icon, head, mdText(upperFirst(rest)))
	}

	ew.Printf("- **Profiles:** %s; phase %s; region %s\n", mdText(strings.Join(rep.Profiles, ", ")),
		mdText(cmp.Or(rep.Phase, "all")), mdText(cmp.Or(rep.Region, "any")))
	switch {
	case len(rep.Host.Addresses) == 0:
		ew.Printf("- **Host:** unknown (no flows; set --host)\n")
	case rep.Host.Absent:
		ew.Printf("- **Host:** %s%s\n", mdText(strings.Join(rep.Host.Addresses, ", ")), mdText(hostAbsent))
	case rep.Host.Inferred:
		ew.Printf("- **Host:** %s (inferred: set --host to be sure)\n", mdText(strings.Join(rep.Host.Addresses, ", ")))
	default:
		ew.Printf("- **Host:** %s\n", mdText(strings.Join(rep.Host.Addresses, ", ")))
	}
	for _, in := range rep.Inputs {
		ew.Printf("- **Input:** %s: %s", mdText(in.Name), textout.Count(in.Packets, "packet"))
		if in.Stopped != nil {
			ew.Printf(" (**incomplete**: %s)", mdText(*in.Stopped))
		}
		ew.Printf("\n")
	}
	if f := filterText(rep); f != "" {
		ew.Printf("- **Filter:** %s\n", mdText(f))
	}
	for _, l := range rep.Losses {
		if l.Count > 0 {
			ew.Printf("- **Lost:** %d %s\n", l.Count, mdText(l.What))
		}
	}
	s := rep.Summary
	ew.Printf("- **Traffic:** %s, %s, %s", textout.Count(s.Packets, "packet"), textout.Count(s.Bytes, "byte"), textout.Count(uint64(s.Flows), "flow"))
	if s.First != nil {
		ew.Printf(", %s to %s", shortTime(*s.First), shortTime(*s.Last))
	}
	ew.Printf("\n")
	if f := foldedText(rep); f != "" {
		ew.Printf("- **Folded:** %s\n", mdText(f))
	}
	if s.OneDirection {
		ew.Printf("- **Direction:** %s\n", mdText(oneDirectionText))
	}
	for _, t := range tunnelTexts(res, rep) {
		ew.Printf("- **Tunnel** (%s): %s\n", tunnelsNote, mdText(t))
	}

	// Each list is worded as it is written, a problem at a time: held
	// until the end, a million worded problems were most of the format's
	// memory.
	fails := 0
	for _, p := range problems {
		if p.Fails {
			fails++
		}
	}
	if fails > 0 {
		ew.Printf("\n### Problems\n\n")
		n := 0
		for _, p := range problems {
			if p.Fails {
				n++
				ew.Printf("%d. %s\n", n, mdProblem(findingText(res, &p)))
			}
		}
	}
	if fails < len(problems) {
		ew.Printf("\n### Warnings\n\n")
		for _, p := range problems {
			if !p.Fails {
				ew.Printf("- %s\n", mdProblem(findingText(res, &p)))
			}
		}
	}

	ew.Printf("\n### Rules\n\n")
	ew.Printf("| Status | Level | Rule | Protocol | Ports | From → To | Flows |\n")
	ew.Printf("|---|---|---|---|---|---|--:|\n")
	for i, r := range rep.Rules {
		rr := &res.Rules[i]
		status := mdText(r.Status)
		switch rr.Status {
		case match.RuleBlocked, match.RuleMissing, match.RuleInconclusive:
			status = "**" + status + "**"
		}
		arrow := " → "
		if r.Either {
			arrow = " ↔ "
		}
		ew.Printf("| %s | %s | %s | %s | %s | %s | %d |\n", status, mdText(ruleLevel(rr)), mdText(r.ID),
			ProtosName(rr.Rule.Protos), mdText(cmp.Or(strings.Join(r.Ports, ", "), "any")),
			mdText(r.From)+arrow+mdText(r.To), len(r.Flows))
	}

	ew.Printf("\n<details><summary>Flows (%d)</summary>\n\n", len(res.Flows))
	if len(res.Flows) > 0 {
		ew.Printf("| Verdict | Proto | Client | Server | Service | Direction | State | Packets | Bytes | Rule |\n")
		ew.Printf("|---|---|---|---|---|---|---|--:|--:|---|\n")
		// Written as they are formatted, by the CPUs in order: the
		// report model's flows, held for the whole table, were most of
		// the format's memory.
		if err := inOrder(ew, len(res.Flows), 0, newFlowScratch, func(b []byte, i int, s *flowScratch) []byte {
			return appendMarkdownFlow(b, &res.Flows[i], s)
		}); err != nil {
			return err
		}
	} else {
		ew.Printf("No flows.\n")
	}
	ew.Printf("\n</details>\n")

	if len(rep.Other) > 0 || s.Malformed > 0 || s.OrphanFragments > 0 {
		ew.Printf("\nNot port flows (never judged): ")
		var parts []string
		for _, o := range rep.Other {
			parts = append(parts, fmt.Sprintf("%s %d %s", mdText(o.Kind), o.Packets, textout.Plural(int(o.Packets), "packet", "packets")))
		}
		if s.Malformed > 0 {
			parts = append(parts, fmt.Sprintf("malformed frames %d", s.Malformed))
		}
		if s.OrphanFragments > 0 {
			parts = append(parts, fmt.Sprintf("orphan IP fragments %d", s.OrphanFragments))
		}
		ew.Printf("%s.\n", strings.Join(parts, ", "))
	}
	return ew.Flush()
}

// appendMarkdownFlow appends f's row of the flows table.
func appendMarkdownFlow(b []byte, f *match.FlowResult, s *flowScratch) []byte {
	b = append(b, "| "...)
	if f.Verdict.Fails() {
		b = append(b, "**"...)
		b = append(b, f.Verdict.String()...)
		b = append(b, "**"...)
	} else {
		b = append(b, f.Verdict.String()...)
	}
	b = append(b, " | "...)
	b = append(b, f.Proto.String()...)
	b = append(b, " | "...)
	b = appendMDHostPort(b, f.Client(), f.ClientPort, f.Proto.HasPorts())
	b = append(b, " | "...)
	b = appendMDHostPort(b, f.Server(), f.ServerPort, f.Proto.HasPorts())
	if names := f.ServerLabels(); len(names) > 0 {
		b = append(b, mdText(string(appendNames(nil, names)))...)
	}
	b = append(b, " | "...)
	b = append(b, mdText(cmp.Or(serviceText(f.Service(), f.Mismatch, f.App.String()), "–"))...)
	b = append(b, " | "...)
	b = append(b, f.Direction.String()...)
	b = append(b, " | "...)
	b = append(b, f.State.String()...)
	b = append(b, " | "...)
	b = strconv.AppendUint(b, f.Packets(), 10)
	b = append(b, " | "...)
	b = strconv.AppendUint(b, f.Bytes(), 10)
	b = append(b, " | "...)
	switch rel := f.Related(); {
	case f.Rule == nil:
		b = append(b, "–"...)
	case rel != nil:
		b = append(b, mdText(s.ruleID(f.Rule)+" (related: "+relationText(rel)+")")...)
	default:
		b = append(b, mdText(s.ruleID(f.Rule))...)
	}
	return append(b, " |\n"...)
}

// appendMDHostPort is appendHostPort with an IPv6 address's brackets
// escaped, as mdText escapes them.
func appendMDHostPort(b []byte, addr netip.Addr, port uint16, hasPorts bool) []byte {
	if !hasPorts || !addr.Is6() {
		return appendHostPort(b, addr, port, hasPorts)
	}
	b = append(b, `\[`...)
	b = addr.AppendTo(b)
	b = append(b, `\]:`...)
	return strconv.AppendUint(b, uint64(port), 10)
}

// mdProblem bolds the kind that starts every problem line ("blocked: ...").
func mdProblem(text string) string {
	if kind, rest, ok := strings.Cut(text, ": "); ok && (!strings.Contains(kind, " ") || kind == "protocol mismatch") {
		return "**" + mdText(kind) + "**: " + mdText(rest)
	}
	return mdText(text)
}

// mdText escapes what Markdown would otherwise read as markup, so that a
// name pattern such as *.amazonaws.com stays literal, a pipe does not end
// a table cell, and text from a capture (DNS names, TLS SNI) cannot inject
// HTML or links.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `&lt;`, `>`, `&gt;`,
	`|`, `\|`, `~`, `\~`, `&`, `&amp;`, "\r", " ", "\n", " ",
)

func mdText(s string) string { return mdEscaper.Replace(s) }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"strings"

	"github.com/wirecheck/wirecheck/classify/match"
)

// Markdown writes the report as GitHub-flavoured Markdown for a pull
// request comment or a ticket: the verdict and the problems first, then
// the rules table, and the flows table folded in a <details> block so a
// long capture does not bury the problems.
func Markdown(w io.Writer, res *match.Result) error {
	rep := Build(res)
	problems := res.Problems()
	ew := printer{bufio.NewWriter(w)}

	icon := map[match.Verdict]string{match.Conformant: "✅", match.NotConformant: "❌", match.Inconclusive: "⚠️"}[res.Verdict]
	head, rest, _ := strings.Cut(headline(res, problems), ": ")
	if res.Verdict == match.NotConformant {
		ew.printf("## %s wirecheck: %s (%s)\n\n", icon, head, rest)
	} else {
		ew.printf("## %s wirecheck: %s\n\n%s.\n\n", icon, head, mdText(upperFirst(rest)))
	}

	ew.printf("- **Profiles:** %s; phase %s; region %s\n", mdText(strings.Join(rep.Profiles, ", ")),
		mdText(cmp.Or(rep.Phase, "all")), mdText(cmp.Or(rep.Region, "any")))
	switch {
	case len(rep.Host.Addresses) == 0:
		ew.printf("- **Host:** unknown (no flows; set --host)\n")
	case rep.Host.Inferred:
		ew.printf("- **Host:** %s (inferred: set --host to be sure)\n", mdText(strings.Join(rep.Host.Addresses, ", ")))
	default:
		ew.printf("- **Host:** %s\n", mdText(strings.Join(rep.Host.Addresses, ", ")))
	}
	for _, in := range rep.Inputs {
		ew.printf("- **Input:** %s: %d packets", mdText(in.Name), in.Packets)
		if in.Stopped != nil {
			ew.printf(" (**incomplete**: %s)", mdText(*in.Stopped))
		}
		ew.printf("\n")
	}
	for _, l := range rep.Losses {
		if l.Count > 0 {
			ew.printf("- **Lost:** %d %s\n", l.Count, mdText(l.What))
		}
	}
	s := rep.Summary
	ew.printf("- **Traffic:** %d packets, %d bytes, %d flows", s.Packets, s.Bytes, s.Flows)
	if s.First != nil {
		ew.printf(", %s to %s", shortTime(*s.First), shortTime(*s.Last))
	}
	ew.printf("\n")
	if f := foldedText(rep); f != "" {
		ew.printf("- **Folded:** %s\n", mdText(f))
	}

	var fails, warnings []string
	for _, p := range problems {
		if p.Fails {
			fails = append(fails, mdProblem(p.Text))
		} else {
			warnings = append(warnings, mdProblem(p.Text))
		}
	}
	if len(fails) > 0 {
		ew.printf("\n### Problems\n\n")
		for i, p := range fails {
			ew.printf("%d. %s\n", i+1, p)
		}
	}
	if len(warnings) > 0 {
		ew.printf("\n### Warnings\n\n")
		for _, p := range warnings {
			ew.printf("- %s\n", p)
		}
	}

	ew.printf("\n### Rules\n\n")
	ew.printf("| Status | Level | Rule | Protocol | Ports | From → To | Flows |\n")
	ew.printf("|---|---|---|---|---|---|--:|\n")
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
		ew.printf("| %s | %s | %s | %s | %s | %s | %d |\n", status, mdText(ruleLevel(rr)), mdText(r.ID),
			match.ProtosName(rr.Rule.Protos), mdText(cmp.Or(strings.Join(r.Ports, ", "), "any")),
			mdText(r.From)+arrow+mdText(r.To), len(r.Flows))
	}

	ew.printf("\n<details><summary>Flows (%d)</summary>\n\n", len(rep.Flows))
	if len(rep.Flows) > 0 {
		ew.printf("| Verdict | Proto | Client | Server | Service | Direction | State | Packets | Bytes | Rule |\n")
		ew.printf("|---|---|---|---|---|---|---|--:|--:|---|\n")
		for _, f := range rep.Flows {
			verdict := mdText(f.Verdict)
			if f.Verdict == "unexpected" || f.Verdict == "forbidden" {
				verdict = "**" + verdict + "**"
			}
			rule := "–"
			if f.Rule != nil {
				rule = mdText(*f.Rule)
			}
			ew.printf("| %s | %s | %s | %s | %s | %s | %s | %d | %d | %s |\n", verdict, f.Proto,
				mdText(joinHostPort(f.Client, f.ClientPort, f.Proto)), mdText(serverCell(&f)),
				mdText(cmp.Or(serviceCell(&f), "–")), f.Direction, f.State, f.Packets, f.Bytes, rule)
		}
	} else {
		ew.printf("No flows.\n")
	}
	ew.printf("\n</details>\n")

	if len(rep.Other) > 0 || s.Malformed > 0 || s.OrphanFragments > 0 {
		ew.printf("\nNot port flows (never judged): ")
		var parts []string
		for _, o := range rep.Other {
			parts = append(parts, fmt.Sprintf("%s %d %s", mdText(o.Kind), o.Packets, plural(int(o.Packets), "packet", "packets")))
		}
		if s.Malformed > 0 {
			parts = append(parts, fmt.Sprintf("malformed frames %d", s.Malformed))
		}
		if s.OrphanFragments > 0 {
			parts = append(parts, fmt.Sprintf("orphan IP fragments %d", s.OrphanFragments))
		}
		ew.printf("%s.\n", strings.Join(parts, ", "))
	}
	return ew.Flush()
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

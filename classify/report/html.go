package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"

	"github.com/wirecheck/wirecheck/classify/match"
)

//go:embed html.tmpl
var htmlSource string

// htmlTemplate is parsed once; html/template escapes every value by its
// context, so names learned from the capture (DNS answers, TLS SNI) and
// profile text cannot inject markup into the page.
//
// It is parsed on first use, not when the program starts: parsing took a
// millisecond of every run's start, most of which write no HTML.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Parse(htmlSource))
})

// statuses are the diagram's colours, in the legend's order.
var statuses = []struct{ Class, Name, Meaning string }{
	{"seen", "seen", "a rule's flows worked"},
	{"blocked", "blocked", "a required rule saw only failed attempts"},
	{"missing", "missing", "a required rule saw nothing"},
	{"unexpected", "unexpected", "a flow no rule allows"},
	{"forbidden", "forbidden", "a forbidden rule matched"},
	{"discouraged", "discouraged", "a discouraged rule matched (a warning)"},
	{"inconclusive", "inconclusive", "not seen, but the capture is incomplete"},
	{"unused", "unused", "an allowed rule nothing used"},
	{"inactive", "inactive", "the rule's phase is not checked"},
}

type htmlPage struct {
	Rep                 *Report
	Verdict, Headline   string
	VerdictText, Detail string
	Problems, Warnings  []htmlProblem
	Rules               []htmlRule
	Flows               []htmlFlow
	Diagram             *diagram
	Statuses            any
	HostText, TimeSpan  string
	Folded, Filter      string
	Direction           string
	Phase, Region       string
	Malformed, Orphaned uint64
}

type htmlProblem struct{ Kind, Text string }

type htmlRule struct {
	*Rule
	Status, Level, Proto, Ports, Arrow string
}

type htmlFlow struct {
	*Flow
	Client, Server, ServerNames, Service string
}

// HTML writes the report as one self-contained page (inline CSS and SVG,
// no script, nothing fetched): the verdict and the problems, a diagram of
// the host and its peers with an arrow per rule and per unexpected flow
// coloured by status, and the rules and flows tables.
func HTML(w io.Writer, res *match.Result) error {
	rep := Build(res)
	problems := res.Findings(res.Problems()).List
	head, rest, _ := strings.Cut(headline(res, problems), ": ")
	p := htmlPage{
		Rep: rep, Verdict: rep.Verdict, Headline: head + " — " + rest, VerdictText: head, Detail: rest,
		Diagram: buildDiagram(res, rep), Statuses: statuses,
		Phase: cmp.Or(rep.Phase, "all"), Region: cmp.Or(rep.Region, "any"),
		Malformed: rep.Summary.Malformed, Orphaned: rep.Summary.OrphanFragments, Folded: foldedText(rep),
		Filter: filterText(rep),
	}
	if rep.Summary.OneDirection {
		p.Direction = oneDirectionText
	}
	switch {
	case len(rep.Host.Addresses) == 0:
		p.HostText = "unknown (no flows; set --host)"
	case rep.Host.Absent:
		p.HostText = strings.Join(rep.Host.Addresses, ", ") + hostAbsent
	case rep.Host.Inferred:
		p.HostText = strings.Join(rep.Host.Addresses, ", ") + " (inferred: the endpoint of the most flows; set --host to be sure)"
	default:
		p.HostText = strings.Join(rep.Host.Addresses, ", ")
	}
	if s := rep.Summary; s.First != nil {
		p.TimeSpan = shortTime(*s.First) + " to " + shortTime(*s.Last)
	}
	for _, pr := range problems {
		kind, text, ok := strings.Cut(findingText(&pr), ": ")
		if !ok {
			kind, text = pr.Kind.String(), pr.Text
		}
		hp := htmlProblem{Kind: kind, Text: text}
		if pr.Fails {
			p.Problems = append(p.Problems, hp)
		} else {
			p.Warnings = append(p.Warnings, hp)
		}
	}
	for i := range rep.Rules {
		r := &rep.Rules[i]
		rr := &res.Rules[i]
		arrow := " → "
		if r.Either {
			arrow = " ↔ "
		}
		p.Rules = append(p.Rules, htmlRule{Rule: r, Status: arrowStatus(rr), Level: ruleLevel(rr),
			Proto: match.ProtosName(rr.Rule.Protos), Ports: cmp.Or(strings.Join(r.Ports, ", "), "any"),
			Arrow: r.From + arrow + r.To})
	}
	for i := range rep.Flows {
		f := &rep.Flows[i]
		hf := htmlFlow{Flow: f, Client: joinHostPort(f.Client, f.ClientPort, f.Proto),
			Server: joinHostPort(f.Server, f.ServerPort, f.Proto), Service: cmp.Or(serviceCell(f), "–")}
		hf.ServerNames = strings.Join(f.Names.ServerLabels(), ", ")
		p.Flows = append(p.Flows, hf)
	}
	if err := htmlTemplate().Execute(w, p); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return nil
}

package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/textout"
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
	Rep                        *Report
	Verdict, Headline          string
	VerdictText, Detail        string
	Problems, Warnings         []htmlProblem
	MoreProblems, MoreWarnings string // how many the lists leave out
	Rules                      []htmlRule
	Groups                     []htmlGroup
	MoreGroups                 string // how many groups and flows the table leaves out
	Diagram                    *diagram
	Statuses                   any
	HostText, TimeSpan         string
	Folded, Filter             string
	Direction                  string
	Tunnels                    []string // tunnelTexts
	TunnelsNote                string
	Phase, Region              string
	Malformed, Orphaned        uint64
}

type htmlProblem struct{ Kind, Text string }

type htmlRule struct {
	*Rule
	Status, Level, Proto, Ports, Arrow string
}

// htmlGroup is a row of the flows table: the flows of one verdict, rule,
// service, direction and peer.
type htmlGroup struct {
	Verdict, Rule, Service, Direction string
	Peer, PeerNames                   string
	Related                           string // a related group's relation, from its first flow
	Flows                             int
	States                            string // "closed 30, reset 2"
	Packets, Bytes                    uint64
}

// The page is bounded whatever the capture: the problems and warnings
// listed and the flow groups shown (largest first) stop at these, and say
// how many more there are. The page is for a person; the full lists are
// what JSON is for.
const (
	maxHTMLProblems = 100
	maxHTMLGroups   = 200
)

// HTML writes the report as one self-contained page (inline CSS and SVG,
// no script, nothing fetched): the verdict and the problems, a diagram of
// the host and its peers with an arrow per rule and per unexpected flow
// coloured by status, and the rules and flows tables.
func HTML(w io.Writer, res *match.Result) error {
	rep := buildHead(res, nil)
	problems := res.Findings(res.Problems()).List
	head, rest, _ := strings.Cut(headline(res, problems), ": ")
	p := htmlPage{
		Rep: rep, Verdict: rep.Verdict, Headline: head + " — " + rest, VerdictText: head, Detail: rest,
		Diagram: buildDiagram(res, rep), Statuses: statuses,
		Phase: cmp.Or(rep.Phase, "all"), Region: cmp.Or(rep.Region, "any"),
		Malformed: rep.Summary.Malformed, Orphaned: rep.Summary.OrphanFragments, Folded: foldedText(rep),
		Filter: filterText(rep), Tunnels: tunnelTexts(res, rep), TunnelsNote: tunnelsNote,
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
		list := &p.Problems
		if !pr.Fails {
			list = &p.Warnings
		}
		if len(*list) == maxHTMLProblems {
			continue // not shown, so not worded: there may be a million
		}
		kind, text, ok := strings.Cut(findingText(res, &pr), ": ")
		if !ok {
			kind, text = pr.Kind.String(), ProblemText(res, &pr.Problem)
		}
		*list = append(*list, htmlProblem{Kind: kind, Text: text})
	}
	p.MoreProblems, p.MoreWarnings = moreProblems(problems)
	for i := range rep.Rules {
		r := &rep.Rules[i]
		rr := &res.Rules[i]
		arrow := " → "
		if r.Either {
			arrow = " ↔ "
		}
		p.Rules = append(p.Rules, htmlRule{Rule: r, Status: arrowStatus(rr), Level: ruleLevel(rr),
			Proto: ProtosName(rr.Rule.Protos), Ports: cmp.Or(strings.Join(r.Ports, ", "), "any"),
			Arrow: r.From + arrow + r.To})
	}
	p.Groups, p.MoreGroups = flowGroups(res)
	if err := htmlTemplate().Execute(w, p); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return nil
}

// moreProblems says how many failing problems and warnings the page's
// lists leave out, and how many flows those stand for.
func moreProblems(problems []match.Finding) (fails, warnings string) {
	var n, flows [2]int
	for _, p := range problems {
		i := 0
		if !p.Fails {
			i = 1
		}
		n[i]++
		if n[i] > maxHTMLProblems {
			flows[i] += p.Flows
		}
	}
	var out [2]string
	for i := range out {
		if more := n[i] - maxHTMLProblems; more > 0 {
			out[i] = fmt.Sprintf("and %d more (%d %s); the JSON report lists every one", more, flows[i], textout.Plural(flows[i], "flow", "flows"))
		}
	}
	return out[0], out[1]
}

// A group counts its flows per state in an array: every state must have
// a place in it (this fails to compile when the last, StateHalfOpen, has
// not; a state added after it must take its place here).
var _ [16 - 1 - int(flow.StateHalfOpen)]struct{}

type stateCount struct {
	state flow.State
	n     int
}

// groupKey is what the flows of a row of the flows table share.
type groupKey struct {
	rule       *profile.Rule
	peer       [16]byte // the side that is not the host; both for transit and local flows
	other      [16]byte
	serverPort uint16
	verdict    match.FlowVerdict
	proto      ipproto.Proto
	direction  match.Direction
	related    bool // accepted through an announcement: a group of its own
}

// flowGroups groups the flows by verdict, rule, service, direction and
// peer, the largest groups first (then in the flows' order), at most
// maxHTMLGroups of them, and says how many groups and flows it leaves out.
func flowGroups(res *match.Result) ([]htmlGroup, string) {
	// A group is 24 bytes and its key 48: the bench capture's 100,000
	// flows are as many groups when every peer is another address. The
	// states are counted in a second pass, for the groups shown only.
	type group struct {
		first, n       int32
		packets, bytes uint64
	}
	key := func(f *match.FlowResult) groupKey {
		k := groupKey{rule: f.Rule, serverPort: f.ServerPort, verdict: f.Verdict, proto: f.Proto, direction: f.Direction,
			related: f.Related() != nil}
		switch f.Direction {
		case match.Inbound:
			k.peer = f.Client().As16()
		case match.Outbound:
			k.peer = f.Server().As16()
		default:
			k.peer, k.other = f.Client().As16(), f.Server().As16()
		}
		return k
	}
	at := map[groupKey]int32{}
	var gs []group
	for i := range res.Flows {
		f := &res.Flows[i]
		k := key(f)
		j, ok := at[k]
		if !ok {
			j = int32(len(gs))
			at[k] = j
			gs = append(gs, group{first: int32(i)})
		}
		g := &gs[j]
		g.n++
		p, b := f.Flow.Total()
		g.packets += p
		g.bytes += b
	}
	slices.SortStableFunc(gs, func(a, b group) int { return cmp.Compare(b.n, a.n) })
	shown := gs[:min(len(gs), maxHTMLGroups)]
	clear(at)
	for j, g := range shown {
		at[key(&res.Flows[g.first])] = int32(j)
	}
	stateCounts := make([][16]int32, len(shown))
	for i := range res.Flows {
		f := &res.Flows[i]
		if j, ok := at[key(f)]; ok {
			stateCounts[j][f.State]++
		}
	}
	var out []htmlGroup
	for gi, g := range shown {
		f := &res.Flows[g.first]
		hg := htmlGroup{Verdict: f.Verdict.String(), Rule: "–", Direction: f.Direction.String(), Flows: int(g.n),
			Packets: g.packets, Bytes: g.bytes}
		if f.Rule != nil {
			hg.Rule = f.Rule.ID()
		}
		if rel := f.Related(); rel != nil {
			hg.Related = "related: " + relationText(rel)
			if g.n > 1 {
				hg.Related += fmt.Sprintf(" (the first of %d)", g.n)
			}
		}
		hg.Service = ProtoPort(f.Proto, f.ServerPort)
		if svc := serviceText(f.Service(), f.Mismatch, f.App.String()); svc != "" {
			hg.Service += " " + svc
		}
		switch f.Direction {
		case match.Inbound:
			hg.Peer, hg.PeerNames = f.Client().String(), strings.Join(f.ClientNames(), ", ")
		case match.Outbound:
			hg.Peer, hg.PeerNames = f.Server().String(), strings.Join(f.ServerLabels(), ", ")
		default:
			hg.Peer = f.Client().String() + " → " + f.Server().String()
			hg.PeerNames = strings.Join(f.ServerLabels(), ", ")
		}
		var states []string
		var byCount []stateCount
		for st, n := range stateCounts[gi] {
			if n > 0 {
				byCount = append(byCount, stateCount{flow.State(st), int(n)})
			}
		}
		slices.SortStableFunc(byCount, func(a, b stateCount) int { return cmp.Compare(b.n, a.n) })
		for _, sc := range byCount {
			states = append(states, fmt.Sprintf("%s %d", sc.state, sc.n))
		}
		hg.States = strings.Join(states, ", ")
		out = append(out, hg)
	}
	more := ""
	if len(gs) > maxHTMLGroups {
		n := 0
		for _, g := range gs[maxHTMLGroups:] {
			n += int(g.n)
		}
		more = fmt.Sprintf("and %d more groups of %d %s, each smaller; the JSON report lists every flow", len(gs)-maxHTMLGroups, n, textout.Plural(n, "flow", "flows"))
	}
	return out, more
}

package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// ruleWhat names what a rule allows in one phrase: "TCP/UDP 111 nfs-clients
// <-> host". It does not change with the observation, so it may be part of
// a JUnit test name that CI systems follow across runs.
func ruleWhat(r *profile.Rule) string {
	ports := strings.Join(r.PortStrings(), ",")
	if ports == "" {
		ports = "any port"
	}
	arrow := " -> "
	if r.Bidirectional {
		arrow = " <-> "
	}
	return ProtosName(r.Protos) + " " + ports + " " + r.From + arrow + r.To
}

// ruleLevel is the level as the run applied it, with the rule's phase.
func ruleLevel(rr *match.RuleResult) string {
	l := rr.Level.String()
	if rr.Rule.Phase != "" {
		l += " (" + rr.Rule.Phase + ")"
	}
	return l
}

// relationText says how a flow was accepted as related: "GETADDR of
// mountd (100005) in udp 10.0.0.1:700 -> 10.0.0.5:111".
func relationText(rel *match.Relation) string {
	how := rel.How.String()
	if rel.Program != 0 {
		how += fmt.Sprintf(" of %s (%d)", profile.RPCProgramName(rel.Program), rel.Program)
		if profile.RPCProgramName(rel.Program) == fmt.Sprint(rel.Program) {
			how = fmt.Sprintf("%s of program %d", rel.How, rel.Program)
		}
	}
	k, c := rel.Control, rel.ControlClient
	proto := k.Proto.String()
	return how + " in " + proto + " " + joinHostPort(k.Addr(c).String(), k.Port(c), proto) + " -> " +
		joinHostPort(k.Addr(c.Other()).String(), k.Port(c.Other()), proto)
}

// ruleCell is a flow's rule as the tables show it: the id, and for a
// related flow how it was announced.
func ruleCell(f *Flow) string {
	if f.Rule == nil {
		return ""
	}
	if f.Related != nil {
		return *f.Rule + " (related: " + f.Related.Text + ")"
	}
	return *f.Rule
}

// flowLine is one flow with everything that tells it from its siblings.
func flowLine(f *Flow) string {
	s := fmt.Sprintf("%s %s -> %s %s, %d %s, %d %s", f.Proto,
		joinHostPort(f.Client, f.ClientPort, f.Proto), joinHostPort(f.Server, f.ServerPort, f.Proto),
		f.State, f.Packets, textout.Plural(int(f.Packets), "packet", "packets"), f.Bytes, textout.Plural(int(f.Bytes), "byte", "bytes"))
	if f.First != nil {
		s += ", " + shortTime(*f.First) + " to " + shortTime(*f.Last)
	}
	if f.Related != nil {
		s += ", related: " + f.Related.Text + " under " + f.Related.Rule
	}
	return s
}

// failingFlows returns the findings of unexpected and forbidden flows,
// in their order, with the flows of each. The groups' flows are cut from
// one array, and a finding's group is found by its index: at a million
// failing flows, a slice and a map entry per group were most of JUnit's
// memory beyond text's.
func failingFlows(res *match.Result, problems []match.Problem, fs *match.Findings) []flowGroup {
	failing := func(p *match.Problem) bool {
		return p.Fails && p.Flow >= 0 && (p.Kind == match.ProblemUnexpected || p.Kind == match.ProblemForbidden)
	}
	var out []flowGroup
	var counts []int
	at := make([]int32, len(fs.List)) // 1 + the group of each finding; 0: none
	n := 0
	for k := range problems {
		p := &problems[k]
		if !failing(p) {
			continue
		}
		fi := fs.OfProblem(k)
		if at[fi] == 0 {
			f := &res.Flows[p.Flow]
			out = append(out, flowGroup{verdict: f.Verdict, rule: f.Rule, finding: &fs.List[fi]})
			counts = append(counts, 0)
			at[fi] = int32(len(out))
		}
		counts[at[fi]-1]++
		n++
	}
	flows := make([]int, n)
	for i, c := range counts {
		out[i].flows, flows = flows[:0:c], flows[c:]
	}
	for k := range problems {
		if p := &problems[k]; failing(p) {
			g := &out[at[fs.OfProblem(k)]-1]
			g.flows = append(g.flows, p.Flow)
		}
	}
	return out
}

// flowGroup is the failing flows of one finding; the first flow's What
// names it.
type flowGroup struct {
	verdict match.FlowVerdict
	rule    *profile.Rule
	finding *match.Finding
	flows   []int
}

// flowLineOf is flowLine for flow f of a result, without the report
// model's Flow (strings and RFC 3339 times for every field).
func flowLineOf(f *match.FlowResult) string { return string(appendFlowLine(make([]byte, 0, 128), f)) }

// appendFlowLine appends flowLineOf(f).
func appendFlowLine(b []byte, f *match.FlowResult) []byte {
	hasPorts := f.Proto.HasPorts()
	b = append(b, f.Proto.String()...)
	b = append(b, ' ')
	b = appendHostPort(b, f.Client(), f.ClientPort, hasPorts)
	b = append(b, " -> "...)
	b = appendHostPort(b, f.Server(), f.ServerPort, hasPorts)
	b = append(b, ' ')
	b = append(b, f.State.String()...)
	p, n := f.Flow.Total()
	b = append(b, ", "...)
	b = strconv.AppendUint(b, p, 10)
	b = append(b, textout.Plural(int(p), " packet", " packets")...)
	b = append(b, ", "...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, textout.Plural(int(n), " byte", " bytes")...)
	if p > 0 {
		b = append(b, ", "...)
		b = time.Unix(0, f.Flow.First).UTC().AppendFormat(b, shortTimeLayout)
		b = append(b, " to "...)
		b = time.Unix(0, f.Flow.Last).UTC().AppendFormat(b, shortTimeLayout)
	}
	if rel := f.Related(); rel != nil && f.Rule != nil {
		b = append(b, ", related: "...)
		b = append(b, relationText(rel)...)
		b = append(b, " under "...)
		b = append(b, f.Rule.ID()...)
	}
	return b
}

// ruleProblems maps each rule to its first problem (blocked, missing or
// inconclusive), if it has one: a rule with several blocked endpoints or
// missing parts has a problem for each.
func ruleProblems(problems []match.Problem) map[*profile.Rule]match.Problem {
	out := map[*profile.Rule]match.Problem{}
	for _, p := range problems {
		switch p.Kind {
		case match.ProblemBlocked, match.ProblemMissing, match.ProblemInconclusive:
			if _, ok := out[p.Rule]; !ok { // the first: failures come first, and a rule may have several
				out[p.Rule] = p
			}
		}
	}
	return out
}

// foldedText says how many flows beyond --max-flows were counted but not
// judged, or "" when none were.
func foldedText(rep *Report) string {
	fo := rep.Folded
	if fo == nil {
		return ""
	}
	n := fmt.Sprint(fo.Flows)
	if !fo.Exact {
		n = "at least " + n
	}
	return fmt.Sprintf("%s more flows beyond --max-flows in %d %s (counted, not judged)", n, len(fo.Services),
		textout.Plural(len(fo.Services), "service", "services"))
}

// tunnelsNote says, once where the tunnels are listed, what decapsulation
// meant for the report.
const tunnelsNote = "decapsulated: the flows inside them were judged; --tunnels off judges the outer packets"

// tunnelTexts words each tunnel the report decapsulated, as every format
// lists them: "vxlan 10.0.0.9 -> 10.0.0.10: 12 packets, 3 flows" (the flows
// whose first packet came out of it; JSON's flows[].tunnel names them).
// It is nil when no tunnel was decapsulated.
func tunnelTexts(res *match.Result, rep *Report) []string {
	if len(rep.Tunnels) == 0 {
		return nil
	}
	flows := map[string]int{}
	for _, name := range res.Obs.Tunneled {
		flows[name]++
	}
	out := make([]string, len(rep.Tunnels))
	for i, tc := range rep.Tunnels {
		out[i] = fmt.Sprintf("%s: %s, %s", tc.Tunnel, textout.Count(tc.Packets, "packet"), textout.Count(uint64(flows[tc.Tunnel]), "flow"))
	}
	return out
}

// filterText is the capture filter as every format's header shows it, or
// "" without one: a report of filtered traffic must say so, since the
// frames the filter left out were neither judged nor named.
func filterText(rep *Report) string {
	f := rep.Filter
	if f == nil {
		return ""
	}
	s := "-f " + strconv.Quote(f.Expression) + ": "
	switch {
	case f.Excluded == nil:
		return s + "the frames it excluded were not counted; a required flow not seen is inconclusive"
	case *f.Excluded == 0:
		return s + "no frame excluded"
	}
	return s + textout.Count(*f.Excluded, "frame") + " excluded; a required flow not seen is inconclusive"
}

// hostAbsent is what every format says after a --host that is in no flow.
const hostAbsent = " (WARNING: an endpoint of no flow in the capture, so no flow is the host's: check --host)"

// headline is the verdict in one line, as Text prints it.
func headline(res *match.Result, findings []match.Finding) string {
	switch res.Verdict {
	case match.NotConformant:
		n := 0
		for _, p := range findings {
			if p.Fails {
				n++
			}
		}
		return fmt.Sprintf("NOT CONFORMANT: %d %s", n, textout.Plural(n, "problem", "problems"))
	case match.Inconclusive:
		var why []string
		n := 0
		for _, rr := range res.Rules {
			if rr.Status == match.RuleInconclusive {
				n++
			}
		}
		switch {
		case n > 0 && len(res.Host) == 0:
			why = append(why, fmt.Sprintf("the host is unknown (no flow to infer it from; set --host), so %d required %s cannot be judged", n, textout.Plural(n, "rule", "rules")))
		case n > 0:
			why = append(why, fmt.Sprintf("%d required %s not seen in an incomplete observation", n, textout.Plural(n, "rule", "rules")))
		}
		if len(res.Obs.Folded.Services) > 0 {
			why = append(why, "flows beyond --max-flows were counted but not judged")
		}
		return "INCONCLUSIVE: no fault seen, but " + strings.Join(why, "; ")
	}
	return "CONFORMANT: every flow is expected and every required flow was seen"
}

// serverCell is the server with the names learned for it, as Text shows it.
func serverCell(f *Flow) string {
	return string(appendNames([]byte(joinHostPort(f.Server, f.ServerPort, f.Proto)), f.Names.ServerLabels()))
}

// appendNames appends " (name, name)", or nothing when there are none.
func appendNames(b []byte, names []string) []byte {
	if len(names) == 0 {
		return b
	}
	b = append(b, " ("...)
	for i, n := range names {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, n...)
	}
	return append(b, ')')
}

// serviceCell is the port's service, and what the payload really carried
// when that differs.
func serviceCell(f *Flow) string { return serviceText(f.Service, f.Mismatch, f.App) }

func serviceText(service string, mismatch bool, app string) string {
	switch {
	case mismatch:
		return service + " (carries " + app + "!)"
	case service == "" && app != "" && app != "unknown":
		return app
	}
	return service
}

// oneDirectionText says what a report must when the capture holds one
// direction of each flow only (Summary.OneDirection).
const oneDirectionText = "the capture holds one direction of each flow only (a one-sided SPAN port, tcpdump -Q); TCP states are judged from the acknowledgements it holds, UDP flows cannot show answers"

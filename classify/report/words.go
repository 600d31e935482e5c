package report

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/service"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// This file words what match hands up as data: each kind of problem has
// one function here that says what it is and what to do about it, and
// every format writes those words. Problems are worded after they fold
// (match.Findings): a million flow problems that fold to a few cost a few
// sentences, not a million.

// ProblemText words problem p of res in one line that starts with its
// kind ("blocked: ...") and says what to do about it.
func ProblemText(res *match.Result, p *match.Problem) string {
	switch p.Kind {
	case match.ProblemBlocked:
		return blockedText(res, p)
	case match.ProblemMissing:
		return missingText(res, p)
	case match.ProblemForbidden:
		return forbiddenText(res, p)
	case match.ProblemUnexpected:
		return unexpectedText(res, p)
	case match.ProblemInconclusive:
		return inconclusiveText(res, p)
	case match.ProblemDiscouraged:
		return discouragedText(res, p)
	case match.ProblemMismatch:
		return mismatchText(res, p)
	case match.ProblemFolded:
		return foldedProblemText(res)
	case match.ProblemFailedAttempt:
		return failedAttemptText(res, p)
	case match.ProblemUnbound:
		return unboundText(res, p)
	}
	return p.Kind.String()
}

// findingText is a finding's problem text with the number of flows it
// stands for, when the example is one of several. A blocked rule's text
// counts its failed attempts itself.
func findingText(res *match.Result, f *match.Finding) string {
	t := ProblemText(res, &f.Problem)
	if f.Flows <= 1 || f.Kind == match.ProblemBlocked {
		return t
	}
	return t + " (one of " + strconv.Itoa(f.Flows) + " flows with the same service, peer and outcome)"
}

func blockedText(res *match.Result, p *match.Problem) string {
	f := &res.Flows[p.Attempts[0]]
	more, others := "", ""
	if n := len(p.Attempts) - 1; n > 0 {
		more = fmt.Sprintf(" (and %d more failed attempts)", n)
	}
	if p.Endpoint {
		others = otherTargets(res, res.RuleResult(p.Rule), match.Target{Addr: f.Server(), Port: f.ServerPort})
	}
	return fmt.Sprintf("blocked: %s to %s: %s%s%s — %s; required by %s",
		ProtoPort(f.Proto, f.ServerPort), Endpoint(f.Server(), f.ServerLabels()), stateText(f), more, others, remedy(f), p.Rule.ID())
}

// otherTargets says, for a blocked endpoint, which other servers of the
// rule did answer: the reason the rule would otherwise have looked seen.
func otherTargets(res *match.Result, rr *match.RuleResult, blocked match.Target) string {
	var ok []string
	for _, i := range rr.Flows {
		f := &res.Flows[i]
		t := match.Target{Addr: f.Server(), Port: f.ServerPort}
		if t == blocked || f.State.Failed() {
			continue
		}
		s := ProtoPort(f.Proto, f.ServerPort) + " to " + f.Server().String()
		if !slices.Contains(ok, s) {
			ok = append(ok, s)
		}
	}
	switch len(ok) {
	case 0:
		return ""
	case 1, 2, 3:
		return " (while " + strings.Join(ok, ", ") + " worked)"
	}
	return fmt.Sprintf(" (while %s and %d more worked)", strings.Join(ok[:3], ", "), len(ok)-3)
}

// remedy says what a failed attempt most likely means.
func remedy(f *match.FlowResult) string {
	switch f.State {
	case flow.StateUnanswered:
		return "likely dropped by a firewall or security group"
	case flow.StateRefused:
		return "the server is reachable but nothing listens on the port, or a firewall rejects it"
	case flow.StateHalfOpen:
		return "the server answers but the handshake never completed: its SYN-ACK does not reach the client, or the client's ACK does not reach the server (a stateful firewall or asymmetric route on the way back)"
	case flow.StateUnreachable:
		return "a router or the server says it cannot be reached: check routes and firewall rules"
	}
	return "no answer"
}

const (
	neverAttempted = "was never attempted"
	checkService   = "check that the service is configured and that the capture covers a time when it runs"
)

func missingText(res *match.Result, p *match.Problem) string {
	rr := res.RuleResult(p.Rule)
	switch {
	case p.Part >= 0:
		return partText(rr, int(p.Part), "missing", neverAttempted)
	case p.Cause == match.CauseUnset:
		return unsetText(rr)
	}
	return ruleMissingText(rr.Rule, "missing", neverAttempted)
}

// unsetText says that a required rule cannot be judged until its group
// is bound: the document names addresses only the user knows.
func unsetText(rr *match.RuleResult) string {
	return fmt.Sprintf("missing: %s %s from %s to %s matched no flow: group %s matches no address until it is bound — bind it with %s to the addresses the document asks you to specify; required by %s",
		ProtosName(rr.Rule.Protos), strings.Join(rr.Rule.PortStrings(), ","), rr.Rule.From, rr.Rule.To, strings.Join(rr.Unset, ", "), peerFlags(rr.Unset), rr.Rule.ID())
}

// peerFlags is the --peer options that bind groups.
func peerFlags(groups []string) string {
	var binds []string
	for _, g := range groups {
		binds = append(binds, "--peer "+g+"=CIDR")
	}
	return strings.Join(binds, " ")
}

// ruleMissingText says that a required rule was not seen, as kind, and
// what.
func ruleMissingText(rule *profile.Rule, kind, what string) string {
	ports := strings.Join(rule.PortStrings(), ",")
	if ports != "" {
		ports = " " + ports
	}
	how := ""
	if rule.How != "" {
		how = " (" + rule.How + ")"
	}
	return fmt.Sprintf("%s: %s%s from %s to %s%s %s — %s; required by %s",
		kind, ProtosName(rule.Protos), ports, rule.From, rule.To, how, what, checkService, rule.ID())
}

// partText is ruleMissingText for part k of a rule with each.
func partText(rr *match.RuleResult, k int, kind, what string) string {
	var seen []string
	for _, q := range rr.Parts {
		if q.Status == match.RuleSeen {
			seen = append(seen, q.Label)
		}
	}
	also := ""
	if len(seen) > 0 {
		also = " (seen: " + strings.Join(seen, ", ") + ")"
	}
	return fmt.Sprintf("%s: %s %s from %s to %s %s, and the rule requires each of its %s%s — %s; required by %s",
		kind, ProtosName(rr.Rule.Protos), rr.Parts[k].Label, rr.Rule.From, rr.Rule.To, what, rr.Rule.Each, also, checkService, rr.Rule.ID())
}

func inconclusiveText(res *match.Result, p *match.Problem) string {
	rr := res.RuleResult(p.Rule)
	why := "was not seen, but the observation is incomplete (see inputs, losses and filter), so it may have happened unseen"
	switch p.Cause {
	case match.CauseNoHost:
		why = "was not seen, but the host is unknown (no flow to infer it from): set --host"
	case match.CauseUnverified:
		why = "was not seen by name: flows went to the group, but no DNS answer or TLS name in the capture says which of its names they reached"
	}
	if p.Part >= 0 {
		return partText(rr, int(p.Part), "inconclusive", why)
	}
	return ruleMissingText(rr.Rule, "inconclusive", why)
}

func forbiddenText(res *match.Result, p *match.Problem) string {
	f := &res.Flows[p.Flow]
	return "forbidden: " + FlowText(f) + " — " + ruleRef(f.Rule) + noteOf(f.Rule)
}

func discouragedText(res *match.Result, p *match.Problem) string {
	f := &res.Flows[p.Flow]
	return "discouraged: " + FlowText(f) + " — " + ruleRef(f.Rule) + noteOf(f.Rule)
}

func ruleRef(rule *profile.Rule) string {
	return fmt.Sprintf("rule %s (%s)", rule.ID(), rule.Level)
}

func noteOf(rule *profile.Rule) string {
	if rule.Note == "" {
		return ""
	}
	return ": " + rule.Note
}

func unexpectedText(res *match.Result, p *match.Problem) string {
	f := &res.Flows[p.Flow]
	advice := "no rule allows it: find the process or peer behind it, or add a rule if it is needed"
	if f.State.Failed() {
		advice = "no rule allows it, and the attempt failed: block it upstream, or add a rule if it is needed"
	}
	why := ""
	switch len(f.Why()) {
	case 0:
	case 1:
		why = " (" + f.Why()[0] + ")"
	default:
		why = fmt.Sprintf(" (%s; and %d more rules for which the names do not match)", f.Why()[0], len(f.Why())-1)
	}
	return "unexpected: " + FlowText(f) + " — " + advice + why
}

func mismatchText(res *match.Result, p *match.Problem) string {
	f := &res.Flows[p.Flow]
	return fmt.Sprintf("protocol mismatch: %s carries %s, not the %s its port normally carries — check what the server really runs",
		FlowText(f), strings.ToUpper(f.App.String()), strings.ToUpper(service.Expected(f.Proto, f.ServerPort).String()))
}

// foldedProblemText says that flows beyond the flow limit were counted per
// service but not judged, and which services they were.
func foldedProblemText(res *match.Result) string {
	fo := &res.Obs.Folded
	var top []string
	for i, s := range fo.Services {
		if i == 3 {
			top = append(top, fmt.Sprintf("and %d more", len(fo.Services)-i))
			break
		}
		top = append(top, fmt.Sprintf("%s %s (%s)", s.Direction, ProtoPort(s.Proto, s.ServerPort), textout.Count(s.Flows, "flow")))
	}
	n := fmt.Sprint(fo.Flows)
	if !fo.Exact {
		n = "at least " + n
	}
	return fmt.Sprintf("folded: %s flows beyond the flow limit were counted per service but not judged: %s — raise --max-flows or narrow the capture with --filter to judge them",
		n, strings.Join(top, ", "))
}

func failedAttemptText(res *match.Result, p *match.Problem) string {
	f := &res.Flows[p.Flow]
	how := "a later flow reached the same server and port (a retry that worked)"
	if p.Cause == match.CauseChanged {
		how = "earlier flows reached the same server and port, then this one failed: the path or the server changed during the capture"
	}
	return fmt.Sprintf("failed attempt: %s to %s: %s — %s; required by %s",
		ProtoPort(f.Proto, f.ServerPort), Endpoint(f.Server(), f.ServerLabels()), stateText(f), how, p.Rule.ID())
}

func unboundText(res *match.Result, p *match.Problem) string {
	rr := res.RuleResult(p.Rule)
	what := textout.Count(uint64(p.Count), "flow")
	if p.Inbound > 0 {
		what = fmt.Sprintf("%s (%d inbound, from any address)", what, p.Inbound)
	}
	tail := "; --strict makes this fail"
	if p.Fails {
		tail = " (--strict is in force)"
	}
	return fmt.Sprintf("unbound: %s accepted by rule %s only because group %s is unbound and matches any address — bind it with %s to the addresses the document means%s",
		what, rr.Rule.ID(), strings.Join(rr.Unbound, ", "), peerFlags(rr.Unbound), tail)
}

// FlowText says what a flow was in one phrase: direction, protocol and
// port, endpoints with their names, and how it went.
func FlowText(f *match.FlowResult) string { return flowWhat(f) + ", " + stateText(f) }

// flowWhat names a flow without its client port, state or counts: flows
// that differ only in those are one finding for a person (one connection
// retried from ten source ports is one unexpected flow to look into).
func flowWhat(f *match.FlowResult) string {
	svc := ""
	if f.Service() != "" {
		svc = " (" + f.Service() + ")"
	}
	return f.Direction.String() + " " + ProtoPort(f.Proto, f.ServerPort) + svc +
		" from " + Endpoint(f.Client(), f.ClientNames()) + " to " + Endpoint(f.Server(), f.ServerLabels())
}

// stateText says how a flow went, with the counts that prove it.
func stateText(f *match.FlowResult) string {
	c := f.ClientSide
	switch f.State {
	case flow.StateUnanswered:
		return textout.Count(uint64(f.Flow.SYNs[c]), "SYN") + ", no answer"
	case flow.StateRefused:
		return "refused (SYN answered by RST)"
	case flow.StateHalfOpen:
		from := textout.Count(f.Flow.Packets[c.Other()], "packet") + " from the server"
		if f.Flow.Packets[c] == 0 {
			return "half-open (SYN-ACK, " + from + ", never acknowledged; the client's packets are not in the capture)"
		}
		return "half-open (" + textout.Count(uint64(f.Flow.SYNs[c]), "SYN") + " answered by SYN-ACK, " + from + ", never acknowledged by the client)"
	case flow.StateUnreachable:
		return fmt.Sprintf("unreachable (%s from %s)", packet.UnreachableName(f.Flow.UnreachableType, f.Flow.UnreachableCode), netip.AddrFrom16(f.Flow.UnreachableFrom).Unmap())
	}
	p, b := f.Flow.Total()
	st := f.State.String()
	if f.OneSided() {
		side := "client"
		if f.Flow.Packets[c] > 0 {
			side = "server"
		}
		st += " (one-sided: the " + side + "'s packets are not in the capture)"
	}
	return st + ", " + textout.Count(p, "packet") + ", " + textout.Count(b, "byte")
}

// Endpoint formats an address with its learned names: "198.51.100.10
// (storagegateway.us-east-1.amazonaws.com)".
func Endpoint(addr netip.Addr, names []string) string {
	if len(names) == 0 {
		return addr.String()
	}
	return addr.String() + " (" + strings.Join(names, ", ") + ")"
}

// ProtoPort formats "TCP 443" or "ICMP".
func ProtoPort(p ipproto.Proto, port uint16) string {
	if !p.HasPorts() {
		return strings.ToUpper(p.String())
	}
	return strings.ToUpper(p.String()) + " " + strconv.Itoa(int(port))
}

// ProtosName spells a rule's protocols for people: "TCP", "UDP", "TCP/UDP".
func ProtosName(p profile.Protos) string {
	return strings.ReplaceAll(strings.ToUpper(strings.ReplaceAll(p.String(), "both", "tcp/udp")), "+", "/")
}

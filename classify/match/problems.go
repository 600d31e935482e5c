package match

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/service"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// ProblemKind classifies a problem.
type ProblemKind uint8

const (
	ProblemBlocked       ProblemKind = iota // a required rule saw only failed attempts
	ProblemMissing                          // a required rule saw nothing
	ProblemForbidden                        // a flow matched a forbidden rule
	ProblemUnexpected                       // a flow matched no rule
	ProblemInconclusive                     // a required rule saw nothing in an incomplete observation
	ProblemDiscouraged                      // a flow matched a discouraged rule (a warning)
	ProblemMismatch                         // a port carried another protocol than its usual one (a warning)
	ProblemFolded                           // flows beyond the flow limit were counted, not judged
	ProblemFailedAttempt                    // a required rule's endpoint failed once but was reached too (a warning)
	ProblemUnbound                          // flows accepted only because a peer group is unbound (fails with --strict)
)

func (k ProblemKind) String() string {
	return [...]string{"blocked", "missing", "forbidden", "unexpected", "inconclusive", "discouraged", "protocol-mismatch", "folded", "failed-attempt", "unbound"}[k]
}

// Problem is one finding, worded to say what to do about it.
type Problem struct {
	Kind ProblemKind
	// Fails is set for problems that make the observation non-conformant.
	Fails bool
	Rule  *profile.Rule // for rule problems, and the matching rule of flow problems
	Flow  int           // index into Result.Flows, or -1
	Text  string
}

// Problems lists the findings: failures first (blocked, missing, forbidden,
// unexpected), then what leaves the verdict open, then warnings.
func (r *Result) Problems() []Problem {
	var out []Problem
	for _, rr := range r.Rules {
		switch rr.Status {
		case RuleBlocked:
			n := len(out)
			for _, fe := range rr.Failed {
				if !fe.Reached {
					out = append(out, Problem{ProblemBlocked, true, rr.Rule, fe.Flows[0], r.blockedText(rr, fe.Flows, r.otherTargets(rr, fe.Target))})
				}
			}
			if len(out) == n { // a blocked part whose endpoint some flow reached under another name
				out = append(out, Problem{ProblemBlocked, true, rr.Rule, rr.Flows[0], r.blockedText(rr, rr.Flows, "")})
			}
		case RuleMissing:
			switch {
			case len(rr.Flows) > 0:
			case len(rr.Unset) > 0:
				out = append(out, Problem{ProblemMissing, true, rr.Rule, -1, unsetText(rr)})
			default:
				out = append(out, Problem{ProblemMissing, true, rr.Rule, -1, missingText(rr, "missing", "was never attempted")})
			}
		}
		if rr.Status == RuleMissing || rr.Status == RuleBlocked {
			for _, p := range rr.Parts {
				if p.Status == RuleMissing {
					out = append(out, Problem{ProblemMissing, true, rr.Rule, -1, partText(rr, p, "missing", "was never attempted")})
				}
			}
		}
	}
	out = append(out, r.perFlow(func(out []Problem, i int, f *FlowResult) []Problem {
		switch f.Verdict {
		case Forbidden:
			out = append(out, Problem{ProblemForbidden, true, f.Rule, i,
				fmt.Sprintf("forbidden: %s — %s%s", f.Describe(), ruleRef(f.Rule), noteOf(f.Rule))})
		case Unexpected:
			out = append(out, Problem{ProblemUnexpected, true, nil, i, r.unexpectedText(f)})
		}
		return out
	})...)
	if r.Strict {
		out = append(out, r.unboundProblems()...)
	}
	why := "was not seen, but the observation is incomplete (see inputs, losses and filter), so it may have happened unseen"
	if len(r.Host) == 0 {
		why = "was not seen, but the host is unknown (no flow to infer it from): set --host"
	}
	for _, rr := range r.Rules {
		if rr.Status == RuleInconclusive && len(rr.Flows) == 0 {
			out = append(out, Problem{ProblemInconclusive, false, rr.Rule, -1, missingText(rr, "inconclusive", why)})
		}
		for _, p := range rr.Parts {
			switch {
			case p.Status != RuleInconclusive:
			case p.Unverified:
				out = append(out, Problem{ProblemInconclusive, false, rr.Rule, -1,
					partText(rr, p, "inconclusive", "was not seen by name: flows went to the group, but no DNS answer or TLS name in the capture says which of its names they reached")})
			default:
				out = append(out, Problem{ProblemInconclusive, false, rr.Rule, -1,
					partText(rr, p, "inconclusive", why)})
			}
		}
	}

	if p, ok := r.foldedProblem(); ok {
		out = append(out, p)
	}
	out = append(out, r.perFlow(func(out []Problem, i int, f *FlowResult) []Problem {
		if f.Verdict == Discouraged {
			out = append(out, Problem{ProblemDiscouraged, false, f.Rule, i,
				fmt.Sprintf("discouraged: %s — %s%s", f.Describe(), ruleRef(f.Rule), noteOf(f.Rule))})
		}
		if f.Mismatch {
			out = append(out, Problem{ProblemMismatch, false, f.Rule, i,
				fmt.Sprintf("protocol mismatch: %s carries %s, not the %s its port normally carries — check what the server really runs",
					f.Describe(), strings.ToUpper(f.App.String()), strings.ToUpper(service.Expected(f.Proto, f.ServerPort).String()))})
		}
		return out
	})...)
	for _, rr := range r.Rules {
		for _, fe := range rr.Failed {
			if fe.Reached && fe.Flows[0] < len(r.Flows) {
				f := &r.Flows[fe.Flows[0]]
				how := "a later flow reached the same server and port (a retry that worked)"
				if !fe.Later {
					how = "earlier flows reached the same server and port, then this one failed: the path or the server changed during the capture"
				}
				out = append(out, Problem{ProblemFailedAttempt, false, rr.Rule, fe.Flows[0], fmt.Sprintf(
					"failed attempt: %s to %s: %s — %s; required by %s",
					ProtoPort(f.Proto, f.ServerPort), Endpoint(f.Server(), f.ServerLabels()), stateText(f), how, rr.Rule.ID())})
			}
		}
	}
	if !r.Strict {
		out = append(out, r.unboundProblems()...)
	}
	return out
}

// unboundProblems lists, per rule, the flows it accepted only because a
// peer group is unbound: warnings, or failures in a strict run.
func (r *Result) unboundProblems() []Problem {
	fails := r.Strict
	var out []Problem
	for _, rr := range r.Rules {
		if len(rr.Unbound) == 0 || len(rr.Flows) == 0 {
			continue
		}
		first, inbound, n := -1, 0, 0
		for _, i := range rr.Flows {
			if i >= len(r.Flows) {
				break // a result whose flows were dropped (a summary)
			}
			f := &r.Flows[i]
			if f.Rule != rr.Rule || len(r.UnboundOf(f)) == 0 {
				continue // another rule decided the flow, or a bound one allowed it
			}
			if first < 0 {
				first = i
			}
			n++
			if f.Direction == Inbound {
				inbound++
			}
		}
		if n == 0 {
			continue
		}
		var binds []string
		for _, g := range rr.Unbound {
			binds = append(binds, "--peer "+g+"=CIDR")
		}
		what := textout.Count(uint64(n), "flow")
		if inbound > 0 {
			what = fmt.Sprintf("%s (%d inbound, from any address)", what, inbound)
		}
		tail := "; --strict makes this fail"
		if fails {
			tail = " (--strict is in force)"
		}
		out = append(out, Problem{ProblemUnbound, fails, rr.Rule, first, fmt.Sprintf(
			"unbound: %s accepted by rule %s only because group %s is unbound and matches any address — bind it with %s to the addresses the document means%s",
			what, rr.Rule.ID(), strings.Join(rr.Unbound, ", "), strings.Join(binds, " "), tail)})
	}
	return out
}

// otherTargets says, for a blocked endpoint, which other servers of the
// rule did answer: the reason the rule would otherwise have looked seen.
func (r *Result) otherTargets(rr RuleResult, blocked Target) string {
	var ok []string
	for _, i := range rr.Flows {
		f := &r.Flows[i]
		t := Target{f.Server(), f.ServerPort}
		if t == blocked || failedAttempt(f.State) {
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

// unsetText says that a required rule cannot be judged until its group
// is bound: the document names addresses only the user knows.
func unsetText(rr RuleResult) string {
	var binds []string
	for _, g := range rr.Unset {
		binds = append(binds, "--peer "+g+"=CIDR")
	}
	return fmt.Sprintf("missing: %s %s from %s to %s matched no flow: group %s matches no address until it is bound — bind it with %s to the addresses the document asks you to specify; required by %s",
		ProtosName(rr.Rule.Protos), strings.Join(rr.Rule.PortStrings(), ","), rr.Rule.From, rr.Rule.To, strings.Join(rr.Unset, ", "), strings.Join(binds, " "), rr.Rule.ID())
}

// partText is missingText for one part of a rule with each.
func partText(rr RuleResult, p Part, kind, what string) string {
	var seen []string
	for _, q := range rr.Parts {
		if q.Status == RuleSeen {
			seen = append(seen, q.Label)
		}
	}
	also := ""
	if len(seen) > 0 {
		also = " (seen: " + strings.Join(seen, ", ") + ")"
	}
	return fmt.Sprintf("%s: %s %s from %s to %s %s, and the rule requires each of its %s%s — check that the service is configured and that the capture covers a time when it runs; required by %s",
		kind, ProtosName(rr.Rule.Protos), p.Label, rr.Rule.From, rr.Rule.To, what, rr.Rule.Each, also, rr.Rule.ID())
}

// perFlow returns what add appends for each flow, in the flows' order. The
// CPUs share the flows (inParts), as in Evaluate: when every flow is a
// problem, writing their texts one by one was nearly half of the report's
// time.
func (r *Result) perFlow(add func(out []Problem, i int, f *FlowResult) []Problem) []Problem {
	outs := make([][]Problem, partsOf(len(r.Flows)))
	inParts(len(r.Flows), len(outs), func(part, lo, hi int) {
		for i := lo; i < hi; i++ {
			outs[part] = add(outs[part], i, &r.Flows[i])
		}
	})
	return slices.Concat(outs...)
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

// Endpoint formats an address with its learned names.
func Endpoint(addr fmt.Stringer, names []string) string {
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

// Describe says what a flow was in one phrase: direction, protocol and
// port, endpoints with their names, and how it went.
func (f *FlowResult) Describe() string { return f.What() + ", " + stateText(f) }

// What names a flow without its client port, state or counts: flows that
// differ only in those are one finding for a person (one connection retried
// from ten source ports is one unexpected flow to look into).
func (f *FlowResult) What() string {
	svc := ""
	if f.Service() != "" {
		svc = " (" + f.Service() + ")"
	}
	// Concatenation, not Sprintf: one line per flow when every flow fails.
	return f.Direction.String() + " " + ProtoPort(f.Proto, f.ServerPort) + svc +
		" from " + Endpoint(f.Client(), f.ClientNames()) + " to " + Endpoint(f.Server(), f.ServerLabels())
}

// stateText says how a flow went, with the counts that prove it.
func stateText(f *FlowResult) string {
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
		return fmt.Sprintf("unreachable (%s from %s)", UnreachableName(f.Flow.UnreachableType, f.Flow.UnreachableCode), netip.AddrFrom16(f.Flow.UnreachableFrom).Unmap())
	}
	p, b := f.Flow.Total()
	st := f.State.String()
	if f.OneSided() {
		st += " (one-sided: the " + map[bool]string{true: "server", false: "client"}[f.Flow.Packets[c] > 0] + "'s packets are not in the capture)"
	}
	return st + ", " + textout.Count(p, "packet") + ", " + textout.Count(b, "byte")
}

func (r *Result) blockedText(rr RuleResult, idx []int, others string) string {
	f := &r.Flows[idx[0]]
	more := ""
	if n := len(idx) - 1; n > 0 {
		more = fmt.Sprintf(" (and %d more failed attempts)", n)
	}
	return fmt.Sprintf("blocked: %s to %s: %s%s%s — %s; required by %s",
		ProtoPort(f.Proto, f.ServerPort), Endpoint(f.Server(), f.ServerLabels()), stateText(f), more, others, remedy(f), rr.Rule.ID())
}

// remedy says what a failed attempt most likely means.
func remedy(f *FlowResult) string {
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

func missingText(rr RuleResult, kind, what string) string {
	rule := rr.Rule
	ports := strings.Join(rule.PortStrings(), ",")
	if ports != "" {
		ports = " " + ports
	}
	how := ""
	if rule.How != "" {
		how = " (" + rule.How + ")"
	}
	return fmt.Sprintf("%s: %s%s from %s to %s%s %s — check that the service is configured and that the capture covers a time when it runs; required by %s",
		kind, ProtosName(rule.Protos), ports, rule.From, rule.To, how, what, rule.ID())
}

func (r *Result) unexpectedText(f *FlowResult) string {
	advice := "no rule allows it: find the process or peer behind it, or add a rule if it is needed"
	if failedAttempt(f.State) {
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
	return "unexpected: " + f.Describe() + " — " + advice + why
}

// UnreachableName names an ICMP destination-unreachable message by its type
// (3 for ICMPv4, 1 for ICMPv6, which do not collide) and code.
func UnreachableName(typ, code uint8) string {
	table, prefix := icmp4Unreach, "ICMP "
	if typ == 1 {
		table, prefix = icmp6Unreach, "ICMPv6 "
	}
	if int(code) < len(table) {
		return prefix + table[code]
	}
	return fmt.Sprintf("%sunreachable code %d", prefix, code)
}

var icmp6Unreach = []string{
	0: "no route to destination", 1: "administratively prohibited", 2: "beyond scope of source address",
	3: "address unreachable", 4: "port unreachable", 5: "source address failed ingress/egress policy",
	6: "reject route to destination",
}

var icmp4Unreach = []string{
	0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
	4: "fragmentation needed", 5: "source route failed", 6: "net unknown", 7: "host unknown",
	8: "source host isolated", 9: "net prohibited", 10: "host prohibited", 11: "net unreachable for TOS",
	12: "host unreachable for TOS", 13: "administratively prohibited", 14: "host precedence violation",
	15: "precedence cutoff",
}

// ProtosName spells a rule's protocols for people: "TCP", "UDP", "TCP/UDP".
func ProtosName(p profile.Protos) string {
	return strings.ReplaceAll(strings.ToUpper(strings.ReplaceAll(p.String(), "both", "tcp/udp")), "+", "/")
}

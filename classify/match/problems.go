package match

import (
	"github.com/wirecheck/wirecheck/classify/profile"
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

// Cause says why a problem of a kind arose, where a kind has more than one
// cause that changes what to do about it.
type Cause uint8

const (
	CauseNone       Cause = iota
	CauseUnset            // missing: a group of the rule matches no address until --peer binds it (RuleResult.Unset)
	CauseIncomplete       // inconclusive: the observation is incomplete (inputs stopped, losses, a filter)
	CauseNoHost           // inconclusive: no host was given and no flow showed one
	CauseUnverified       // inconclusive part: flows went to the group, but no name the capture learned says which part
	CauseRetried          // failed attempt: a later flow reached the endpoint (a retry that worked)
	CauseChanged          // failed attempt: earlier flows reached the endpoint, then this one failed
)

// Problem is one finding, as data: its kind, the rule and the flow it is
// about, and the facts that tell it from others of its kind. The report
// words it (report.ProblemText); a layer below the report hands up facts,
// never sentences, and a million problems cost no text until they fold.
type Problem struct {
	Kind ProblemKind
	// Fails is set for problems that make the observation non-conformant.
	Fails bool
	Cause Cause
	// Endpoint is set on a blocked problem about one endpoint of its
	// rule (RuleResult.Failed): other servers of the rule may have worked.
	Endpoint bool
	// Part is, for a missing or inconclusive problem about one part of a
	// rule with each, the index of that part in the rule's
	// RuleResult.Parts; -1 otherwise.
	Part int32
	// Count is, for an unbound problem, how many flows the rule accepted
	// only through an unbound group, Inbound how many of them were
	// inbound (from any address).
	Count, Inbound int32
	Rule           *profile.Rule // for rule problems, and the matching rule of flow problems
	Flow           int           // index into Result.Flows, or -1
	// Attempts are, for a blocked or failed-attempt problem, the failed
	// attempts it stands for (indexes into Result.Flows, shared with the
	// RuleResult: not to be modified): its endpoint's, or every flow of
	// the rule when Endpoint is unset.
	Attempts []int
}

// Problems lists the findings: failures first (blocked, missing, forbidden,
// unexpected), then what leaves the verdict open, then warnings.
//
// A problem per failing flow is a few stores, no text: the list is sized
// once (growing it by appending copied and cleared it again and again,
// most of its cost) and filled in one pass per kind, on one CPU.
func (r *Result) Problems() []Problem {
	n := 1 // the folded flows
	for i := range r.Rules {
		rr := &r.Rules[i]
		n += 4 + 2*len(rr.Failed) + 2*len(rr.Parts) // blocked or missing, unset, inconclusive, unbound
	}
	for i := range r.Flows {
		f := &r.Flows[i]
		if f.Verdict != Expected {
			n++
		}
		if f.Mismatch {
			n++
		}
	}
	out := make([]Problem, 0, n)
	rule := func(kind ProblemKind, fails bool, rr *RuleResult, cause Cause, part int) Problem {
		return Problem{Kind: kind, Fails: fails, Cause: cause, Rule: rr.Rule, Flow: -1, Part: int32(part)}
	}
	for i := range r.Rules {
		rr := &r.Rules[i]
		switch rr.Status {
		case RuleBlocked:
			n := len(out)
			for _, fe := range rr.Failed {
				if !fe.Reached {
					out = append(out, Problem{Kind: ProblemBlocked, Fails: true, Rule: rr.Rule, Flow: fe.Flows[0], Part: -1, Attempts: fe.Flows, Endpoint: true})
				}
			}
			if len(out) == n { // a blocked part whose endpoint some flow reached under another name
				out = append(out, Problem{Kind: ProblemBlocked, Fails: true, Rule: rr.Rule, Flow: rr.Flows[0], Part: -1, Attempts: rr.Flows})
			}
		case RuleMissing:
			switch {
			case len(rr.Flows) > 0:
			case len(rr.Unset) > 0:
				out = append(out, rule(ProblemMissing, true, rr, CauseUnset, -1))
			default:
				out = append(out, rule(ProblemMissing, true, rr, CauseNone, -1))
			}
		}
		if rr.Status == RuleMissing || rr.Status == RuleBlocked {
			for k, p := range rr.Parts {
				if p.Status == RuleMissing {
					out = append(out, rule(ProblemMissing, true, rr, CauseNone, k))
				}
			}
		}
	}
	for i := range r.Flows {
		f := &r.Flows[i]
		switch f.Verdict {
		case Forbidden:
			out = append(out, Problem{Kind: ProblemForbidden, Fails: true, Rule: f.Rule, Flow: i, Part: -1})
		case Unexpected:
			out = append(out, Problem{Kind: ProblemUnexpected, Fails: true, Flow: i, Part: -1})
		}
	}
	if r.Strict {
		out = append(out, r.unboundProblems()...)
	}
	why := CauseIncomplete
	if len(r.Host) == 0 {
		why = CauseNoHost
	}
	for i := range r.Rules {
		rr := &r.Rules[i]
		if rr.Status == RuleInconclusive && len(rr.Flows) == 0 {
			out = append(out, rule(ProblemInconclusive, false, rr, why, -1))
		}
		for k, p := range rr.Parts {
			switch {
			case p.Status != RuleInconclusive:
			case p.Unverified:
				out = append(out, rule(ProblemInconclusive, false, rr, CauseUnverified, k))
			default:
				out = append(out, rule(ProblemInconclusive, false, rr, why, k))
			}
		}
	}

	if len(r.Obs.Folded.Services) > 0 {
		// Flows beyond the flow limit were counted per service but not
		// judged (Observation.Folded): a forbidden or unexpected flow may
		// be among them, so a clean verdict cannot be given.
		out = append(out, Problem{Kind: ProblemFolded, Flow: -1, Part: -1})
	}
	for i := range r.Flows {
		f := &r.Flows[i]
		if f.Verdict == Discouraged {
			out = append(out, Problem{Kind: ProblemDiscouraged, Rule: f.Rule, Flow: i, Part: -1})
		}
		if f.Mismatch {
			out = append(out, Problem{Kind: ProblemMismatch, Rule: f.Rule, Flow: i, Part: -1})
		}
	}
	for _, rr := range r.Rules {
		for _, fe := range rr.Failed {
			if fe.Reached && fe.Flows[0] < len(r.Flows) {
				cause := CauseRetried
				if !fe.Later {
					cause = CauseChanged
				}
				out = append(out, Problem{Kind: ProblemFailedAttempt, Cause: cause, Rule: rr.Rule, Flow: fe.Flows[0], Part: -1, Attempts: fe.Flows})
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
		out = append(out, Problem{Kind: ProblemUnbound, Fails: r.Strict, Rule: rr.Rule, Flow: first, Part: -1, Count: int32(n), Inbound: int32(inbound)})
	}
	return out
}

// RuleResult returns the result of rule, which is one of r's (a problem's
// rule), or nil.
func (r *Result) RuleResult(rule *profile.Rule) *RuleResult {
	for i := range r.Rules {
		if r.Rules[i].Rule == rule {
			return &r.Rules[i]
		}
	}
	return nil
}

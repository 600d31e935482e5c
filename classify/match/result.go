package match

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"runtime"
	"slices"
	"sync"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/service"
	"github.com/wirecheck/wirecheck/internal/pages"
)

// Direction is a flow's direction relative to the agent host.
type Direction uint8

const (
	Inbound  Direction = iota // a peer opened it to the host
	Outbound                  // the host opened it
	Local                     // both ends are the host
	Transit                   // neither end is the host
)

func (d Direction) String() string {
	return [...]string{"inbound", "outbound", "local", "transit"}[d]
}

// FlowVerdict is the judgement of one flow.
type FlowVerdict uint8

const (
	Expected    FlowVerdict = iota // an allowed or required rule matches
	Discouraged                    // a discouraged rule matches
	Forbidden                      // a forbidden rule matches
	Unexpected                     // no rule matches
)

func (v FlowVerdict) String() string {
	return [...]string{"expected", "discouraged", "forbidden", "unexpected"}[v]
}

// Fails reports whether the verdict makes the observation non-conformant.
func (v FlowVerdict) Fails() bool { return v == Forbidden || v == Unexpected }

// FlowResult is one judged flow.
type FlowResult struct {
	// Flow is the flow judged: Evaluate's results point into the
	// Observation's flows rather than copy them (a copy was a third of a
	// result's size).
	Flow *flow.Flow

	// The one-byte fields sit together: padding between them was a tenth
	// of a result, which Evaluate holds for every flow.
	Proto                  ipproto.Proto
	ClientPort, ServerPort uint16
	ClientSide             flow.Side
	Method                 flow.Method // how the client was told from the server
	Direction              Direction
	State                  flow.State
	App                    service.App // the protocol recognised in the payload
	Mismatch               bool        // App contradicts the server port's usual protocol
	Verdict                FlowVerdict
	Level                  profile.Level // the deciding rule's level in this run

	Rule *profile.Rule // the rule that decided the verdict, nil when unexpected

	// x holds the matching rules, the names and the explanations, which
	// results with the same share, nil when there are none: Evaluate keeps
	// a result per flow, and these fields inline were most of one.
	x *extra
}

type extra struct {
	rules                    []*profile.Rule
	clientNames, serverNames []string
	sni                      string
	unverified, why          []string
	serverLabels             []string // serverNames, else the SNI
	related                  *Relation
}

// noExtra is the extra of a result that has none; never written.
var noExtra extra

func (f *FlowResult) extra() *extra {
	if f.x == nil {
		return &noExtra
	}
	return f.x
}

// Rules returns every rule that matched; results share the list, so the
// caller must not modify it.
func (f *FlowResult) Rules() []*profile.Rule { return f.extra().rules }

// Client and Server return the flow's endpoint addresses.
func (f *FlowResult) Client() netip.Addr { return f.Flow.Key.Addr(f.ClientSide) }
func (f *FlowResult) Server() netip.Addr { return f.Flow.Key.Addr(f.ClientSide.Other()) }

// Service returns the server port's service name ("" for ICMP).
func (f *FlowResult) Service() string {
	if !f.Proto.HasPorts() {
		return ""
	}
	return service.Name(f.Proto, f.ServerPort)
}

// ClientNames and ServerNames return the host names learned for the
// endpoints. Results share them: the caller must not modify them.
func (f *FlowResult) ClientNames() []string { return f.extra().clientNames }
func (f *FlowResult) ServerNames() []string { return f.extra().serverNames }

// ServerLabels returns what people know the server by: the names DNS gave
// it, else the name a TLS client asked for (SNI), else nothing.
func (f *FlowResult) ServerLabels() []string { return f.extra().serverLabels }

// ServerHosts returns every name the server's name patterns are matched
// against: its names and its SNI.
func (f *FlowResult) ServerHosts() []string { return serverHosts(f.ServerNames(), f.SNI()) }

// SNI returns the server name the TLS client asked for, if one was seen.
func (f *FlowResult) SNI() string { return f.extra().sni }

// Unverified explains matches made on a name-pattern peer whose name the
// capture never showed.
func (f *FlowResult) Unverified() []string { return f.extra().unverified }

// Why explains, for an unexpected flow, the rules that nearly matched.
func (f *FlowResult) Why() []string { return f.extra().why }

// Packets and Bytes of both directions.
func (f *FlowResult) Packets() uint64 { p, _ := f.Flow.Total(); return p }
func (f *FlowResult) Bytes() uint64   { _, b := f.Flow.Total(); return b }

// OneSided reports whether only one side of the flow was captured while
// that side's packets prove the other took part (flow.Flow.OneSided): its
// state was judged from one direction.
func (f *FlowResult) OneSided() bool { return f.Flow.OneSided(f.ClientSide) }

// OneDirection reports whether the whole observation holds one direction
// only: no flow has packets from both sides, and at least one flow's
// packets prove that the other direction existed (a one-sided SPAN port,
// tcpdump -Q in or out). UDP flows in such a capture cannot show answers.
func (r *Result) OneDirection() bool {
	proven := false
	for i := range r.Flows {
		f := r.Flows[i].Flow
		if f.Packets[0] > 0 && f.Packets[1] > 0 {
			return false
		}
		proven = proven || r.Flows[i].OneSided()
	}
	return proven
}

// ClientPackets returns what the client and the server each sent.
func (f *FlowResult) Sent(fromClient bool) (packets, bytes uint64) {
	s := f.ClientSide
	if !fromClient {
		s = s.Other()
	}
	return f.Flow.Packets[s], f.Flow.Bytes[s]
}

// RuleStatus is what the observation shows of a rule.
type RuleStatus uint8

const (
	RuleUnused       RuleStatus = iota // a rule that is not required matched nothing
	RuleSeen                           // a flow matched that was not a failed attempt
	RuleBlocked                        // only failed attempts (refused, unanswered, half-open, unreachable) matched
	RuleMissing                        // a required rule matched nothing
	RuleInconclusive                   // a required rule matched nothing, but the observation is incomplete
	RuleInactive                       // the rule's phase is not the one being checked
)

func (s RuleStatus) String() string {
	return [...]string{"unused", "seen", "blocked", "missing", "inconclusive", "inactive"}[s]
}

// RuleResult is one rule's outcome.
type RuleResult struct {
	Rule     *profile.Rule
	Level    profile.Level // in this run, after the phase
	Required bool
	Status   RuleStatus
	Flows    []int // indexes into Result.Flows
	// Failed lists, for a required rule, each endpoint its flows tried and
	// failed to reach: one that no flow of the rule reached makes the rule
	// blocked, whatever its other endpoints did.
	Failed []FailedEndpoint
	// Parts is, for a required rule with each (ports or peers), the status
	// of each part; the rule is seen only when every part is.
	Parts []Part
	// Unbound lists the rule's peer groups that no --peer bound and that
	// name no address: they matched any address.
	Unbound []string
	// Unset lists the rule's groups that match no address until --peer
	// binds them (unbound: none): the rule cannot match until then.
	Unset []string
}

// Target is a server a rule's flows went to: its address and port (0
// for ICMP echo).
type Target struct {
	Addr netip.Addr
	Port uint16
}

// FailedEndpoint is an endpoint of a rule that flows tried and failed to
// reach.
type FailedEndpoint struct {
	Target
	Flows []int // the failed attempts, indexes into Result.Flows
	// Reached is set when another flow of the rule reached the endpoint (a
	// retry that worked, or a firewall that changed during the capture):
	// a warning, not a failure.
	Reached bool
	// Later is set when a flow that reached the endpoint began after the
	// first failed attempt (a retry that worked); when Reached and not
	// Later, the endpoint worked before and then failed.
	Later bool
}

// Part is one thing a rule with each requires: a port, or one address or
// name pattern of its server group.
type Part struct {
	Label  string     // "port 635", "cp.datasync.{region}.amazonaws.com", "10.0.0.0/24"
	Status RuleStatus // seen, blocked, missing or inconclusive
	// Unverified is set when no flow is known to have reached the part but
	// flows to the group whose names were never learned may have: the
	// part is then inconclusive rather than missing.
	Unverified bool
}

// failedAttempt reports whether a flow in state s tried to reach its server
// and did not: every judgement of a failed attempt goes through here, so a
// new flow state (a half-open handshake) is picked up in one place.
func failedAttempt(s flow.State) bool { return s.Failed() }

// Verdict is the outcome of a whole observation.
type Verdict uint8

const (
	Conformant    Verdict = iota
	NotConformant         // an unexpected or forbidden flow, or a blocked or missing required rule
	Inconclusive          // no fault seen, but a required rule was not seen in an incomplete observation, flows were folded unjudged, or no frame could be decoded
)

func (v Verdict) String() string {
	return [...]string{"conformant", "not-conformant", "inconclusive"}[v]
}

// Result is the judged observation.
type Result struct {
	Verdict      Verdict
	Host         []netip.Prefix
	HostInferred bool
	// HostAbsent is set when the host was given (--host) but is an
	// endpoint of no flow: a typo, or a capture of another machine.
	HostAbsent bool
	Phase      string
	Region     string
	Profiles   []string
	Flows      []FlowResult
	Rules      []RuleResult
	Obs        *classify.Observation
	// Strict is set when a flow accepted only because a peer group is
	// unbound fails the check (--strict, or a profile's strict: true).
	Strict bool

	// unbound maps each rule with an unbound group to its Unbound, for
	// UnboundOf, which reports ask once per flow.
	unbound map[*profile.Rule][]string
}

// warmFlows is how many flows warm loads ahead of judging.
const warmFlows = 128

// warm loads flows[i] for each i of order into cache, in a loop that does
// nothing else: flows are judged in report order, a random walk over them,
// and this loop keeps dozens of those loads in flight where judging waited
// for each in turn.
//
//go:noinline
func warm(flows []flow.Flow, order []int32) (sum uint64) {
	for _, i := range order {
		sum += flows[i].Touch()
	}
	return sum
}

// minPart is the fewest flows worth a goroutine of their own (inParts).
const minPart = 4096

// partsOf is how many parts inParts splits n flows into: one per CPU, but
// none of fewer than minPart flows.
func partsOf(n int) int { return min(runtime.GOMAXPROCS(0), max(1, n/minPart)) }

// inParts calls work for n flows split into parts contiguous parts [lo, hi)
// (partsOf), each on a goroutine, and returns when all are done. part
// numbers the parts from 0 in the flows' order.
func inParts(n, parts int, work func(part, lo, hi int)) {
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() { work(p, p*n/parts, (p+1)*n/parts) })
	}
	wg.Wait()
}

// Evaluate judges a whole observation.
func (m *Matcher) Evaluate(obs *classify.Observation) *Result {
	res := &Result{Obs: obs, Phase: m.opts.Phase, Region: m.opts.Region, Host: m.opts.Host, Strict: m.strict}
	for _, p := range m.set.Profiles {
		res.Profiles = append(res.Profiles, p.Name)
	}
	// Finding the host and ordering the flows are independent passes over
	// them: they run at once.
	var inferred sync.WaitGroup
	if len(res.Host) == 0 {
		inferred.Go(func() {
			for _, a := range flow.InferHost(obs.Flows) {
				res.Host = append(res.Host, netip.PrefixFrom(a, a.BitLen()))
			}
			res.HostInferred = len(res.Host) > 0
		})
	}
	hints := m.PortHints()
	order, roles := reportOrder(obs.Flows, hints)
	inferred.Wait()
	ctx := flowContext{host: hostSet(res.Host), names: obs.Names, sni: obs.ServerNames, hints: hints}
	if obs.Names != nil {
		ctx.named = newNameFilter(obs.Names)
	}
	res.Flows = make([]FlowResult, len(obs.Flows))
	pages.Prefault(res.Flows) // page faults, not judging, were most of the cost for 1M flows
	// Flows are judged independently; each part has its own caches.
	inParts(len(order), partsOf(len(order)), func(_, lo, hi int) {
		ctx := ctx
		ctx.hosts, ctx.extras, ctx.ruleSets = map[netip.Addr][]string{}, map[extraKey]*extra{}, map[ruleSetKey][]*profile.Rule{}
		ctx.last = &lastShared{}
		for j := lo; j < hi; j++ {
			if (j-lo)%warmFlows == 0 {
				warm(obs.Flows, order[j:min(j+warmFlows, hi)])
			}
			i := order[j]
			m.judge(&res.Flows[j], &obs.Flows[i], roles[i].client, roles[i].method, ctx)
		}
	})

	m.relate(res, ctx)

	byRule := map[*profile.Rule]int{} // index in res.Rules
	for _, c := range m.rules {
		rr := RuleResult{Rule: c.r, Level: c.level, Required: c.active && c.level == profile.LevelRequired, Unbound: c.unbound, Unset: c.unset}
		if !c.active {
			rr.Status = RuleInactive
		}
		res.Rules = append(res.Rules, rr)
	}
	res.unbound = map[*profile.Rule][]string{}
	for i := range res.Rules {
		byRule[res.Rules[i].Rule] = i
		if u := res.Rules[i].Unbound; len(u) > 0 {
			res.unbound[res.Rules[i].Rule] = u
		}
	}
	// Each rule's flows are counted, then placed in one array: appending
	// them grew and copied each list, faulting in as many pages again.
	// In report order neighbours mostly matched the same rule: the last
	// one's index is at hand without hashing it.
	var lastRule *profile.Rule
	lastAt := 0
	ruleAt := func(r *profile.Rule) int {
		if r != lastRule {
			lastRule, lastAt = r, byRule[r]
		}
		return lastAt
	}
	counts := make([]int, len(res.Rules))
	n := 0
	for i := range res.Flows {
		for _, r := range res.Flows[i].Rules() {
			counts[ruleAt(r)]++
			n++
		}
	}
	all := make([]int, n)
	pages.Prefault(all)
	for i, k := range counts {
		if k > 0 { // a rule without flows keeps nil
			res.Rules[i].Flows, all = all[:0:k], all[k:]
		}
	}
	for i := range res.Flows {
		for _, r := range res.Flows[i].Rules() {
			rr := &res.Rules[ruleAt(r)]
			rr.Flows = append(rr.Flows, i)
		}
	}
	// Without a host (none given, no flow to infer one from) no rule can
	// be judged: a required rule not seen is inconclusive, not missing.
	complete := obs.Complete() && len(res.Host) > 0
	if len(m.opts.Host) > 0 {
		res.HostAbsent = true
		for i := range res.Flows {
			if res.Flows[i].Direction != Transit {
				res.HostAbsent = false
				break
			}
		}
	}
	for i := range res.Rules {
		rr := &res.Rules[i]
		if rr.Status == RuleInactive {
			continue
		}
		rr.Status = m.ruleStatus(m.rules[i], rr, res.Flows, complete)
	}
	res.Verdict = verdict(res)
	return res
}

// ruleStatus judges a rule from its flows. A required rule is blocked when
// an endpoint its flows tried was never reached, even if other endpoints
// were: one working server must not hide a firewall in front of another.
// A rule with each is seen only when every part is.
func (m *Matcher) ruleStatus(c *compiled, rr *RuleResult, flows []FlowResult, complete bool) RuleStatus {
	if rr.Required {
		rr.Failed = failedEndpoints(rr.Flows, flows)
		if c.r.Each != 0 {
			rr.Parts = m.parts(c, rr.Flows, flows, complete)
		}
	}
	if len(rr.Flows) == 0 {
		switch {
		case !rr.Required:
			return RuleUnused
		case complete:
			return RuleMissing
		}
		return RuleInconclusive
	}
	if !rr.Required {
		return RuleSeen
	}
	status := RuleBlocked
	for _, i := range rr.Flows {
		if !failedAttempt(flows[i].State) {
			status = RuleSeen
			break
		}
	}
	for _, fe := range rr.Failed {
		if !fe.Reached {
			return RuleBlocked
		}
	}
	for _, p := range rr.Parts {
		status = worse(status, p.Status)
	}
	return status
}

// worse returns the more serious of two statuses of a required rule.
func worse(a, b RuleStatus) RuleStatus {
	rank := func(s RuleStatus) int {
		switch s {
		case RuleBlocked:
			return 3
		case RuleMissing:
			return 2
		case RuleInconclusive:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// failedEndpoints groups a rule's failed attempts by endpoint, in the
// order of their first flow, and marks those another flow reached.
func failedEndpoints(idx []int, flows []FlowResult) []FailedEndpoint {
	var out []FailedEndpoint
	at := map[Target]int{}
	for _, i := range idx {
		f := &flows[i]
		if !failedAttempt(f.State) {
			continue
		}
		e := Target{f.Server(), f.ServerPort}
		k, ok := at[e]
		if !ok {
			k = len(out)
			at[e] = k
			out = append(out, FailedEndpoint{Target: e})
		}
		out[k].Flows = append(out[k].Flows, i)
	}
	if len(out) == 0 {
		return nil
	}
	for _, i := range idx {
		f := &flows[i]
		if failedAttempt(f.State) {
			continue
		}
		if k, ok := at[Target{f.Server(), f.ServerPort}]; ok {
			out[k].Reached = true
			out[k].Later = out[k].Later || f.Flow.First > firstFailed(out[k].Flows, flows)
		}
	}
	return out
}

// firstFailed is when the earliest of the failed attempts idx began.
func firstFailed(idx []int, flows []FlowResult) int64 {
	t := flows[idx[0]].Flow.First
	for _, i := range idx[1:] {
		t = min(t, flows[i].Flow.First)
	}
	return t
}

// parts judges each part of a rule with each: a port of its ports, or an
// address or name pattern of its server group.
func (m *Matcher) parts(c *compiled, idx []int, flows []FlowResult, complete bool) []Part {
	type part struct {
		label string
		has   func(f *FlowResult) peerMatch
	}
	var ps []part
	if c.r.Each&profile.EachPort != 0 {
		for _, pr := range c.r.Ports {
			ps = append(ps, part{"port " + pr.String(), func(f *FlowResult) peerMatch {
				if pr.Contains(f.ServerPort) {
					return peerYes
				}
				return peerNo
			}})
		}
	}
	if c.r.Each&profile.EachPeer != 0 && !c.to.any {
		for _, pfx := range c.to.cidrs {
			ps = append(ps, part{pfx.String(), func(f *FlowResult) peerMatch {
				if pfx.Contains(f.Server()) {
					return peerYes
				}
				return peerNo
			}})
		}
		for _, pat := range c.to.names {
			ps = append(ps, part{pat.Pattern, func(f *FlowResult) peerMatch {
				hosts := f.ServerHosts()
				if len(hosts) == 0 {
					return peerUnverified
				}
				for _, h := range hosts {
					if pat.Match(h) {
						return peerYes
					}
				}
				return peerNo
			}})
		}
	}
	out := make([]Part, len(ps))
	for k, p := range ps {
		var seen, failed, unverified bool
		for _, i := range idx {
			f := &flows[i]
			switch p.has(f) {
			case peerYes:
				if failedAttempt(f.State) {
					failed = true
				} else {
					seen = true
				}
			case peerUnverified:
				unverified = true
			}
		}
		out[k] = Part{Label: p.label, Unverified: unverified && !seen && !failed}
		switch {
		case seen:
			out[k].Status = RuleSeen
		case failed:
			out[k].Status = RuleBlocked
		case unverified || !complete:
			out[k].Status = RuleInconclusive
		default:
			out[k].Status = RuleMissing
		}
	}
	return out
}

// UnboundOf returns the peer groups through which alone flow f was
// accepted: every rule that allowed it matched through a group that is
// unbound (and so matches any address). Nil when a bound rule allowed it,
// or when nothing did.
func (r *Result) UnboundOf(f *FlowResult) []string {
	if f.Rule == nil || f.Verdict == Forbidden {
		return nil
	}
	var groups []string
	for _, rule := range f.Rules() {
		if rule.Overlay {
			continue
		}
		unbound, ok := r.unbound[rule]
		if !ok {
			return nil
		}
		for _, g := range unbound {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	return groups
}

func verdict(res *Result) Verdict {
	v := Conformant
	for i := range res.Flows {
		if res.Flows[i].Verdict.Fails() {
			return NotConformant
		}
	}
	for _, rr := range res.Rules {
		switch rr.Status {
		case RuleBlocked, RuleMissing:
			return NotConformant
		case RuleInconclusive:
			v = Inconclusive
		}
	}
	if res.Strict {
		for i := range res.Flows {
			if len(res.UnboundOf(&res.Flows[i])) > 0 {
				return NotConformant
			}
		}
	}
	if v == Conformant && len(res.Obs.Folded.Services) > 0 {
		v = Inconclusive // no fault among the flows kept; the folded ones were not judged
	}
	if v == Conformant && res.Obs.Undecoded() {
		v = Inconclusive // frames, none of them decoded: nothing was judged
	}
	return v
}

// compareFlows orders flows for reports: by protocol, server, server port,
// client, client port, so that two runs over the same traffic diff cleanly.
func compareFlows(a, b *FlowResult) int {
	if c := cmp.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	if c := a.Server().Compare(b.Server()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ServerPort, b.ServerPort); c != 0 {
		return c
	}
	if c := a.Client().Compare(b.Client()); c != 0 {
		return c
	}
	return cmp.Compare(a.ClientPort, b.ClientPort)
}

// The report order is sorted on compact keys built from the flows, not on
// the judged results: comparing results scattered in memory (or moving
// them) cost as much as judging the flows. An IPv4 flow's key is two
// words, sorted byte by byte (sortV4); an IPv6 flow's is bytes, compared
// as such. compareFlows puts
// protocols first and, within one, IPv4 before IPv6 (netip.Addr.Compare),
// so the two kinds sort apart and merge by protocol.

// v4Key orders an IPv4 flow: protocol, server, server port | client,
// client port.
type v4Key struct {
	hi, lo uint64
	i      int32
}

func (k *v4Key) proto() byte { return byte(k.hi >> 48) }

func compareV4(a, b v4Key) int { return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo)) }

// v6Key orders an IPv6 flow: protocol, server, server port, client, client
// port, big-endian, in five words (the last three bytes zero), which
// compare as the bytes do at a fraction of bytes.Compare's cost.
type v6Key struct {
	w [5]uint64
	i int32
}

func (k *v6Key) proto() byte { return byte(k.w[0] >> 56) }

func compareV6(a, b v6Key) int {
	for j := range a.w {
		if c := cmp.Compare(a.w[j], b.w[j]); c != 0 {
			return c
		}
	}
	return 0
}

// role is who opened a flow, and how that was told (flow.Flow.Client).
type role struct {
	client flow.Side
	method flow.Method
}

// reportOrder returns the positions of flows in the order of compareFlows,
// and each flow's role, which the order needs and judging needs again.
func reportOrder(flows []flow.Flow, h flow.PortHints) ([]int32, []role) {
	roles := make([]role, len(flows))
	pages.Prefault(roles)
	n6 := 0
	for i := range flows {
		if !flows[i].Key.Addr(flow.SideA).Is4() {
			n6++
		}
	}
	// The keys are needed only here: their memory leaves the process when
	// this returns (pages.Scratch), before judging allocates its results.
	v4, release4 := pages.Scratch[v4Key](len(flows) - n6)
	defer release4()
	v6, release6 := pages.Scratch[v6Key](n6)
	defer release6()
	v4, v6 = v4[:0], v6[:0]
	for i := range flows {
		f := &flows[i]
		client, method := f.Client(h)
		roles[i] = role{client, method}
		server := client.Other()
		ca, sa := f.Key.Addr(client), f.Key.Addr(server)
		cp, sp := uint64(f.Key.Port(client)), uint64(f.Key.Port(server))
		if ca.Is4() && sa.Is4() { // a key's two addresses are of one family; As4 must not panic if not
			c4, s4 := ca.As4(), sa.As4()
			v4 = append(v4, v4Key{
				hi: uint64(f.Key.Proto)<<48 | uint64(binary.BigEndian.Uint32(s4[:]))<<16 | sp,
				lo: uint64(binary.BigEndian.Uint32(c4[:]))<<16 | cp,
				i:  int32(i),
			})
			continue
		}
		var b [5 * 8]byte
		b[0] = byte(f.Key.Proto)
		s16, c16 := sa.As16(), ca.As16()
		copy(b[1:17], s16[:])
		binary.BigEndian.PutUint16(b[17:], uint16(sp))
		copy(b[19:35], c16[:])
		binary.BigEndian.PutUint16(b[35:], uint16(cp))
		k := v6Key{i: int32(i)}
		for j := range k.w {
			k.w[j] = binary.BigEndian.Uint64(b[8*j:])
		}
		v6 = append(v6, k)
	}
	// The IPv6 keys sort on another CPU while the IPv4 keys, most of
	// them, sort here.
	var wg sync.WaitGroup
	if runtime.GOMAXPROCS(0) > 1 && len(v6) >= minPart {
		wg.Go(func() { slices.SortFunc(v6, compareV6) })
	} else {
		slices.SortFunc(v6, compareV6)
	}
	sortV4(v4)
	wg.Wait()

	order := make([]int32, 0, len(flows))
	pages.Prefault(order)
	for len(v4)+len(v6) > 0 {
		if len(v4) > 0 && (len(v6) == 0 || v4[0].proto() <= v6[0].proto()) {
			order, v4 = append(order, v4[0].i), v4[1:]
			continue
		}
		order, v6 = append(order, v6[0].i), v6[1:]
	}
	return order, roles
}

// sortV4 sorts keys in the order of compareV4 with a radix sort: one pass
// over the keys counts each of their 16 bytes, then one pass per byte,
// from the least significant, moves the keys in that byte's order, which
// keeps the order of the passes before it. A byte that is the same in every
// key (the protocol, most bytes of the addresses) takes no pass. It is
// several times faster than slices.SortFunc, even in two halves on two
// CPUs, where each comparison was a call through a function value
// (BenchmarkSortV4 in `make bench`).
func sortV4(keys []v4Key) {
	if len(keys) < 2 {
		return
	}
	var counts [16][256]uint32 // counts[d][b]: keys whose byte d is b
	for i := range keys {
		k := &keys[i]
		for d := range 8 {
			counts[d][byte(k.lo>>(8*d))]++
			counts[8+d][byte(k.hi>>(8*d))]++
		}
	}
	tmp, release := pages.Scratch[v4Key](len(keys))
	defer release()
	src, dst := keys, tmp
	for d := range counts {
		c := &counts[d]
		shift := 8 * (d % 8)
		word := func(k *v4Key) uint64 {
			if d < 8 {
				return k.lo
			}
			return k.hi
		}
		if int(c[byte(word(&src[0])>>shift)]) == len(src) {
			continue
		}
		// Each byte value's first place in dst.
		var at uint32
		for b := range c {
			c[b], at = at, at+c[b]
		}
		for i := range src {
			b := byte(word(&src[i]) >> shift)
			dst[c[b]] = src[i]
			c[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

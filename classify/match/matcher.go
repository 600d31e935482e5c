package match

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/names"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/service"
)

// Options are the user's bindings for a run.
type Options struct {
	// Host lists the agent host's addresses. Empty means: infer them from
	// the observation (the address that is an endpoint of the most flows).
	Host []netip.Prefix
	// Phase selects a phase of the appliance's life. Empty means every
	// phase, with phased rules (e.g. activation) only allowed, never
	// required. A named phase applies that phase's rules as written and
	// disables the rules of every other phase.
	Phase string
	// Region binds {region} in host name patterns; empty matches any.
	Region string
	// Peers binds peer groups to addresses (--peer NAME=CIDR).
	Peers map[string][]netip.Prefix
	// Strict makes a flow accepted only because a peer group is unbound
	// fail the check (--strict); a profile can ask the same (strict: true).
	Strict bool
}

// Matcher judges flows against a profile set.
type Matcher struct {
	set   *profile.Set
	opts  Options
	rules []*compiled
	// serverPorts[proto] holds every port some active rule serves, for
	// telling client from server when no handshake was captured.
	serverPorts map[ipproto.Proto]map[uint16]bool
	// passPorts is serverPorts less the ports only forbidden or overlay
	// rules serve: a flow there can only fail, so a pre-filter must not
	// hold it back from an alert (ServerPorts).
	passPorts map[ipproto.Proto]map[uint16]bool
	// strict is Options.Strict, or a profile's strict: true.
	strict bool
}

type compiled struct {
	r        *profile.Rule
	from, to peer
	level    profile.Level // after the phase is applied
	active   bool
	// unbound lists the rule's groups that no --peer bound and that name
	// no address or host name: they match any address, so every flow the
	// rule matches was accepted through them.
	unbound []string
	// unset lists the rule's groups that match no address until bound.
	unset []string
}

// peer is a resolved peer reference of a rule.
type peer struct {
	label string // for messages: "host", "any", a group name
	any   bool
	// unbound: a group that matches any address only because nothing
	// binds it (any is set too).
	unbound bool
	// none: a group that matches no address until --peer binds it
	// (profile.PeerGroup.NoneUntilBound).
	none  bool
	host  bool
	cidrs []netip.Prefix
	names []profile.NamePattern
}

// OptionError is an Options value New refuses: Field names the Options
// field (Peers, Phase or Region), Detail the value and why, so that a
// caller can name the field in its own terms (the command line names its
// flag).
type OptionError struct {
	Field  string
	Detail string
}

func (e *OptionError) Error() string { return "Options." + e.Field + " " + e.Detail }

// New compiles a Matcher. It fails with an *OptionError when Peers names a
// group no profile defines, so that a typo cannot silently bind nothing,
// when Phase is a phase no profile names, and when Region is no AWS Region
// code.
func New(set *profile.Set, opts Options) (*Matcher, error) {
	m := &Matcher{set: set, opts: opts, serverPorts: map[ipproto.Proto]map[uint16]bool{}, passPorts: map[ipproto.Proto]map[uint16]bool{}, strict: opts.Strict}
	known := map[string]bool{}
	for _, p := range set.Profiles {
		m.strict = m.strict || p.Strict
		for name := range p.Peers {
			known[name] = true
		}
	}
	for name := range opts.Peers {
		if !known[name] {
			groups := make([]string, 0, len(known))
			for g := range known {
				groups = append(groups, g)
			}
			sort.Strings(groups)
			return nil, &OptionError{"Peers", fmt.Sprintf("%s: no profile defines a peer group of that name (groups: %s)", name, strings.Join(groups, ", "))}
		}
	}
	if opts.Phase != "" {
		// A phase no rule names would disable every phased rule without a
		// word (--phase Activation acted as operation): name the choices.
		phases := []string{profile.PhaseOperation}
		for _, r := range set.Rules() {
			if r.Phase != "" && !slices.Contains(phases, r.Phase) {
				phases = append(phases, r.Phase)
			}
		}
		if !slices.Contains(phases, opts.Phase) {
			sort.Strings(phases)
			return nil, &OptionError{"Phase", fmt.Sprintf("%s: use one of %s (the phases these profiles name, and operation: after every phased rule)", opts.Phase, strings.Join(phases, ", "))}
		}
	}
	if err := profile.CheckRegion(opts.Region); err != nil {
		return nil, &OptionError{"Region", err.Error()}
	}
	for _, r := range set.Rules() {
		c := &compiled{r: r, level: r.Level, active: true}
		switch {
		case r.Phase == "":
		case opts.Phase == "":
			if c.level == profile.LevelRequired {
				c.level = profile.LevelAllowed
			}
		case opts.Phase != r.Phase:
			c.active = false
		}
		c.from = m.resolve(r.Profile, r.From)
		c.to = m.resolve(r.Profile, r.To)
		for _, p := range []peer{c.from, c.to} {
			if p.unbound && !slices.Contains(c.unbound, p.label) {
				c.unbound = append(c.unbound, p.label)
			}
			if p.none && !slices.Contains(c.unset, p.label) {
				c.unset = append(c.unset, p.label)
			}
		}
		m.rules = append(m.rules, c)
		if !c.active {
			continue
		}
		addPorts(m.serverPorts, r)
		if c.level != profile.LevelForbidden && !r.Overlay {
			addPorts(m.passPorts, r)
		}
	}
	return m, nil
}

// addPorts adds the ports rule r serves to ports.
func addPorts(ports map[ipproto.Proto]map[uint16]bool, r *profile.Rule) {
	if r.Protos&profile.ICMP != 0 {
		// ICMP has no ports: port 0 stands for "echo is served".
		for _, proto := range []ipproto.Proto{ipproto.ICMPv4, ipproto.ICMPv6} {
			if ports[proto] == nil {
				ports[proto] = map[uint16]bool{}
			}
			ports[proto][0] = true
		}
	}
	for _, proto := range []ipproto.Proto{ipproto.TCP, ipproto.UDP} {
		if !r.Protos.Has(proto) {
			continue
		}
		if ports[proto] == nil {
			ports[proto] = map[uint16]bool{}
		}
		for _, pr := range r.Ports {
			for p := int(pr.First); p <= int(pr.Last); p++ {
				ports[proto][uint16(p)] = true
			}
		}
	}
}

func (m *Matcher) resolve(prof, name string) peer {
	switch name {
	case profile.PeerAny:
		return peer{label: name, any: true}
	case profile.PeerHost:
		return peer{label: name, host: true}
	}
	g, _ := m.set.Group(prof, name) // the set checked every reference
	p := peer{label: name}
	if bound, ok := m.opts.Peers[name]; ok {
		p.cidrs = bound
		return p
	}
	p.cidrs = g.CIDRs
	for _, pat := range g.Names {
		p.names = append(p.names, profile.CompilePattern(pat, m.opts.Region))
	}
	if g.Unbound() && g.NoneUntilBound {
		p.none = true // matches nothing until --peer binds it
		return p
	}
	p.any = len(p.cidrs) == 0 && len(p.names) == 0
	p.unbound = p.any
	return p
}

// ServerPorts yields every (protocol, port) some active rule serves that
// can let a flow pass, ICMP as port 0: what a kernel pre-filter needs to
// tell covered flows from candidates for an alert. Ports that only
// forbidden or overlay rules serve are left out: a flow there fails
// whatever its peers, so it must be alerted at once.
func (m *Matcher) ServerPorts() iter.Seq2[ipproto.Proto, uint16] {
	return func(yield func(ipproto.Proto, uint16) bool) {
		for proto, ports := range m.passPorts {
			for port := range ports {
				if !yield(proto, port) {
					return
				}
			}
		}
	}
}

// Host returns the host addresses the matcher was given (--host).
func (m *Matcher) Host() []netip.Prefix { return m.opts.Host }

// PortHints returns the hints that tell clients from servers: ports the
// profile serves, then well-known service ports.
func (m *Matcher) PortHints() flow.PortHints {
	return flow.PortHints{
		Profile:   func(p ipproto.Proto, port uint16) bool { return m.serverPorts[p][port] },
		WellKnown: service.WellKnown,
	}
}

// peerMatch is the outcome of testing one address against a peer.
type peerMatch uint8

const (
	peerNo         peerMatch = iota
	peerYes                  // by address, or by a learned name
	peerUnverified           // the group is known by names only and none was learned for the address
	peerWrongName            // names were learned and none matches
)

func (m *Matcher) matchPeer(p *peer, host func(netip.Addr) bool, addr netip.Addr, hosts []string) peerMatch {
	switch {
	case p.any:
		return peerYes
	case p.host:
		if host(addr) {
			return peerYes
		}
		return peerNo
	}
	for _, c := range p.cidrs {
		if c.Contains(addr) {
			return peerYes
		}
	}
	if len(p.names) == 0 {
		return peerNo
	}
	if len(hosts) == 0 {
		if len(p.cidrs) > 0 {
			return peerNo
		}
		return peerUnverified
	}
	for _, h := range hosts {
		for _, pat := range p.names {
			if pat.Match(h) {
				return peerYes
			}
		}
	}
	return peerWrongName
}

func patterns(p *peer) string {
	s := make([]string, len(p.names))
	for i, n := range p.names {
		s[i] = n.Pattern
	}
	return strings.Join(s, ", ")
}

// hostSet decides whether an address belongs to the agent host.
type hostSet []netip.Prefix

func (h hostSet) contains(a netip.Addr) bool {
	for _, p := range h {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// flowContext is what Flow needs besides the flow itself.
type flowContext struct {
	host  hostSet
	names *names.Table
	sni   []string // the observation's server names, for flows' SNI handles
	hints flow.PortHints
	// hosts caches names.Hosts, which builds a new slice each time, for
	// the many flows of one address; nil means no cache.
	hosts map[netip.Addr][]string
	// extras shares a result's rules and names among the results that
	// have the same (most flows have no explanations), and ruleSets the
	// rule lists themselves; nil means no sharing.
	extras   map[extraKey]*extra
	ruleSets map[ruleSetKey][]*profile.Rule
	// named, when not nil, rules out most addresses without names before
	// any map is hashed: most flows' ends have none.
	named nameFilter
	// last is the previous result's shared rule list and extra, with
	// their keys (nil: none kept). In report order neighbours mostly
	// share both, and comparing the keys costs less than hashing them.
	last *lastShared
}

// lastShared is a part's most recent ruleSet and extraOf answers.
type lastShared struct {
	rules    ruleSetKey
	ruleSet  []*profile.Rule
	extraKey extraKey
	extra    *extra
}

// nameFilter is a bit per hash of an address, set for every address the
// names table holds: a clear bit proves an address has no names (a set
// one proves nothing). Built once per run and only read after.
type nameFilter []uint64

// newNameFilter returns the filter of t's addresses, about 32 bits an
// address (a few in a hundred unnamed addresses pass it), at most 2 MiB.
func newNameFilter(t *names.Table) nameFilter {
	n := 1 << 12
	for n < 32*t.Len() && n < 1<<24 {
		n <<= 1
	}
	nf := make(nameFilter, n/64)
	for a := range t.Addrs() {
		h := nf.hash(a)
		nf[h/64] |= 1 << (h % 64)
	}
	return nf
}

// hash is a's bit: its 16 bytes (not its zone, which only makes more
// addresses pass) multiplied down to the filter's size.
func (nf nameFilter) hash(a netip.Addr) uint64 {
	b := a.As16()
	x := binary.LittleEndian.Uint64(b[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(b[8:])
	return (x * 0xbf58476d1ce4e5b9 >> 32) & uint64(len(nf)*64-1)
}

// mayHave reports whether a may have names: false only when it has none.
func (nf nameFilter) mayHave(a netip.Addr) bool {
	h := nf.hash(a.Unmap())
	return nf[h/64]&(1<<(h%64)) != 0
}

// namesOf returns the host names learned for addr. Results share the
// cached slice, so nobody may append to a result's names in place.
func (ctx *flowContext) namesOf(addr netip.Addr) []string {
	if ctx.named != nil && !ctx.named.mayHave(addr) {
		return nil
	}
	if ctx.hosts == nil {
		return ctx.names.Hosts(addr)
	}
	if hs, ok := ctx.hosts[addr]; ok {
		return hs
	}
	hs := ctx.names.Hosts(addr)
	if hs != nil {
		ctx.hosts[addr] = hs // so the cache holds no more than the names table
	}
	return hs
}

// extraKey identifies an extra without explanations: rule lists come from
// ruleSets and names slices from the hosts cache, so their first element's
// address names them.
type extraKey struct {
	rules          **profile.Rule
	client, server *string
	sni            string
}

// newExtra returns x with its server labels, made once for the results that
// share it rather than at every use.
func newExtra(x extra) *extra {
	x.serverLabels = x.serverNames
	if len(x.serverLabels) == 0 && x.sni != "" {
		x.serverLabels = []string{x.sni}
	}
	return &x
}

// ruleSetKey is a rule list of up to eight rules (a flow matches one or
// two); longer lists are not shared.
type ruleSetKey [8]*profile.Rule

// ruleSet returns the shared copy of rules.
func (ctx *flowContext) ruleSet(rules []*profile.Rule) []*profile.Rule {
	if len(rules) == 0 {
		return nil
	}
	var k ruleSetKey
	if ctx.ruleSets == nil || len(rules) > len(k) {
		return slices.Clone(rules)
	}
	copy(k[:], rules)
	if l := ctx.last; l != nil && l.ruleSet != nil && l.rules == k {
		return l.ruleSet
	}
	rs, ok := ctx.ruleSets[k]
	if !ok {
		rs = slices.Clip(slices.Clone(rules)) // full: an append copies
		ctx.ruleSets[k] = rs
	}
	if l := ctx.last; l != nil {
		l.rules, l.ruleSet = k, rs
	}
	return rs
}

// extraOf returns the extra for these fields, nil when all are empty.
func (ctx *flowContext) extraOf(rules []*profile.Rule, clientNames, serverNames []string, sni string, unverified, why []string) *extra {
	if len(rules)+len(clientNames)+len(serverNames)+len(sni)+len(unverified)+len(why) == 0 {
		return nil
	}
	// shared, not rules: storing the parameter would make every
	// caller's stack buffer escape to the heap.
	shared := ctx.ruleSet(rules)
	if ctx.extras == nil || ctx.hosts == nil || len(unverified)+len(why) > 0 {
		return newExtra(extra{rules: shared, clientNames: clientNames, serverNames: serverNames, sni: sni, unverified: unverified, why: why})
	}
	k := extraKey{sni: sni}
	if len(shared) > 0 {
		k.rules = &shared[0]
	}
	if len(clientNames) > 0 {
		k.client = &clientNames[0]
	}
	if len(serverNames) > 0 {
		k.server = &serverNames[0]
	}
	if l := ctx.last; l != nil && l.extra != nil && l.extraKey == k {
		return l.extra
	}
	x, ok := ctx.extras[k]
	if !ok {
		x = newExtra(extra{rules: shared, clientNames: clientNames, serverNames: serverNames, sni: sni})
		ctx.extras[k] = x
	}
	if l := ctx.last; l != nil {
		l.extraKey, l.extra = k, x
	}
	return x
}

// Flow judges one flow. host is the agent host's address set for the run;
// nt and sni are what the observation of f learned (Observation.Names and
// ServerNames), or nil.
// The result refers to *f, which must not change while it is in use.
func (m *Matcher) Flow(f *flow.Flow, host []netip.Prefix, nt *names.Table, sni []string) FlowResult {
	var fr FlowResult
	ctx := flowContext{host: hostSet(host), names: nt, sni: sni, hints: m.PortHints()}
	client, method := f.Client(ctx.hints)
	m.judge(&fr, f, client, method, ctx)
	return fr
}

// judge fills fr, which must be zero, with the judgement of f, whose client
// (f.Client) the caller has found. It fills in place: Evaluate's results
// are a large array, and building each in a local and copying it in cost a
// bulk write barrier per result while the collector ran.
func (m *Matcher) judge(fr *FlowResult, f *flow.Flow, client flow.Side, method flow.Method, ctx flowContext) {
	server := client.Other()
	fr.Flow = f
	fr.ClientPort, fr.ServerPort = f.Key.Port(client), f.Key.Port(server)
	fr.Proto, fr.ClientSide, fr.Method = f.Key.Proto, client, method
	fr.State = f.State(client)
	clientAddr, serverAddr := f.Key.Addr(client), f.Key.Addr(server)
	var clientNames, serverNames, unverified, why []string
	if ctx.names != nil {
		clientNames = ctx.namesOf(clientAddr)
		serverNames = ctx.namesOf(serverAddr)
	}
	sni := flow.ServerName(ctx.sni, f.SNI)
	fr.Direction = direction(ctx.host.contains(clientAddr), ctx.host.contains(serverAddr))
	fr.App = appOf(f, client, server)
	if f.Key.Proto.HasPorts() && service.Mismatch(f.Key.Proto, fr.ServerPort, fr.App) {
		fr.Mismatch = true
	}

	peers := endpoints{clientAddr, clientNames, serverAddr, serverHosts(serverNames, sni)}
	// The matching rules and their levels collect here first, on the
	// stack for the usual few; the rules then go to the run's shared lists.
	var rulesBuf [8]*profile.Rule
	var levelsBuf [8]profile.Level
	rules, levels := rulesBuf[:0], levelsBuf[:0]
	for _, c := range m.rules {
		if !c.active || !c.r.Protos.Has(f.Key.Proto) || !c.r.HasPort(fr.ServerPort) && f.Key.Proto.HasPorts() {
			continue
		}
		if c.r.TLS != nil && !tlsHolds(c.r.TLS, f) {
			continue
		}
		if c.r.Scope == profile.ScopeNetwork && fr.Direction != Transit {
			continue // the document says this traffic never passes the host
		}
		ok, unv, near := m.orient(c, &peers, ctx.host)
		if near != "" {
			why = append(why, near)
		}
		if !ok || c.r.Overlay && unv != "" {
			// An overlay only adds a warning or a failure; on a name it
			// cannot verify it must not (a domain controller's LDAPS is
			// not an AWS endpoint's TLS).
			continue
		}
		rules = append(rules, c.r)
		levels = append(levels, c.level)
		if unv != "" {
			unverified = append(unverified, unv)
		}
	}
	fr.Verdict = Unexpected
	best := -1
	for i, l := range levels {
		if best < 0 || l.Severity() > levels[best].Severity() {
			best = i
		}
	}
	if best >= 0 && levels[best] != profile.LevelForbidden && onlyOverlays(rules) {
		// An overlay judges flows other rules cover; alone it must not turn
		// a stray flow into a warning.
		why = append([]string{fmt.Sprintf("rule %s matched, but it only judges flows that other rules allow", rules[best].ID())}, why...)
		rules, unverified, best = nil, nil, -1
	}
	if best >= 0 {
		fr.Rule, fr.Level = rules[best], levels[best]
		fr.Verdict = verdictOf(fr.Level)
		why = nil // reasons for near misses only matter when nothing matched
	}
	fr.x = ctx.extraOf(rules, clientNames, serverNames, sni, unverified, why)
}

// serverHosts is what a server's name patterns are matched against: the
// names DNS gave it and the name a TLS client asked for.
func serverHosts(names []string, sni string) []string {
	if sni == "" || slices.Contains(names, sni) {
		return names
	}
	return append(slices.Clone(names), sni)
}

// endpoints are a flow's client and server with the names they go by.
type endpoints struct {
	client      netip.Addr
	clientNames []string
	server      netip.Addr
	serverHosts []string // names, and the SNI
}

func onlyOverlays(rules []*profile.Rule) bool {
	for _, r := range rules {
		if !r.Overlay {
			return false
		}
	}
	return true
}

// orient tries the rule's from/to against the flow's client/server, and the
// other way round for bidirectional rules.
func (m *Matcher) orient(c *compiled, e *endpoints, host hostSet) (ok bool, unverified, why string) {
	try := func(from, to *peer, cAddr netip.Addr, cHosts []string, sAddr netip.Addr, sHosts []string) (bool, string, string) {
		fm := m.matchPeer(from, host.contains, cAddr, cHosts)
		tm := m.matchPeer(to, host.contains, sAddr, sHosts)
		switch {
		case fm == peerWrongName && tm != peerNo:
			return false, "", fmt.Sprintf("rule %s: %s is known as %s, which does not match group %s (%s)", c.r.ID(), cAddr, strings.Join(cHosts, ", "), from.label, patterns(from))
		case tm == peerWrongName && fm != peerNo:
			return false, "", fmt.Sprintf("rule %s: %s is known as %s, which does not match group %s (%s)", c.r.ID(), sAddr, strings.Join(sHosts, ", "), to.label, patterns(to))
		case fm == peerNo || tm == peerNo || fm == peerWrongName || tm == peerWrongName:
			return false, "", ""
		}
		var unv string
		if fm == peerUnverified {
			unv = fmt.Sprintf("%s: no name learned for %s, so group %s (%s) is not verified", c.r.ID(), cAddr, from.label, patterns(from))
		} else if tm == peerUnverified {
			unv = fmt.Sprintf("%s: no name learned for %s, so group %s (%s) is not verified", c.r.ID(), sAddr, to.label, patterns(to))
		}
		return true, unv, ""
	}
	ok, unverified, why = try(&c.from, &c.to, e.client, e.clientNames, e.server, e.serverHosts)
	if ok || !c.r.Bidirectional {
		return ok, unverified, why
	}
	ok2, unv2, why2 := try(&c.from, &c.to, e.server, e.serverHosts, e.client, e.clientNames)
	if ok2 {
		return true, unv2, ""
	}
	return false, "", cmp.Or(why, why2)
}

// appOf names the flow's application protocol: the server's first bytes
// identify most protocols (TLS ServerHello, SSH and SMTP banners, HTTP
// responses), the client's the rest.
func appOf(f *flow.Flow, client, server flow.Side) service.App {
	s, c := service.App(f.App[server]), service.App(f.App[client])
	switch {
	case s > service.AppUnknown:
		return s
	case c > service.AppUnknown:
		return c
	}
	return max(s, c)
}

func tlsHolds(c *profile.TLSCondition, f *flow.Flow) bool {
	if len(c.Versions) > 0 || c.ForwardSecrecy != nil {
		if f.TLSVersion == 0 {
			return false // no ServerHello: nothing to judge
		}
		if len(c.Versions) > 0 && !slices.Contains(c.Versions, f.TLSVersion) {
			return false
		}
		if c.ForwardSecrecy != nil && service.ForwardSecret(f.TLSCipher) != *c.ForwardSecrecy {
			return false
		}
	}
	if c.OfferedForwardSecrecy != nil {
		if f.TLSOffer&flow.TLSHelloSeen == 0 {
			return false // no ClientHello: nothing to judge
		}
		if (f.TLSOffer&flow.TLSOffersForwardSecrecy != 0) != *c.OfferedForwardSecrecy {
			return false
		}
	}
	return true
}

func direction(clientIsHost, serverIsHost bool) Direction {
	switch {
	case clientIsHost && serverIsHost:
		return Local
	case clientIsHost:
		return Outbound
	case serverIsHost:
		return Inbound
	}
	return Transit
}

func verdictOf(l profile.Level) FlowVerdict {
	switch l {
	case profile.LevelForbidden:
		return Forbidden
	case profile.LevelDiscouraged:
		return Discouraged
	}
	return Expected
}

// RuleCount is how many rules the matcher judges (every rule of every
// profile, active or not): as many as an evaluation's Result.Rules.
func (m *Matcher) RuleCount() int { return len(m.rules) }

// Profiles names the profiles the matcher judges by, in the order given:
// an evaluation's Result.Profiles.
func (m *Matcher) Profiles() []string {
	names := make([]string, 0, len(m.set.Profiles))
	for _, p := range m.set.Profiles {
		names = append(names, p.Name)
	}
	return names
}

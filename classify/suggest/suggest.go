package suggest

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// Options shape a draft.
type Options struct {
	// Name is the profile's name; empty means DefaultName.
	Name string
	// CollapseV4 and CollapseV6 are the prefix lengths that unnamed peers of
	// one group are collapsed into when at least two of them share such a
	// prefix; 0 means 24 and 64, and 32 or 128 never collapses.
	CollapseV4, CollapseV6 int
	// Inputs names what was read, for the draft's description.
	Inputs []string
}

// DefaultName is the name of a draft profile when Options.Name is empty.
const DefaultName = "draft/observed"

// Draft is a profile drafted from observed flows.
type Draft struct {
	Name         string
	Inputs       []string
	Host         []netip.Prefix
	HostInferred bool
	Includes     []string // profiles the flows were judged against (built-in names)
	Groups       []*Group
	Rules        []*Rule
	// Skipped says what was seen but not drafted, and why.
	Skipped []string
}

// Group is a drafted peer group.
type Group struct {
	Name        string
	Description string
	CIDRs       []netip.Prefix // unnamed peers, collapsed
	Names       []string       // name patterns of named peers
	// Addrs are every peer address seen, named or not: what a firewall,
	// which cannot match names, allows instead.
	Addrs []Peer
}

// Peer is one address seen in a group, with the names it was known by.
type Peer struct {
	Addr  netip.Addr
	Names []string
}

// Rule is a drafted rule: one direction, protocol set and server port.
type Rule struct {
	Name      string
	Direction match.Direction
	Protos    profile.Protos
	Port      uint16 // 0 for ICMP
	Service   string
	// From and To are "host" or the peer group the rule names; Peer and
	// ClientPeer are those groups (ClientPeer only for transit flows, where
	// neither end is the host).
	From, To   string
	Peer       *Group
	ClientPeer *Group
	Flows      int
	Packets    uint64
	Bytes      uint64
	States     []string
	// Failed is set when every flow of the rule was a failed attempt: the
	// traffic was tried, not needed as far as the capture shows.
	Failed bool
}

// Build drafts rules for the flows of res that no rule allows (every flow,
// when res was judged against an empty profile).
func Build(res *match.Result, opts Options) *Draft {
	b := &builder{opts: opts, entries: map[entryKey]*entry{}}
	if b.opts.Name == "" {
		b.opts.Name = DefaultName
	}
	if b.opts.CollapseV4 == 0 {
		b.opts.CollapseV4 = 24
	}
	if b.opts.CollapseV6 == 0 {
		b.opts.CollapseV6 = 64
	}
	d := &Draft{Name: b.opts.Name, Inputs: opts.Inputs, Host: res.Host, HostInferred: res.HostInferred}
	for _, p := range res.Profiles {
		if _, ok := profile.Builtin(p); ok {
			d.Includes = append(d.Includes, p)
		}
	}
	for i := range res.Flows {
		f := &res.Flows[i]
		if f.Verdict != match.Unexpected {
			continue
		}
		if why := b.add(f); why != "" {
			d.Skipped = append(d.Skipped, why)
		}
	}
	b.mergeProtocols()
	b.finish(d)
	return d
}

type entryKey struct {
	dir   match.Direction
	proto profile.Protos
	port  uint16
}

type entry struct {
	entryKey
	service        string
	peers, clients map[netip.Addr][]string // the far end (server or client), and transit clients
	flows          int
	packets, bytes uint64
	states         []string
	failed         bool
}

type builder struct {
	opts    Options
	entries map[entryKey]*entry
}

func (b *builder) add(f *match.FlowResult) string {
	var k entryKey
	switch {
	case f.Proto == ipproto.TCP:
		k = entryKey{f.Direction, profile.TCP, f.ServerPort}
	case f.Proto == ipproto.UDP:
		k = entryKey{f.Direction, profile.UDP, f.ServerPort}
	case f.Proto.IsICMP():
		k = entryKey{f.Direction, profile.ICMP, 0}
	default:
		return fmt.Sprintf("%s flow from %s to %s: profiles have no rules for this protocol", f.Proto, f.Client(), f.Server())
	}
	e := b.entries[k]
	if e == nil {
		e = &entry{entryKey: k, service: f.Service(), peers: map[netip.Addr][]string{}, clients: map[netip.Addr][]string{}, failed: true}
		b.entries[k] = e
	}
	serverNames := f.ServerHosts()
	switch f.Direction {
	case match.Outbound:
		addPeer(e.peers, f.Server(), serverNames)
	case match.Inbound:
		addPeer(e.peers, f.Client(), f.ClientNames())
	case match.Transit:
		addPeer(e.peers, f.Server(), serverNames)
		addPeer(e.clients, f.Client(), f.ClientNames())
	}
	e.flows++
	e.packets += f.Packets()
	e.bytes += f.Bytes()
	if s := f.State.String(); !slices.Contains(e.states, s) {
		e.states = append(e.states, s)
	}
	e.failed = e.failed && f.State.Failed()
	return ""
}

func addPeer(m map[netip.Addr][]string, a netip.Addr, hosts []string) {
	for _, h := range hosts {
		// Names from the observation are normalized (and escaped) already;
		// a TLS server name may still be upper-case.
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if !slices.Contains(m[a], h) {
			m[a] = append(m[a], h)
		}
	}
	if _, ok := m[a]; !ok {
		m[a] = nil
	}
}

// mergeProtocols makes one "both" rule of a TCP and a UDP rule for the same
// port and peers, as vendor tables write "TCP/UDP 111".
func (b *builder) mergeProtocols() {
	for k, t := range b.entries {
		if k.proto != profile.TCP {
			continue
		}
		uk := entryKey{k.dir, profile.UDP, k.port}
		u, ok := b.entries[uk]
		if !ok || !samePeers(t.peers, u.peers) || !samePeers(t.clients, u.clients) {
			continue
		}
		t.proto = profile.TCP | profile.UDP
		t.flows += u.flows
		t.packets += u.packets
		t.bytes += u.bytes
		for _, s := range u.states {
			if !slices.Contains(t.states, s) {
				t.states = append(t.states, s)
			}
		}
		t.failed = t.failed && u.failed
		delete(b.entries, uk)
	}
}

func samePeers(a, b map[netip.Addr][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// finish orders the rules, builds and names their peer groups.
func (b *builder) finish(d *Draft) {
	entries := make([]*entry, 0, len(b.entries))
	for _, e := range b.entries {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(x, y *entry) int {
		return cmp.Or(cmp.Compare(dirOrder(x.dir), dirOrder(y.dir)), cmp.Compare(x.proto&profile.ICMP, y.proto&profile.ICMP),
			cmp.Compare(x.port, y.port), cmp.Compare(x.proto, y.proto))
	})
	groups := map[string]*Group{} // by content
	usedGroup := map[string]bool{profile.PeerHost: true, profile.PeerAny: true}
	usedRule := map[string]bool{}
	// Rules with the same peers share one group; a group is named after
	// the service of its only rule, or after its peers when several
	// services share it (the NFS client of portmapper, nfs and mountd).
	type use struct {
		g        *Group
		role     string
		services map[string]bool
		first    *Rule
	}
	var uses []*use
	group := func(peers map[netip.Addr][]string, role string, r *Rule) *Group {
		g := b.group(peers)
		key := groupKey(g)
		if u, ok := groups[key]; ok {
			prev := uses[slices.IndexFunc(uses, func(x *use) bool { return x.g == u })]
			prev.services[ruleBase(r)] = true
			u.Description += ", " + ruleWhat(r)
			return u
		}
		g.Description = "Seen as the " + strings.TrimSuffix(role, "s") + " of " + ruleWhat(r)
		groups[key] = g
		uses = append(uses, &use{g, role, map[string]bool{ruleBase(r): true}, r})
		d.Groups = append(d.Groups, g)
		return g
	}
	// A service with several ports (datasync-control on 1024-1064) gets
	// the port in each rule's name, so no rule is "-2".
	perBase := map[string]int{}
	for _, e := range entries {
		perBase[ruleBase(&Rule{Protos: e.proto, Port: e.port, Service: e.service})+"-"+dirWord(e.dir)]++
	}
	for _, e := range entries {
		slices.Sort(e.states)
		r := &Rule{
			Direction: e.dir, Protos: e.proto, Port: e.port, Service: e.service,
			Flows: e.flows, Packets: e.packets, Bytes: e.bytes, States: e.states, Failed: e.failed,
		}
		base := ruleBase(r)
		if perBase[base+"-"+dirWord(e.dir)] > 1 && r.Service != "" {
			base = fmt.Sprintf("%s-%d", base, r.Port)
		}
		r.Name = unique(usedRule, ident(base+"-"+dirWord(e.dir)))
		switch e.dir {
		case match.Outbound:
			r.Peer = group(e.peers, "servers", r)
			r.From, r.To = profile.PeerHost, r.Peer.Name
		case match.Inbound:
			r.Peer = group(e.peers, "clients", r)
			r.From, r.To = r.Peer.Name, profile.PeerHost
		case match.Local:
			r.From, r.To = profile.PeerHost, profile.PeerHost
		case match.Transit:
			r.ClientPeer = group(e.clients, "clients", r)
			r.Peer = group(e.peers, "servers", r)
			r.From, r.To = r.ClientPeer.Name, r.Peer.Name
		}
		d.Rules = append(d.Rules, r)
	}
	for _, u := range uses {
		name := ident(ruleBase(u.first)) + "-" + u.role
		if len(u.services) > 1 {
			if label, isName := peersLabel(u.g); isName {
				name = ident(label) + "-" + u.role
			} else {
				name = u.role + "-" + ident(label)
			}
		}
		u.g.Name = unique(usedGroup, name)
	}
	for _, r := range d.Rules {
		switch r.Direction {
		case match.Outbound:
			r.To = r.Peer.Name
		case match.Inbound:
			r.From = r.Peer.Name
		case match.Transit:
			r.From, r.To = r.ClientPeer.Name, r.Peer.Name
		}
	}
}

// peersLabel names a group by what it holds: the first label of its first
// name (vpce-datasync, isName), or its first address (10-0-0-10).
func peersLabel(g *Group) (label string, isName bool) {
	for _, n := range g.Names {
		if l, _, _ := strings.Cut(strings.TrimPrefix(n, "*."), "."); l != "" && l != profile.RegionParam {
			return l, true
		}
	}
	if len(g.CIDRs) > 0 {
		return strings.NewReplacer(".", "-", ":", "-", "/", "-").Replace(textout.Prefix(g.CIDRs[0])), false
	}
	return "peers", false
}

func dirOrder(d match.Direction) int {
	return [...]int{match.Outbound: 0, match.Inbound: 1, match.Local: 2, match.Transit: 3}[d]
}

func dirWord(d match.Direction) string {
	return [...]string{match.Outbound: "out", match.Inbound: "in", match.Local: "local", match.Transit: "transit"}[d]
}

// ruleBase names a rule by its service, or by protocol and port.
func ruleBase(r *Rule) string {
	switch {
	case r.Protos == profile.ICMP:
		return "ping"
	case r.Service != "":
		return r.Service
	}
	return fmt.Sprintf("%s-%d", r.Protos, r.Port)
}

// ruleWhat says what a rule covers, for group descriptions: "tcp 443 (https)".
func ruleWhat(r *Rule) string {
	if r.Protos == profile.ICMP {
		return "ICMP echo"
	}
	s := fmt.Sprintf("%s %d", report.ProtosName(r.Protos), r.Port)
	if r.Service != "" {
		s += " (" + r.Service + ")"
	}
	return s
}

var notIdent = regexp.MustCompile(`[^a-z0-9_-]+`)

// ident makes a valid rule or group name of s.
func ident(s string) string {
	s = strings.Trim(notIdent.ReplaceAllString(strings.ToLower(s), "-"), "-_")
	if s == "" {
		return "peers"
	}
	return s
}

func unique(used map[string]bool, name string) string {
	n := name
	for i := 2; used[n]; i++ {
		n = fmt.Sprintf("%s-%d", name, i)
	}
	used[n] = true
	return n
}

func groupKey(g *Group) string {
	var b strings.Builder
	for _, c := range g.CIDRs {
		b.WriteString(c.String() + " ")
	}
	b.WriteString("|")
	for _, n := range g.Names {
		b.WriteString(n + " ")
	}
	return b.String()
}

// group collapses a set of peers: named peers become name patterns, unnamed
// ones CIDRs.
func (b *builder) group(peers map[netip.Addr][]string) *Group {
	g := &Group{}
	var unnamed []netip.Addr
	var hosts []string
	for a, ns := range peers {
		valid := slices.DeleteFunc(slices.Clone(ns), func(n string) bool { return !validName(n) })
		g.Addrs = append(g.Addrs, Peer{a, slices.Sorted(slices.Values(ns))})
		if len(valid) == 0 {
			unnamed = append(unnamed, a)
			continue
		}
		hosts = append(hosts, valid...)
	}
	slices.SortFunc(g.Addrs, func(x, y Peer) int { return x.Addr.Compare(y.Addr) })
	g.Names = collapseNames(hosts)
	g.CIDRs = collapseAddrs(unnamed, b.opts.CollapseV4, b.opts.CollapseV6)
	return g
}

// The characters a profile's name patterns may hold (classify/profile).
var nameChars = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)

func validName(n string) bool { return nameChars.MatchString(n) }

// awsRegion matches an AWS Region label, which becomes {region}: a profile
// for one Region's endpoints is the same profile for every Region, and
// --region binds it back.
var awsRegion = regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx|cn)(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-[0-9]$`)

// minCollapseNames is how many names under one parent domain become a
// "*.parent" pattern; fewer stay as they are.
const minCollapseNames = 3

// collapseNames turns host names into patterns: Region labels become
// {region}, and three or more names under one parent domain of at least
// three labels become "*.parent" (never a bare "*.com" or "*.amazonaws.com").
func collapseNames(hosts []string) []string {
	set := map[string]bool{}
	for _, h := range hosts {
		labels := strings.Split(h, ".")
		for i, l := range labels {
			if awsRegion.MatchString(l) {
				labels[i] = profile.RegionParam
			}
		}
		set[strings.Join(labels, ".")] = true
	}
	byParent := map[string][]string{}
	for n := range set {
		if _, parent, ok := strings.Cut(n, "."); ok && strings.Count(parent, ".") >= 2 {
			byParent[parent] = append(byParent[parent], n)
		}
	}
	for parent, ns := range byParent {
		if len(ns) < minCollapseNames {
			continue
		}
		for _, n := range ns {
			delete(set, n)
		}
		set["*."+parent] = true
	}
	return slices.Sorted(func(yield func(string) bool) {
		for n := range set {
			if !yield(n) {
				return
			}
		}
	})
}

// collapseAddrs turns addresses into CIDRs: two or more addresses within one
// /v4 (or /v6) prefix become that prefix, others stay single addresses.
func collapseAddrs(addrs []netip.Addr, v4, v6 int) []netip.Prefix {
	byPrefix := map[netip.Prefix][]netip.Addr{}
	for _, a := range addrs {
		bits := v4
		if a.Is6() {
			bits = v6
		}
		p, _ := a.Prefix(min(bits, a.BitLen()))
		byPrefix[p] = append(byPrefix[p], a)
	}
	var out []netip.Prefix
	for p, as := range byPrefix {
		if len(as) >= 2 {
			out = append(out, p)
			continue
		}
		for _, a := range as {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	slices.SortFunc(out, func(x, y netip.Prefix) int {
		return cmp.Or(x.Addr().Compare(y.Addr()), cmp.Compare(x.Bits(), y.Bits()))
	})
	return out
}

// Counts for notes.
func (r *Rule) observed() string {
	flows := "1 flow"
	if r.Flows != 1 {
		flows = fmt.Sprintf("%d flows", r.Flows)
	}
	s := fmt.Sprintf("Observed %s (%s), %s, %s", flows, strings.Join(r.States, ", "), textout.Count(r.Packets, "packet"), textout.Count(r.Bytes, "byte"))
	if r.Failed {
		s += ". Only failed attempts were seen: keep this rule only if the flow is needed, and then open the path"
	}
	return s
}

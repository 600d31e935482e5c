package match

import (
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/names"
	"github.com/wirecheck/wirecheck/classify/profile"
)

// The catalogue test runs every rule of every built-in profile through the
// matcher: flows at the edges of each port range must match the rule, flows
// one port outside must not, and so must flows with the wrong protocol, the
// wrong direction, a host name outside the rule's patterns or in another
// Region, and phased rules outside their phase. A profile edit that makes a
// rule wider or narrower than written, or a pattern no real name can match,
// fails here.

const catalogueRegion = "us-east-2"

var catalogueHost = netip.MustParseAddr("10.0.0.5")

// endpoint is where the test puts one side of a rule: an address, and the
// host names to teach the name table for it (one flow per name).
type endpoint struct {
	addr  netip.Addr
	names []string
	// wrong are names that must not match: outside the patterns, or in
	// another Region.
	wrong []string
}

// binder gives every peer group of a set an address: inside its CIDRs, or a
// fresh address with names made from its patterns, or (for groups the user
// must bind) a fresh address bound with Options.Peers, as --peer would.
type binder struct {
	set   *profile.Set
	peers map[string][]netip.Prefix
	next  netip.Addr
	cache map[*profile.PeerGroup]endpoint
}

func newBinder(set *profile.Set) *binder {
	b := &binder{set: set, peers: map[string][]netip.Prefix{}, next: netip.MustParseAddr("100.64.0.1"), cache: map[*profile.PeerGroup]endpoint{}}
	for _, p := range set.Profiles {
		for _, r := range p.Rules {
			b.endpoint(p.Name, r.From)
			b.endpoint(p.Name, r.To)
		}
	}
	return b
}

func (b *binder) fresh() netip.Addr {
	a := b.next
	b.next = b.next.Next()
	return a
}

// hostFor makes a host name a pattern must match: "*" becomes a label,
// {region} the run's Region (or another one, for the wrong-Region test).
func hostFor(pattern, region string) string {
	return strings.ReplaceAll(strings.ReplaceAll(pattern, profile.RegionParam, region), "*", "wc-test")
}

var anyAddr = netip.MustParseAddr("198.18.0.1")

func (b *binder) endpoint(prof, name string) endpoint {
	switch name {
	case profile.PeerHost:
		return endpoint{addr: catalogueHost}
	case profile.PeerAny:
		return endpoint{addr: anyAddr}
	}
	g, ok := b.set.Group(prof, name)
	if !ok {
		panic("unresolved group " + name) // Load checked every reference
	}
	if e, ok := b.cache[g]; ok {
		return e
	}
	var e endpoint
	switch {
	case len(g.CIDRs) > 0:
		pfx := g.CIDRs[0]
		e.addr = pfx.Addr()
		if doc := netip.MustParseAddr("203.0.113.7"); pfx.Contains(doc) {
			e.addr = doc // 0.0.0.0/0 and the like: a realistic address
		}
	case len(g.Names) > 0:
		e.addr = b.fresh()
		for _, pat := range g.Names {
			e.names = append(e.names, hostFor(pat, catalogueRegion))
			if strings.Contains(pat, profile.RegionParam) {
				e.wrong = append(e.wrong, hostFor(pat, "eu-west-1"))
			}
		}
		e.wrong = append(e.wrong, "wc-elsewhere.example.net")
	default:
		e.addr = b.fresh()
		b.peers[name] = []netip.Prefix{netip.PrefixFrom(e.addr, 32)}
	}
	b.cache[g] = e
	return e
}

// protosOf lists one IP protocol per protocol the rule covers.
func protosOf(r *profile.Rule) []ipproto.Proto {
	var out []ipproto.Proto
	for _, p := range []ipproto.Proto{ipproto.TCP, ipproto.UDP, ipproto.ICMPv4} {
		if r.Protos.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// tlsFor returns a ServerHello (version, suite) the rule's TLS condition
// accepts, and one it rejects; zeros when the rule has no condition.
func tlsFor(c *profile.TLSCondition) (okV, okC, badV, badC uint16) {
	if c == nil {
		return 0, 0, 0, 0
	}
	const ecdhe, rsa = 0xc02f, 0x009c // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_GCM_SHA256
	okV, badV = 0x0303, 0x0303
	if len(c.Versions) > 0 {
		okV = c.Versions[0]
		for _, v := range []uint16{0x0301, 0x0302, 0x0303, 0x0304} {
			if !slices.Contains(c.Versions, v) {
				badV = v
				break
			}
		}
	}
	okC, badC = ecdhe, ecdhe
	if len(c.Versions) == 0 && c.ForwardSecrecy == nil {
		return 0x0303, ecdhe, 0x0303, ecdhe // only the ClientHello's offer is judged (offerFor)
	}
	if c.ForwardSecrecy != nil && !*c.ForwardSecrecy {
		okC, badC = rsa, ecdhe
	} else if c.ForwardSecrecy != nil {
		badC = rsa
	}
	if len(c.Versions) == 0 {
		badV = okV // only the suite differs
	}
	if c.ForwardSecrecy == nil {
		badC = okC // only the version differs
	}
	return okV, okC, badV, badC
}

// offerFor returns a ClientHello offer (flow.Flow.TLSOffer) the rule's TLS
// condition accepts, and one it rejects (the same when the condition says
// nothing of the offer).
func offerFor(c *profile.TLSCondition) (ok, bad uint8) {
	const fs = flow.TLSHelloSeen | flow.TLSOffersForwardSecrecy
	if c == nil || c.OfferedForwardSecrecy == nil {
		return fs, fs
	}
	if *c.OfferedForwardSecrecy {
		return fs, flow.TLSHelloSeen
	}
	return flow.TLSHelloSeen, fs
}

// serverPorts returns the ports to try inside the rule (each range's first
// and last port) and those just outside (one below, one above each range),
// leaving out outside ports another range of the same rule covers.
func serverPorts(r *profile.Rule) (inside, outside []uint16) {
	if len(r.Ports) == 0 {
		return []uint16{443, 8443}, nil // any port
	}
	// Not r.HasPort: the test must not trust the code it checks.
	covered := func(port uint16) bool {
		for _, pr := range r.Ports {
			if port >= pr.First && port <= pr.Last {
				return true
			}
		}
		return false
	}
	for _, pr := range r.Ports {
		inside = append(inside, pr.First)
		if pr.Last != pr.First {
			inside = append(inside, pr.Last)
		}
		if pr.First > 1 && !covered(pr.First-1) {
			outside = append(outside, pr.First-1)
		}
		if pr.Last < 65535 && !covered(pr.Last+1) {
			outside = append(outside, pr.Last+1)
		}
	}
	return inside, outside
}

// judge runs one flow through m with the given names learned for the peer.
func judge(m *Matcher, tf testFlow, peer netip.Addr, peerName string) FlowResult {
	var nt *names.Table
	if peerName != "" {
		nt = names.New()
		nt.Add(peer, peerName, names.FromDNS)
	}
	return m.Flow(tf.flow(), []netip.Prefix{netip.PrefixFrom(catalogueHost, 32)}, nt, nil)
}

// levelOf returns the level rule r had in m's run, and whether it matched
// the flow of fr.
func levelOf(m *Matcher, fr FlowResult, r *profile.Rule) (profile.Level, bool) {
	if !slices.ContainsFunc(fr.Rules(), func(x *profile.Rule) bool { return x.ID() == r.ID() }) {
		return 0, false
	}
	for _, c := range m.rules {
		if c.r.ID() == r.ID() {
			return c.level, true
		}
	}
	return 0, false
}

// allowAll is composed with overlay profiles: an overlay only shows on a flow
// another rule allows.
const allowAll = `profile: test/allow-all
rules:
  - {name: ports, from: any, to: any, proto: both, level: allowed, source: {doc: test}}
  - {name: echo, from: any, to: any, proto: icmp, level: allowed, source: {doc: test}}
`

func loadForCatalogue(t *testing.T, p *profile.Profile) *profile.Set {
	t.Helper()
	refs := []string{p.Name}
	for _, r := range p.Rules {
		if r.Overlay {
			refs = append(refs, "allow-all.yaml")
			break
		}
	}
	set, err := profile.LoadWith(func(name string) ([]byte, error) {
		if name == "allow-all.yaml" {
			return []byte(allowAll), nil
		}
		return nil, fs.ErrNotExist
	}, refs...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestCatalogueRules(t *testing.T) {
	all, err := profile.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	// The list of profiles is part of the interface: losing one
	// (a file renamed, an embed pattern changed) must fail, not shrink the test.
	want := []string{
		"storage-gateway/common", "storage-gateway/file-nfs", "storage-gateway/file-smb",
		"storage-gateway/volume", "storage-gateway/tape", "storage-gateway/tls",
		"datasync/agent", "datasync/agent-fips", "datasync/agent-vpc",
		"datasync/nfs", "datasync/smb", "datasync/object-storage", "datasync/hdfs",
		"datasync/efs", "datasync/fsx-ontap", "datasync/s3",
		"s3/client",
		"ecs/ssh", "ecs/rdp", "ecs/web", "ecs/ftp", "ecs/ping", "ecs/mysql", "ecs/sqlserver", "ecs/oracle",
		"ecs/mail", "ecs/high-risk-ports",
	}
	for _, name := range want {
		if _, ok := profile.Builtin(name); !ok {
			t.Errorf("built-in profile %s is missing", name)
		}
	}
	var rules, flows int
	for _, p := range all {
		t.Run(p.Name, func(t *testing.T) {
			set := loadForCatalogue(t, p)
			b := newBinder(set)
			m, err := New(set, Options{Region: catalogueRegion, Peers: b.peers})
			if err != nil {
				t.Fatal(err)
			}
			for i := range p.Rules {
				r := &p.Rules[i]
				rules++
				t.Run(r.Name, func(t *testing.T) {
					flows += checkRule(t, m, set, b, r)
				})
			}
		})
	}
	t.Logf("%d profiles, %d rules, %d flows judged", len(all), rules, flows)
}

// checkRule judges every flow the rule must and must not match and returns
// how many it judged.
func checkRule(t *testing.T, m *Matcher, set *profile.Set, b *binder, r *profile.Rule) int {
	from, to := b.endpoint(r.Profile, r.From), b.endpoint(r.Profile, r.To)
	if from.addr == to.addr && r.From == profile.PeerAny && r.To == profile.PeerAny {
		from.addr = netip.MustParseAddr("198.18.0.2")
	}
	// The side with names is the one the name table speaks for.
	named, namedAddr, namedGroup := to, to.addr, r.To
	if len(to.names) == 0 && len(from.names) > 0 {
		named, namedAddr, namedGroup = from, from.addr, r.From
	}
	learn := named.names
	if len(learn) == 0 {
		learn = []string{""}
	}
	okV, okC, badV, badC := tlsFor(r.TLS)
	okO, badO := offerFor(r.TLS)
	inside, outside := serverPorts(r)
	wantLevel := r.Level
	if r.Phase != "" && wantLevel == profile.LevelRequired {
		wantLevel = profile.LevelAllowed // no --phase: phased rules are only allowed
	}
	n := 0
	judgeOne := func(tf testFlow, name string) FlowResult {
		n++
		return judge(m, tf, namedAddr, name)
	}
	describe := func(tf testFlow, name string) string {
		s := fmt.Sprintf("%s %s -> %s:%d", tf.proto, tf.client, tf.server, tf.serverPort)
		if name != "" {
			s += " (" + name + ")"
		}
		if tf.tlsVersion != 0 {
			s += fmt.Sprintf(" TLS %#04x suite %#04x", tf.tlsVersion, tf.tlsCipher)
		}
		return s
	}

	for _, proto := range protosOf(r) {
		ports := inside
		if proto.IsICMP() {
			ports = []uint16{0}
		}
		for _, port := range ports {
			tf := testFlow{proto: proto, client: from.addr, server: to.addr, serverPort: port, tlsVersion: okV, tlsCipher: okC, tlsOffer: okO}
			for _, name := range learn {
				fr := judgeOne(tf, name)
				if lvl, ok := levelOf(m, fr, r); !ok {
					t.Errorf("%s: does not match (verdict %s, why %q)", describe(tf, name), fr.Verdict, fr.Why())
				} else if lvl != wantLevel {
					t.Errorf("%s: level %s, want %s", describe(tf, name), lvl, wantLevel)
				}
			}
			name := learn[0]

			// Reversed: only bidirectional rules match a flow opened by the
			// other side (unless both sides are "any", where it is the same).
			rev := tf
			rev.client, rev.server = tf.server, tf.client
			if _, ok := levelOf(m, judgeOne(rev, name), r); ok != r.Bidirectional && !(r.From == profile.PeerAny && r.To == profile.PeerAny) {
				t.Errorf("%s: matches %v, want %v (bidirectional: %v)", describe(rev, name), ok, r.Bidirectional, r.Bidirectional)
			}

			// The other transport protocol, on the same port.
			if other := map[ipproto.Proto]ipproto.Proto{ipproto.TCP: ipproto.UDP, ipproto.UDP: ipproto.TCP}[proto]; other != 0 && !r.Protos.Has(other) {
				o := tf
				o.proto, o.tlsVersion, o.tlsCipher = other, 0, 0
				if _, ok := levelOf(m, judgeOne(o, name), r); ok {
					t.Errorf("%s: matches a %s-only rule", describe(o, name), proto)
				}
			}

			// Scope network: the same flow from the agent host must not
			// match, even with the client's group unbound (any address).
			if r.Scope == profile.ScopeNetwork {
				peers := maps.Clone(b.peers)
				delete(peers, r.From)
				um, err := New(set, Options{Region: catalogueRegion, Peers: peers})
				if err != nil {
					t.Fatal(err)
				}
				own := tf
				own.client = catalogueHost
				n += 2
				if _, ok := levelOf(um, judge(um, own, namedAddr, name), r); ok {
					t.Errorf("%s: matches a scope network rule, but the client is the host", describe(own, name))
				}
				if _, ok := levelOf(um, judge(um, tf, namedAddr, name), r); !ok {
					t.Errorf("%s: a flow between other machines does not match with %s unbound", describe(tf, name), r.From)
				}
			}

			// Names outside the patterns, or in another Region.
			for _, wrong := range named.wrong {
				fr := judgeOne(tf, wrong)
				if _, ok := levelOf(m, fr, r); ok {
					t.Errorf("%s: matches, but the name is not one of group %s's", describe(tf, wrong), namedGroup)
				} else if len(fr.Rules()) == 0 && !strings.Contains(strings.Join(fr.Why(), "|"), r.ID()) {
					t.Errorf("%s: unexpected, but the report does not say why rule %s did not match: %q", describe(tf, wrong), r.ID(), fr.Why())
				}
			}

			// A ServerHello the TLS condition rejects, and none at all.
			if r.TLS != nil {
				for _, hello := range [][3]uint16{{badV, badC, uint16(badO)}, {0, 0, 0}} {
					bad := tf
					bad.tlsVersion, bad.tlsCipher, bad.tlsOffer = hello[0], hello[1], uint8(hello[2])
					if _, ok := levelOf(m, judgeOne(bad, name), r); ok {
						t.Errorf("%s: matches, but the TLS condition does not hold", describe(bad, name))
					}
				}
			}
		}
		// One port outside each range.
		for _, port := range outside {
			tf := testFlow{proto: proto, client: from.addr, server: to.addr, serverPort: port, tlsVersion: okV, tlsCipher: okC, tlsOffer: okO}
			if _, ok := levelOf(m, judgeOne(tf, learn[0]), r); ok {
				t.Errorf("%s: matches, but port %d is outside %s", describe(tf, learn[0]), port, strings.Join(r.PortStrings(), ","))
			}
			if r.Bidirectional {
				rev := tf
				rev.client, rev.server = tf.server, tf.client
				if _, ok := levelOf(m, judgeOne(rev, learn[0]), r); ok {
					t.Errorf("%s: matches, but port %d is outside %s", describe(rev, learn[0]), port, strings.Join(r.PortStrings(), ","))
				}
			}
		}
	}

	// Phases: the rule's own phase applies it as written; another phase
	// disables it.
	if r.Phase != "" {
		port := uint16(0)
		if len(inside) > 0 && r.Protos != profile.ICMP {
			port = inside[0]
		}
		tf := testFlow{proto: protosOf(r)[0], client: from.addr, server: to.addr, serverPort: port, tlsVersion: okV, tlsCipher: okC, tlsOffer: okO}
		for _, phase := range []string{r.Phase, "operation"} {
			pm, err := New(set, Options{Region: catalogueRegion, Peers: b.peers, Phase: phase})
			if err != nil {
				t.Fatal(err)
			}
			n++
			lvl, ok := levelOf(pm, judge(pm, tf, namedAddr, learn[0]), r)
			switch {
			case phase == r.Phase && (!ok || lvl != r.Level):
				t.Errorf("--phase %s: %s matches %v at level %s, want %s", phase, describe(tf, learn[0]), ok, lvl, r.Level)
			case phase != r.Phase && ok:
				t.Errorf("--phase %s: %s matches a rule of phase %s", phase, describe(tf, learn[0]), r.Phase)
			}
		}
	}
	return n
}

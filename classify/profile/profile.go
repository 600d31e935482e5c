package profile

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// Level is how a rule judges the flows it matches.
type Level uint8

const (
	LevelAllowed     Level = iota + 1 // the flow may happen
	LevelRequired                     // the flow may happen and must happen
	LevelDiscouraged                  // the flow works but is advised against; not a conformance failure
	LevelForbidden                    // the flow must not happen
)

var levelNames = map[Level]string{
	LevelAllowed: "allowed", LevelRequired: "required",
	LevelDiscouraged: "discouraged", LevelForbidden: "forbidden",
}

func (l Level) String() string { return levelNames[l] }

// Severity orders levels for a flow that matches several rules: the most
// severe decides the flow's verdict.
func (l Level) Severity() int {
	switch l {
	case LevelForbidden:
		return 3
	case LevelDiscouraged:
		return 2
	case LevelRequired:
		return 1
	}
	return 0
}

// Protos is a set of transport protocols a rule covers.
type Protos uint8

const (
	TCP Protos = 1 << iota
	UDP
	ICMP // ICMP and ICMPv6 echo
)

// Has reports whether the set covers protocol p.
func (s Protos) Has(p ipproto.Proto) bool {
	switch p {
	case ipproto.TCP:
		return s&TCP != 0
	case ipproto.UDP:
		return s&UDP != 0
	case ipproto.ICMPv4, ipproto.ICMPv6:
		return s&ICMP != 0
	}
	return false
}

// String returns the profile spelling: "tcp", "udp", "both" or "icmp"
// (combinations joined with "+").
func (s Protos) String() string {
	switch s {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case TCP | UDP:
		return "both"
	case ICMP:
		return "icmp"
	}
	var parts []string
	for _, p := range []struct {
		bit  Protos
		name string
	}{{TCP, "tcp"}, {UDP, "udp"}, {ICMP, "icmp"}} {
		if s&p.bit != 0 {
			parts = append(parts, p.name)
		}
	}
	return strings.Join(parts, "+")
}

// PortRange is an inclusive range of ports.
type PortRange struct{ First, Last uint16 }

// Contains reports whether port lies in the range.
func (r PortRange) Contains(port uint16) bool { return port >= r.First && port <= r.Last }

// String returns "443" or "1024-1064".
func (r PortRange) String() string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// Source cites where a rule comes from: a seed document, its table, the row.
type Source struct {
	Doc   string `json:"doc"`
	Table string `json:"table,omitempty"`
	Row   string `json:"row,omitempty"`
}

func (s Source) String() string {
	parts := []string{s.Doc}
	if s.Table != "" {
		parts = append(parts, s.Table)
	}
	if s.Row != "" {
		parts = append(parts, "row "+s.Row)
	}
	return strings.Join(parts, ", ")
}

// Pos is a position in a profile file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// TLSCondition narrows a rule to TLS flows with particular handshake
// properties: Versions and ForwardSecrecy are judged from the server's
// ServerHello, OfferedForwardSecrecy from the client's ClientHello. A
// condition that cannot be judged (the hello it needs was not seen) does
// not match.
type TLSCondition struct {
	// Versions lists the negotiated versions that match (0x0301 = TLS 1.0,
	// 0x0300 = SSL 3.0). Empty means any version.
	Versions []uint16
	// ForwardSecrecy, when set, matches flows whose negotiated cipher suite
	// does (true) or does not (false) have forward secrecy.
	ForwardSecrecy *bool
	// OfferedForwardSecrecy, when set, matches flows whose ClientHello did
	// (true) or did not (false) offer a forward-secret suite.
	OfferedForwardSecrecy *bool
}

// PeerGroup is a named set of peers: addresses (CIDRs), host name patterns,
// or both. A group with neither matches any address until the user binds it
// with --peer NAME=CIDR.
type PeerGroup struct {
	Name        string
	Description string
	CIDRs       []netip.Prefix
	// Names are host name patterns: "*" matches one or more characters
	// (dots included), "{region}" one DNS label, bound by --region.
	Names []string
	// NoneUntilBound makes a group with neither CIDRs nor Names match no
	// address, rather than any, until --peer binds it: for a document that
	// says "the CIDR block you specify", where any address would be a
	// guess the document never made.
	NoneUntilBound bool
	Pos            Pos
}

// Unbound reports whether the group names no addresses and no host names:
// it matches any address until --peer binds it.
func (g *PeerGroup) Unbound() bool { return len(g.CIDRs) == 0 && len(g.Names) == 0 }

// Each says which parts of a required rule must each be seen. The zero
// value is "any": one working flow on any of the rule's ports, to any of
// its peers, satisfies it, as a table's "139 or 445" says. A table that
// lists "111, 635, and 2049" or three endpoints a service needs means each
// of them.
type Each uint8

const (
	EachPort Each = 1 << iota // every entry of ports (a range counts as one)
	EachPeer                  // every CIDR and name pattern of the server group
)

// String returns the profile spelling: "any", "ports", "peers" or
// "ports+peers".
func (e Each) String() string {
	switch e {
	case 0:
		return "any"
	case EachPort:
		return "ports"
	case EachPeer:
		return "peers"
	}
	return "ports+peers"
}

// Scope is which flows a rule can match, by where the agent host stands.
type Scope uint8

const (
	// ScopeAny: the rule's from and to decide (the host, when they name it).
	ScopeAny Scope = iota
	// ScopeNetwork: flows between other machines only (DataSync's own
	// network interfaces and a file system): the agent host's own flows
	// never match, whatever the groups, so a host flow cannot pass for
	// traffic the document says never passes through it.
	ScopeNetwork
)

func (s Scope) String() string {
	if s == ScopeNetwork {
		return "network"
	}
	return "any"
}

// Reserved peer group names.
const (
	PeerHost = "host" // the agent host's own addresses
	PeerAny  = "any"  // every address
)

// Rule is one expected (or unwanted) flow.
type Rule struct {
	Profile string // the profile that defines the rule
	Name    string
	// From is the peer group that initiates the flow (the client), To the
	// one that serves it. Bidirectional rules match either way round.
	From, To      string
	Bidirectional bool
	Protos        Protos
	// Ports are the server's ports; empty means any port.
	Ports []PortRange
	Level Level
	// Phase limits the rule to one phase of the appliance's life (e.g.
	// "activation"); empty means always.
	Phase string
	// Overlay rules (discouraged or forbidden only) judge flows that other
	// rules cover, such as the TLS version of any connection: a flow that
	// only overlay rules match is unexpected unless one of them forbids it,
	// so composing an overlay profile can never turn a stray flow into a
	// mere warning.
	Overlay bool
	How     string // how the flow is used, as the vendor's table says
	Note    string
	TLS     *TLSCondition
	// Related, when set, accepts under this rule the flows that its own
	// flows (FTP control, the portmapper, the endpoint mapper) announced.
	Related *Related
	// Each lists the parts of a required rule that must each be seen.
	Each Each
	// Scope narrows the flows the rule can match (ScopeNetwork).
	Scope Scope
	// Sources cite the seed tables the rule comes from.
	Sources []Source
	Pos     Pos

	fromPos, toPos Pos // for errors about unknown peer groups
}

// ID returns the rule's identity across profiles: "profile/rule".
func (r *Rule) ID() string { return r.Profile + ":" + r.Name }

// HasPort reports whether the rule covers server port p (any port when the
// rule lists none).
func (r *Rule) HasPort(p uint16) bool {
	if len(r.Ports) == 0 {
		return true
	}
	for _, pr := range r.Ports {
		if pr.Contains(p) {
			return true
		}
	}
	return false
}

// PortStrings returns the ports as strings ("443", "1024-1064").
func (r *Rule) PortStrings() []string {
	s := make([]string, len(r.Ports))
	for i, p := range r.Ports {
		s[i] = p.String()
	}
	return s
}

// Profile is one parsed profile file.
type Profile struct {
	Name        string
	Description string
	File        string // where it was read from ("builtin:NAME" for built-ins)
	Includes    []string
	Peers       map[string]*PeerGroup
	Rules       []Rule
	// Strict makes a flow that a rule accepts only because one of its
	// groups is unbound fail the check, as --strict does for every profile.
	Strict bool

	includePos []Pos // of each include, for errors found when composing
	namePos    Pos   // of the profile's name
}

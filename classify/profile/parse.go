package profile

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Error is a problem in a profile, at a position in its file.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		return e.Pos.File + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// MaxFileSize bounds a profile file; real profiles are a few kilobytes.
const MaxFileSize = 256 << 10

// MaxTokens bounds the YAML tokens of a profile, counted on the bytes
// before the YAML lexer runs: the lexer's and the parser's time and memory
// grow with the tokens (and faster than linearly inside brackets), and 1 MiB
// of "[a,a,a,..." took seconds and hundreds of megabytes. The largest built-in
// profile has under a thousand; a drafted profile has about 40 a rule.
const MaxTokens = 20_000

// MaxDepth bounds how deeply a profile's YAML nests. The built-in profiles
// nest four levels (rules, a rule, its ports, a port range); the YAML
// parser's work grows with the square of the depth, so 50,000 brackets in
// 100 KB took tens of seconds and gigabytes before this limit, which is
// checked on the tokens, before the parser runs.
const MaxDepth = 32

// Parse parses one profile. file names it in errors and becomes
// Profile.File. Includes are recorded, not resolved: see Load.
func Parse(file string, data []byte) (*Profile, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{offsetPos(file, data, MaxFileSize), fmt.Sprintf("profile is larger than %d bytes, the limit (real profiles are a few kilobytes)", MaxFileSize)}
	}
	// A UTF-8 byte-order mark, which some Windows editors write, is not
	// part of the first key.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if err := checkTokens(file, data); err != nil {
		return nil, err
	}
	tokens := lexer.Tokenize(string(data))
	if err := checkDepth(file, tokens); err != nil {
		return nil, err
	}
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		var se *yaml.SyntaxError
		if errors.As(err, &se) && se.Token != nil && se.Token.Position != nil {
			return nil, &Error{posOf(file, se.Token), oneLine(se.Message)}
		}
		// Without a position, the start of the file is the best place to
		// point; the parser's own rendering spans several lines.
		return nil, &Error{Pos{File: file, Line: 1, Col: 1}, oneLine(err.Error())}
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, &Error{Pos{File: file, Line: 1, Col: 1}, "a profile file holds exactly one YAML document"}
	}
	d := &decoder{file: file}
	p := &Profile{File: file, Peers: map[string]*PeerGroup{}}
	d.profile(f.Docs[0].Body, p)
	if d.err != nil {
		return nil, d.err
	}
	return p, nil
}

// checkTokens refuses a profile of more than MaxTokens tokens before the
// YAML lexer sees it. It counts, outside comments, every indicator
// character ([]{},:-?&*!|>) and every word, and quotes are not followed,
// so it counts at least the tokens the lexer would make, often more: the
// count bounds the lexer's work, and real profiles stay far below it.
func checkTokens(file string, data []byte) error {
	n := 0
	word, comment := false, false
	for i, c := range data {
		switch {
		case c == '\n':
			word, comment = false, false
			continue
		case comment:
			continue
		case c == '#' && (i == 0 || data[i-1] == ' ' || data[i-1] == '\t' || data[i-1] == '\n'):
			comment = true
			n++
		case c == ' ' || c == '\t' || c == '\r':
			word = false
		case strings.IndexByte("[]{},:-?&*!|>", c) >= 0:
			word = false
			n++
		case !word:
			word = true
			n++
		}
		if n > MaxTokens {
			return &Error{offsetPos(file, data, i), fmt.Sprintf("profile has more than %d YAML tokens, the limit (real profiles have a few hundred)", MaxTokens)}
		}
	}
	return nil
}

// checkDepth refuses YAML nested deeper than MaxDepth: brackets and braces
// ([ {), and block structure (a "- " or a key indented further than the
// one before it). A block sequence under a key at the key's own column
// counts as the key's level, so the count is at most twice too low, never
// too high.
func checkDepth(file string, tokens token.Tokens) error {
	var flow int
	var block []int // columns of the open block levels, increasing
	for _, tk := range tokens {
		var col int
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			flow = max(flow-1, 0)
		case token.DocumentHeaderType, token.DocumentEndType:
			block = block[:0]
		case token.SequenceEntryType, token.MappingKeyType:
			col = tk.Position.Column
		case token.MappingValueType:
			if tk.Prev != nil && tk.Prev.Position != nil {
				col = tk.Prev.Position.Column
			}
		}
		if col > 0 && flow == 0 {
			for len(block) > 0 && block[len(block)-1] > col {
				block = block[:len(block)-1]
			}
			if len(block) == 0 || block[len(block)-1] < col {
				block = append(block, col)
			}
		}
		if flow+len(block) > MaxDepth {
			return &Error{posOf(file, tk), fmt.Sprintf("nested more than %d levels deep; profiles nest a few levels (rules, a rule, its ports)", MaxDepth)}
		}
	}
	return nil
}

// offsetPos is the line and column of byte off of data, where an error
// about the file as a whole is best shown.
func offsetPos(file string, data []byte, off int) Pos {
	before := data[:min(off, len(data))]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := 1 + utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
	return Pos{File: file, Line: line, Col: col}
}

// decoder walks the YAML tree, keeping the first error.
type decoder struct {
	file string
	err  *Error
}

func posOf(file string, t *token.Token) Pos {
	if t == nil || t.Position == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: max(t.Position.Line, 1), Col: max(t.Position.Column, 1)}
}

// oneLine keeps an error message to its first line.
func oneLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(first)
}

func (d *decoder) failf(n ast.Node, format string, args ...any) {
	if d.err == nil {
		// A value quoted in the message is cut short: a 200 KB name
		// makes an error line nobody can read.
		for i, a := range args {
			if s, ok := a.(string); ok && len(s) > 80 {
				cut := 72
				for cut > 0 && !utf8.RuneStart(s[cut]) {
					cut--
				}
				args[i] = s[:cut] + "..."
			}
		}
		d.err = &Error{nodePos(d.file, n), fmt.Sprintf(format, args...)}
	}
}

func nodePos(file string, n ast.Node) Pos {
	if n == nil || n.GetToken() == nil {
		return Pos{File: file}
	}
	return posOf(file, n.GetToken())
}

// field is one key of a mapping with its value node.
type field struct {
	key   string
	keyN  ast.Node
	value ast.Node
}

// mapping returns the fields of a mapping node, rejecting keys not in known
// and repeated keys.
func (d *decoder) mapping(n ast.Node, what string, known ...string) []field {
	n = d.plain(n)
	var pairs []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	case *ast.NullNode:
		return nil
	default:
		d.failf(n, "%s must be a mapping, not %s", what, kind(n))
		return nil
	}
	var out []field
	seen := map[string]bool{}
	for _, mv := range pairs {
		if mv.Key.IsMergeKey() {
			d.failf(mv.Key, "merge keys (<<) are not supported in profiles")
			return nil
		}
		k := mv.Key.GetToken().Value
		if !contains(known, k) {
			d.failf(mv.Key, "unknown key %q in %s (known: %s)", k, what, strings.Join(known, ", "))
			return nil
		}
		if seen[k] {
			d.failf(mv.Key, "key %q repeated in %s", k, what)
			return nil
		}
		seen[k] = true
		out = append(out, field{k, mv.Key, mv.Value})
	}
	return out
}

// plain rejects YAML features a rules format does not need (anchors,
// aliases, tags): they only make a profile harder to read, and aliases can
// blow up the size of a document.
func (d *decoder) plain(n ast.Node) ast.Node {
	switch n.(type) {
	case *ast.AnchorNode, *ast.AliasNode:
		d.failf(n, "anchors and aliases are not supported in profiles")
		return nil
	case *ast.TagNode:
		d.failf(n, "tags are not supported in profiles")
		return nil
	}
	return n
}

func (d *decoder) str(n ast.Node, what string) string {
	switch v := d.plain(n).(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		return v.Value.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value
	case nil:
		return ""
	}
	d.failf(n, "%s must be a string, not %s", what, kind(n))
	return ""
}

func (d *decoder) boolean(n ast.Node, what string) bool {
	if v, ok := d.plain(n).(*ast.BoolNode); ok {
		return v.Value
	}
	d.failf(n, "%s must be true or false, not %s", what, kind(n))
	return false
}

// list returns the items of a sequence, or the node itself for a scalar, so
// that "ports: 443" and "ports: [443]" both work.
func (d *decoder) list(n ast.Node) []ast.Node {
	switch v := d.plain(n).(type) {
	case *ast.SequenceNode:
		return v.Values
	case *ast.NullNode, nil:
		return nil
	}
	return []ast.Node{n}
}

func (d *decoder) strings(n ast.Node, what string) []string {
	var out []string
	for _, item := range d.list(n) {
		out = append(out, d.str(item, what))
	}
	return out
}

var profileName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)
var ident = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func (d *decoder) profile(n ast.Node, p *Profile) {
	var rulesN ast.Node
	for _, f := range d.mapping(n, "the profile", "version", "profile", "description", "include", "strict", "peers", "rules") {
		switch f.key {
		case "version":
			if v := d.str(f.value, "version"); v != "1" && d.err == nil {
				d.failf(f.value, "unsupported profile format version %q (this wirecheck reads version 1)", v)
			}
		case "profile":
			p.Name, p.namePos = d.str(f.value, "profile"), nodePos(d.file, f.value)
			if !profileName.MatchString(p.Name) {
				d.failf(f.value, "profile name %q: use lower-case words separated by / (e.g. my-site/gateway)", p.Name)
			}
		case "description":
			p.Description = d.str(f.value, "description")
		case "include":
			for _, item := range d.list(f.value) {
				name := d.str(item, "include")
				if !profileName.MatchString(name) {
					d.failf(item, "include %q: includes name built-in profiles (see `wirecheck profiles`); pass your own files with several -p", name)
				}
				p.Includes = append(p.Includes, name)
				p.includePos = append(p.includePos, nodePos(d.file, item))
			}
		case "strict":
			p.Strict = d.boolean(f.value, "strict")
		case "peers":
			d.peers(f.value, p)
		case "rules":
			rulesN = f.value
		}
	}
	if d.err != nil {
		return
	}
	if p.Name == "" {
		d.failf(n, "missing key \"profile\" (the profile's name)")
		return
	}
	for _, item := range d.list(rulesN) {
		d.rule(item, p)
		if d.err != nil {
			return
		}
	}
	if len(p.Rules) == 0 && len(p.Includes) == 0 {
		d.failf(n, "profile %q has no rules and includes nothing", p.Name)
	}
}

func (d *decoder) peers(n ast.Node, p *Profile) {
	for _, f := range d.mapping(n, "peers", anyKey) {
		name := f.key
		if !ident.MatchString(name) {
			d.failf(f.keyN, "peer group name %q: use lower-case letters, digits and -", name)
			return
		}
		if name == PeerHost || name == PeerAny {
			d.failf(f.keyN, "peer group %q is built in and cannot be redefined", name)
			return
		}
		g := &PeerGroup{Name: name, Pos: nodePos(d.file, f.keyN)}
		for _, gf := range d.mapping(f.value, "peer group "+name, "description", "cidrs", "names", "unbound") {
			switch gf.key {
			case "unbound":
				switch v := d.str(gf.value, "unbound"); v {
				case "any":
				case "none":
					g.NoneUntilBound = true
				default:
					d.failf(gf.value, "peer group %s: unbound %q: use any (match every address until the group is bound to addresses) or none (match no address until then)", name, v)
					return
				}
			case "description":
				g.Description = d.str(gf.value, "description")
			case "cidrs":
				for _, item := range d.list(gf.value) {
					s := d.str(item, "cidr")
					pfx, err := parsePrefix(s)
					if err != nil {
						d.failf(item, "peer group %s: %v", name, err)
						return
					}
					g.CIDRs = append(g.CIDRs, pfx)
				}
			case "names":
				for _, item := range d.list(gf.value) {
					s := d.str(item, "name pattern")
					if err := checkPattern(s); err != nil {
						d.failf(item, "peer group %s: %v", name, err)
						return
					}
					g.Names = append(g.Names, strings.ToLower(s))
				}
			}
		}
		p.Peers[name] = g
	}
}

// anyKey lets mapping accept every key (peer group names are free).
const anyKey = "\x00any"

func contains(known []string, k string) bool {
	for _, s := range known {
		if s == k || s == anyKey {
			return true
		}
	}
	return false
}

// ParsePrefix parses "10.0.0.5" or "10.0.0.0/24" (addresses become /32 or
// /128), and rejects prefixes with host bits set, which are usually typos.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	if pfx.Masked() != pfx {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, pfx.Masked())
	}
	return pfx, nil
}

// ParsePrefix is parsePrefix for callers outside the package (--host, --peer).
func ParsePrefix(s string) (netip.Prefix, error) { return parsePrefix(s) }

var levels = map[string]Level{"allowed": LevelAllowed, "required": LevelRequired, "discouraged": LevelDiscouraged, "forbidden": LevelForbidden}
var eachNames = map[string]Each{"ports": EachPort, "peers": EachPeer}
var scopeNames = map[string]Scope{"any": ScopeAny, "network": ScopeNetwork}
var protoNames = map[string]Protos{"tcp": TCP, "udp": UDP, "both": TCP | UDP, "icmp": ICMP}

func (d *decoder) rule(n ast.Node, p *Profile) {
	r := Rule{Profile: p.Name, Pos: nodePos(d.file, n)}
	var fromN, toN, protoN, overlayN, eachN ast.Node
	for _, f := range d.mapping(n, "a rule", "name", "from", "to", "bidirectional", "proto", "ports", "level", "phase", "overlay", "how", "note", "source", "tls", "related", "each", "scope") {
		switch f.key {
		case "name":
			r.Name = d.str(f.value, "name")
			if !ident.MatchString(r.Name) {
				d.failf(f.value, "rule name %q: use lower-case letters, digits and -", r.Name)
			}
		case "from":
			r.From, fromN = d.str(f.value, "from"), f.value
		case "to":
			r.To, toN = d.str(f.value, "to"), f.value
		case "bidirectional":
			r.Bidirectional = d.boolean(f.value, "bidirectional")
		case "proto":
			protoN = f.value
			s := d.str(f.value, "proto")
			pr, ok := protoNames[s]
			if !ok && d.err == nil {
				d.failf(f.value, "proto %q: use tcp, udp, both or icmp", s)
			}
			r.Protos = pr
		case "ports":
			for _, item := range d.list(f.value) {
				pr, err := parsePortRange(d.str(item, "port"))
				if err != nil && d.err == nil {
					d.failf(item, "%v", err)
				}
				r.Ports = append(r.Ports, pr)
			}
		case "level":
			s := d.str(f.value, "level")
			l, ok := levels[s]
			if !ok && d.err == nil {
				d.failf(f.value, "level %q: use required, allowed, discouraged or forbidden", s)
			}
			r.Level = l
		case "phase":
			r.Phase = d.str(f.value, "phase")
			if !ident.MatchString(r.Phase) && d.err == nil {
				d.failf(f.value, "phase %q: use a lower-case word such as activation", r.Phase)
			}
		case "overlay":
			r.Overlay, overlayN = d.boolean(f.value, "overlay"), f.value
		case "how":
			r.How = d.str(f.value, "how")
		case "note":
			r.Note = d.str(f.value, "note")
		case "source":
			for _, item := range d.list(f.value) {
				r.Sources = append(r.Sources, d.source(item))
			}
		case "tls":
			r.TLS = d.tls(f.value)
		case "related":
			r.Related = d.related(f.value)
		case "each":
			eachN = f.value
			for _, item := range d.list(f.value) {
				s := d.str(item, "each")
				e, ok := eachNames[s]
				if !ok && d.err == nil {
					d.failf(item, "each %q: use ports (every port is required) or peers (every address and name of the server group is required)", s)
				}
				r.Each |= e
			}
		case "scope":
			s := d.str(f.value, "scope")
			sc, ok := scopeNames[s]
			if !ok && d.err == nil {
				d.failf(f.value, "scope %q: use any or network (flows between other machines, never the host's own)", s)
			}
			r.Scope = sc
		}
		if d.err != nil {
			return
		}
	}
	for _, req := range []struct {
		missing bool
		key     string
	}{{r.Name == "", "name"}, {r.From == "", "from"}, {r.To == "", "to"}, {r.Protos == 0, "proto"}, {r.Level == 0, "level"}} {
		if req.missing {
			d.failf(n, "rule %s: missing key %q", orUnnamed(r.Name), req.key)
			return
		}
	}
	for _, ref := range []struct {
		name string
		n    ast.Node
	}{{r.From, fromN}, {r.To, toN}} {
		if ref.name != PeerHost && ref.name != PeerAny && !ident.MatchString(ref.name) {
			d.failf(ref.n, "rule %s: peer group %q is not a valid name", r.Name, ref.name)
			return
		}
	}
	if r.Protos == ICMP && len(r.Ports) > 0 {
		d.failf(protoN, "rule %s: ICMP has no ports; leave ports out", r.Name)
		return
	}
	if r.Overlay && r.Level != LevelDiscouraged && r.Level != LevelForbidden {
		d.failf(overlayN, "rule %s: an overlay rule only adds a warning or a failure to flows other rules cover; use level discouraged or forbidden", r.Name)
		return
	}
	if r.Related != nil && (r.Overlay || r.Level == LevelForbidden) {
		d.failf(n, "rule %s: related flows are accepted under a rule that allows its flows; an overlay or forbidden rule cannot have related", r.Name)
		return
	}
	if r.TLS != nil && r.Protos != TCP {
		d.failf(protoN, "rule %s: a tls condition needs proto tcp", r.Name)
		return
	}
	if r.Each != 0 && r.Level != LevelRequired {
		d.failf(eachN, "rule %s: each only says what a required rule needs; use level required, or leave each out", r.Name)
		return
	}
	if r.Each&EachPort != 0 && len(r.Ports) < 2 {
		d.failf(eachN, "rule %s: each ports needs two or more entries in ports", r.Name)
		return
	}
	if r.Each&EachPeer != 0 && (r.To == PeerHost || r.To == PeerAny || r.Bidirectional) {
		d.failf(eachN, "rule %s: each peers names the server group's addresses and names; it needs a to group that is not host or any, and a rule that is not bidirectional", r.Name)
		return
	}
	if r.Scope == ScopeNetwork && (r.From == PeerHost || r.To == PeerHost) {
		d.failf(n, "rule %s: scope network excludes the host's flows, so from and to cannot be host", r.Name)
		return
	}
	for _, other := range p.Rules {
		if other.Name == r.Name {
			d.failf(n, "rule name %q already used at line %d", r.Name, other.Pos.Line)
			return
		}
	}
	r.fromPos, r.toPos = nodePos(d.file, fromN), nodePos(d.file, toN)
	p.Rules = append(p.Rules, r)
}

// related reads a rule's related list (related.go).
func (d *decoder) related(n ast.Node) *Related {
	rel := &Related{}
	items := d.list(n)
	for _, item := range items {
		if err := parseRelated(rel, d.str(item, "related")); err != nil && d.err == nil {
			d.failf(item, "%v", err)
		}
	}
	if len(items) == 0 && d.err == nil {
		d.failf(n, "related needs a list: ftp, rpc, rpc:PROGRAM or epm")
	}
	return rel
}

func orUnnamed(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return name
}

func (d *decoder) source(n ast.Node) Source {
	var s Source
	for _, f := range d.mapping(n, "a source", "doc", "table", "row") {
		switch f.key {
		case "doc":
			s.Doc = d.str(f.value, "doc")
		case "table":
			s.Table = d.str(f.value, "table")
		case "row":
			s.Row = d.str(f.value, "row")
		}
	}
	if s.Doc == "" && d.err == nil {
		d.failf(n, "a source needs doc (the document the rule comes from)")
	}
	return s
}

var tlsVersions = map[string]uint16{"3.0": 0x0300, "1.0": 0x0301, "1.1": 0x0302, "1.2": 0x0303, "1.3": 0x0304}

func (d *decoder) tls(n ast.Node) *TLSCondition {
	c := &TLSCondition{}
	for _, f := range d.mapping(n, "a tls condition", "versions", "forward_secrecy", "offered_forward_secrecy") {
		switch f.key {
		case "versions":
			for _, item := range d.list(f.value) {
				s := d.str(item, "TLS version")
				v, ok := tlsVersions[s]
				if !ok && d.err == nil {
					d.failf(item, "TLS version %q: use 3.0 (SSL 3.0), 1.0, 1.1, 1.2 or 1.3", s)
				}
				c.Versions = append(c.Versions, v)
			}
		case "forward_secrecy":
			b := d.boolean(f.value, "forward_secrecy")
			c.ForwardSecrecy = &b
		case "offered_forward_secrecy":
			b := d.boolean(f.value, "offered_forward_secrecy")
			c.OfferedForwardSecrecy = &b
		}
	}
	if len(c.Versions) == 0 && c.ForwardSecrecy == nil && c.OfferedForwardSecrecy == nil && d.err == nil {
		d.failf(n, "a tls condition needs versions, forward_secrecy or offered_forward_secrecy")
	}
	return c
}

func parsePortRange(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	first, err := parsePort(lo)
	if err != nil {
		return PortRange{}, portError(s)
	}
	last := first
	if isRange {
		if last, err = parsePort(hi); err != nil {
			return PortRange{}, portError(s)
		}
		if last < first {
			return PortRange{}, fmt.Errorf("port range %q runs backwards", s)
		}
	}
	return PortRange{first, last}, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, portError(s)
	}
	return uint16(n), nil
}

// portError names the whole item, so that "-1" or "1-2-3" is shown as
// written rather than as the part that failed.
func portError(s string) error {
	return fmt.Errorf("port %q: ports are numbers from 1 to 65535, or ranges such as 1024-1064", s)
}

func kind(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode, nil:
		return "empty"
	case *ast.BoolNode:
		return "true/false"
	case *ast.IntegerNode, *ast.FloatNode:
		return "a number"
	}
	return "a string"
}

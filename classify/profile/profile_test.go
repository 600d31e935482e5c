package profile

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

const good = `version: 1
profile: site/gw
description: test
include: [storage-gateway/common]
peers:
  corp:
    cidrs: [10.0.0.0/8, 192.0.2.7]
rules:
  - name: vpc
    from: host
    to: corp
    proto: tcp
    ports: ["1024-1064", 22]
    level: required
    source: {doc: seed.txt, row: "3"}
`

func TestParseGood(t *testing.T) {
	p, err := Parse("gw.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "site/gw" || len(p.Rules) != 1 || len(p.Peers["corp"].CIDRs) != 2 {
		t.Fatalf("parsed %+v", p)
	}
	r := p.Rules[0]
	if got := strings.Join(r.PortStrings(), ","); got != "1024-1064,22" {
		t.Errorf("ports %s", got)
	}
	if !r.HasPort(1024) || !r.HasPort(1064) || r.HasPort(1065) || r.HasPort(1023) || !r.HasPort(22) {
		t.Error("port range bounds wrong")
	}
	if r.Protos != TCP || r.Level != LevelRequired || r.Sources[0].Row != "3" || r.Pos.Line != 9 {
		t.Errorf("rule %+v", r)
	}
}

// parseErrorTests are profiles with one mistake each and the error that
// must name it; FuzzParse starts from them too.
var parseErrorTests = []struct {
	name, doc, want string
}{
	{"syntax", "profile: x\nrules: [\n", "bad.yaml:"},
	{"unknown top key", "profile: x\nrulez: []\n", `bad.yaml:2:1: unknown key "rulez" in the profile`},
	{"unknown rule key", "profile: x\nrules:\n  - name: a\n    form: host\n", `bad.yaml:4:5: unknown key "form" in a rule`},
	{"bad port", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: allowed, ports: [70000]}\n", `bad.yaml:3:72: port "70000"`},
	{"backwards range", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: allowed, ports: [\"20-10\"]}\n", `runs backwards`},
	{"bad level", "profile: x\nrules:\n  - name: a\n    from: host\n    to: any\n    proto: tcp\n    level: must\n", `bad.yaml:7:12: level "must"`},
	{"bad proto", "profile: x\nrules:\n  - name: a\n    from: host\n    to: any\n    proto: sctp\n    level: allowed\n", `bad.yaml:6:12: proto "sctp"`},
	{"missing level", "profile: x\nrules:\n  - name: a\n    from: host\n    to: any\n    proto: tcp\n", `missing key "level"`},
	{"wrong type", "profile: x\nrules:\n  - name: a\n    from: host\n    to: any\n    proto: tcp\n    level: allowed\n    bidirectional: sometimes\n", `bad.yaml:8:20: bidirectional must be true or false`},
	{"duplicate rule", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: allowed}\n  - {name: a, from: host, to: any, proto: udp, level: allowed}\n", `rule name "a" already used at line 3`},
	{"host bits", "profile: x\npeers:\n  p: {cidrs: [10.0.0.1/8]}\nrules:\n  - {name: a, from: host, to: p, proto: tcp, level: allowed}\n", `has host bits set (did you mean 10.0.0.0/8?)`},
	{"alias", "profile: x\npeers:\n  p: &x {cidrs: [10.0.0.0/8]}\n  q: *x\nrules: []\n", "anchors and aliases are not supported"},
	{"icmp with ports", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: icmp, level: allowed, ports: [1]}\n", "ICMP has no ports"},
	{"include a file", "profile: x\ninclude: [../../etc/passwd]\n", "includes name built-in profiles"},
	{"redefine host", "profile: x\npeers:\n  host: {cidrs: [10.0.0.0/8]}\n", `peer group "host" is built in`},
	{"empty", "profile: x\n", "has no rules and includes nothing"},
	{"bad each", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: required, ports: [1, 2], each: port}\n", `each "port": use ports`},
	{"each on allowed", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: allowed, ports: [1, 2], each: ports}\n", "each only says what a required rule needs"},
	{"each port of one", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: required, ports: [1], each: ports}\n", "each ports needs two or more entries"},
	{"each peer of any", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: required, ports: [1], each: peers}\n", "each peers names the server group's"},
	{"bad scope", "profile: x\nrules:\n  - {name: a, from: any, to: any, proto: tcp, level: allowed, scope: somewhere}\n", `scope "somewhere": use any or network`},
	{"network scope of host", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: allowed, scope: network}\n", "scope network excludes the host's flows"},
	{"bad unbound", "profile: x\npeers:\n  p: {unbound: never}\nrules:\n  - {name: a, from: host, to: p, proto: tcp, level: allowed}\n", `unbound "never": use any`},
	{"bad strict", "profile: x\nstrict: yes please\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: allowed}\n", "strict must be true or false"},
}

// TestParseNewKeys reads each, scope, strict and unbound as FORMAT.md
// documents them.
func TestParseNewKeys(t *testing.T) {
	doc := `profile: site/x
strict: true
peers:
  svc: {names: [a.example.com, b.example.com]}
  nets: {unbound: none}
  free: {unbound: any}
rules:
  - {name: a, from: host, to: svc, proto: tcp, ports: [1, 2], level: required, each: [ports, peers]}
  - {name: b, from: nets, to: free, proto: tcp, ports: [3], level: required, scope: network}
  - {name: c, from: host, to: svc, proto: tcp, ports: [4, 5], level: required}
`
	p, err := Parse("x.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Strict || !p.Peers["nets"].NoneUntilBound || p.Peers["free"].NoneUntilBound || !p.Peers["free"].Unbound() {
		t.Errorf("strict %v, nets none %v, free none %v", p.Strict, p.Peers["nets"].NoneUntilBound, p.Peers["free"].NoneUntilBound)
	}
	if r := p.Rules[0]; r.Each != EachPort|EachPeer || r.Each.String() != "ports+peers" || r.Scope != ScopeAny {
		t.Errorf("rule a: each %s scope %s", r.Each, r.Scope)
	}
	if r := p.Rules[1]; r.Scope != ScopeNetwork || r.Each != 0 {
		t.Errorf("rule b: each %s scope %s", r.Each, r.Scope)
	}
	if r := p.Rules[2]; r.Each.String() != "any" {
		t.Errorf("rule c: each %s, want any (the default)", r.Each)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrorTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *profile.Error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestParseSizeLimit(t *testing.T) {
	big := "profile: x\n" + strings.Repeat("# padding\n", MaxFileSize/10+1)
	// The error points at the first byte beyond the limit.
	if _, err := Parse("big.yaml", []byte(big)); err == nil || !strings.HasPrefix(err.Error(), "big.yaml:26215:4: profile is larger than 262144 bytes") {
		t.Fatalf("got %v", err)
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern, region, host string
		want                  bool
	}{
		{"*.amazonaws.com", "", "storagegateway.us-east-1.amazonaws.com", true},
		{"*.amazonaws.com", "", "amazonaws.com", false},
		{"*.amazonaws.com", "", "evil-amazonaws.com", false},
		{"storagegateway.{region}.amazonaws.com", "", "storagegateway.eu-west-1.amazonaws.com", true},
		{"storagegateway.{region}.amazonaws.com", "us-east-2", "storagegateway.eu-west-1.amazonaws.com", false},
		{"storagegateway.{region}.amazonaws.com", "us-east-2", "storagegateway.us-east-2.amazonaws.com", true},
		{"storagegateway.{region}.amazonaws.com", "", "storagegateway.a.b.amazonaws.com", false},
		{"*.datasync-dp.{region}.amazonaws.com", "us-east-2", "task-0123.datasync-dp.us-east-2.amazonaws.com", true},
		{"cdn.amazonlinux.com", "", "cdnxamazonlinux.com", false},
	}
	for _, tc := range tests {
		if got := CompilePattern(tc.pattern, tc.region).Match(tc.host); got != tc.want {
			t.Errorf("%q (region %q) on %q = %v, want %v", tc.pattern, tc.region, tc.host, got, tc.want)
		}
	}
}

func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if s, ok := m[name]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
}

func TestLoadComposes(t *testing.T) {
	set, err := LoadWith(files(map[string]string{"gw.yaml": good}), "gw.yaml", "storage-gateway/file-nfs")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range set.Profiles {
		names = append(names, p.Name)
	}
	// common is included by both but loaded once, before its includers.
	if got := strings.Join(names, " "); got != "storage-gateway/common site/gw storage-gateway/file-nfs" {
		t.Fatalf("profiles %s", got)
	}
	if g, ok := set.Group("site/gw", "ntp-servers"); !ok || g.Name != "ntp-servers" {
		t.Error("an included profile's peer group is not visible")
	}
	if _, ok := set.Group("storage-gateway/common", "corp"); ok {
		t.Error("a peer group leaked into a profile that does not include it")
	}
}

func TestLoadErrors(t *testing.T) {
	undefined := "profile: x\nrules:\n  - name: a\n    from: host\n    to: nowhere\n    proto: tcp\n    level: allowed\n"
	tests := []struct {
		name  string
		files map[string]string
		refs  []string
		want  string
	}{
		{"missing", nil, []string{"nope.yaml"}, "profile nope.yaml: no built-in profile of that name and no such file"},
		{"undefined group", map[string]string{"u.yaml": undefined}, []string{"u.yaml"}, `u.yaml:5:9: rule a: peer group "nowhere" is not defined`},
		{"unknown include", map[string]string{"i.yaml": "profile: x\ninclude: [no/such]\n"}, []string{"i.yaml"}, `include "no/such": no built-in profile`},
		{"same name twice", map[string]string{"a.yaml": good, "b.yaml": good}, []string{"a.yaml", "b.yaml"}, `profile "site/gw" is also defined by a.yaml`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadWith(files(tc.files), tc.refs...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBuiltinsParse(t *testing.T) {
	all, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no built-in profiles")
	}
	for _, p := range all {
		if _, err := Load(p.Name); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		for _, r := range p.Rules {
			if len(r.Sources) == 0 {
				t.Errorf("%s: rule %s cites no source", p.Name, r.Name)
			}
		}
	}
}

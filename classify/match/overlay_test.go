package match

import (
	"io/fs"
	"net/netip"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/profile"
)

const overlaySite = `profile: site/web
peers:
  web: {cidrs: [192.0.2.10]}
rules:
  - {name: https, from: host, to: web, proto: tcp, ports: [443], level: required, source: {doc: t}}
`

// overlayTLS has the shape of storage-gateway/tls, kept here so that this
// test holds the matcher, not the catalogue.
const overlayTLS = `profile: site/tls
rules:
  - {name: old, from: host, to: any, proto: tcp, level: discouraged, overlay: true, tls: {versions: ["1.0", "1.1"]}}
  - {name: no-pfs, from: host, to: any, proto: tcp, level: forbidden, overlay: true, tls: {forward_secrecy: false}}
`

// TestOverlayNeverAllowsAStrayFlow holds the overlay semantics the TLS and
// high-risk-port profiles rely on: an overlay adds its level to flows other
// rules allow, and a flow only overlays match stays unexpected, unless an
// overlay forbids it.
func TestOverlayNeverAllowsAStrayFlow(t *testing.T) {
	read := func(name string) ([]byte, error) {
		switch name {
		case "site.yaml":
			return []byte(overlaySite), nil
		case "tls.yaml":
			return []byte(overlayTLS), nil
		}
		return nil, fs.ErrNotExist
	}
	set, err := profile.LoadWith(read, "site.yaml", "tls.yaml")
	if err != nil {
		t.Fatal(err)
	}
	host := netip.MustParseAddr("10.0.0.5")
	m, err := New(set, Options{Host: []netip.Prefix{netip.PrefixFrom(host, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	web, stray := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("203.0.113.9")
	const tls10, tls13, ecdhe, rsa, aes256 = 0x0301, 0x0304, 0xc014, 0x009c, 0x1302
	tests := []struct {
		name        string
		server      netip.Addr
		version     uint16
		cipher      uint16
		verdict     FlowVerdict
		rule        string // the deciding rule, "" when none
		whyContains string
	}{
		{"allowed flow, modern TLS", web, tls13, aes256, Expected, "site/web:https", ""},
		{"allowed flow, TLS 1.0", web, tls10, ecdhe, Discouraged, "site/tls:old", ""},
		{"allowed flow, no forward secrecy", web, 0x0303, rsa, Forbidden, "site/tls:no-pfs", ""},
		{"stray flow, modern TLS", stray, tls13, aes256, Unexpected, "", ""},
		{"stray flow, TLS 1.0: still unexpected", stray, tls10, ecdhe, Unexpected, "",
			"rule site/tls:old matched, but it only judges flows that other rules allow"},
		{"stray flow, no forward secrecy: forbidden", stray, 0x0303, rsa, Forbidden, "site/tls:no-pfs", ""},
		{"allowed flow, no ServerHello: not judged", web, 0, 0, Expected, "site/web:https", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := testFlow{proto: ipproto.TCP, client: host, server: tc.server, serverPort: 443, tlsVersion: tc.version, tlsCipher: tc.cipher}.flow()
			fr := m.Flow(f, m.Host(), nil, nil)
			rule := ""
			if fr.Rule != nil {
				rule = fr.Rule.ID()
			}
			if fr.Verdict != tc.verdict || rule != tc.rule {
				t.Errorf("verdict %s by %q, want %s by %q", fr.Verdict, rule, tc.verdict, tc.rule)
			}
			if tc.verdict == Unexpected && len(fr.Rules()) != 0 {
				t.Errorf("an unexpected flow lists matching rules %v", fr.Rules())
			}
			if tc.whyContains != "" && !strings.Contains(strings.Join(fr.Why(), "|"), tc.whyContains) {
				t.Errorf("why %q does not say %q", fr.Why(), tc.whyContains)
			}
		})
	}
}

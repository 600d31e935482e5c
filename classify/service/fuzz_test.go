package service

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// The seed corpora in testdata/fuzz hold real first payloads from the
// protocol captures (TLS hellos, SSH, SMB, RPC, Kerberos, LDAP, DNS, NTP,
// NetBIOS, QUIC) and the hand-built ones of TestDetect.

// strongApps are recognised on any port; weakApps only with a port hint.
var (
	strongApps = map[App]bool{
		AppTLS: true, AppSSH: true, AppHTTP: true, AppSMB: true, AppRPC: true,
		AppKerberos: true, AppISCSI: true, AppLDAP: true, AppRDP: true, AppQUIC: true,
		AppTelnet: true,
	}
	weakApps = map[App]bool{AppDNS: true, AppNTP: true, AppNetBIOS: true}
)

func FuzzDetect(f *testing.F) {
	for _, tt := range detectTests {
		b := []byte(tt.payload)
		if rest, ok := strings.CutPrefix(tt.payload, "hex:"); ok {
			b = unhex(f, rest)
		}
		f.Add(uint8(tt.proto), tt.src, tt.dst, b)
	}
	f.Fuzz(func(t *testing.T, proto uint8, src, dst uint16, payload []byte) {
		p := ipproto.Proto(proto)
		a := Detect(p, src, dst, payload)
		if a >= numApps {
			t.Fatalf("Detect returned %d, beyond the last App", a)
		}
		// Says reads what Detect recognised, and for unrecognised
		// payloads a few protocols of its own: never a panic, never a
		// role beyond the two.
		for _, app := range []App{a, AppUnknown} {
			if r := Says(app, p, src, dst, payload); r > RoleResponse {
				t.Fatalf("Says(%v) = %d", app, r)
			}
		}
		if len(payload) == 0 || !p.HasPorts() {
			if a != AppNone {
				t.Fatalf("Detect(%v, empty=%v) = %v, want none", p, len(payload) == 0, a)
			}
			return
		}
		if a == AppNone {
			t.Fatal("Detect returned AppNone for a payload")
		}
		if again := Detect(p, src, dst, payload); again != a {
			t.Fatalf("Detect not deterministic: %v then %v", a, again)
		}
		// A strong signature does not depend on ports: with hints only a
		// weak protocol may take precedence.
		if neutral := Detect(p, 40000, 40001, payload); strongApps[neutral] && a != neutral && !weakApps[a] {
			t.Fatalf("Detect = %v on ports %d/%d but %v on neutral ports", a, src, dst, neutral)
		}
		if weakApps[a] && Detect(p, 40000, 40001, payload) == a && a != AppNetBIOS {
			t.Fatalf("weak %v recognised without its port", a)
		}
	})
}

func FuzzClientHello(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 5, 1, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		sni, ok := ParseClientHello(b)
		if !ok {
			if sni != "" {
				t.Fatalf("failed parse returned %q", sni)
			}
			return
		}
		if !utf8.ValidString(sni) || !validHostname([]byte(sni)) {
			t.Fatalf("SNI %q is not a host name", sni)
		}
		// What a prefix gives, the whole gives: more bytes never change
		// an answer already reached.
		more := append(bytes.Clone(b), make([]byte, 64)...)
		if sni2, ok2 := ParseClientHello(more); !ok2 || sni2 != sni {
			t.Fatalf("with more bytes: %q, %v; before %q", sni2, ok2, sni)
		}
		if Detect(protoTCP, 50000, 443, b) != AppTLS {
			t.Fatalf("a ClientHello that parses is not Detected as TLS")
		}
	})
}

func FuzzClientHelloForwardSecrecy(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 5, 1, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		offers, ok := ClientHelloForwardSecrecy(b)
		if !ok {
			if offers {
				t.Fatal("failed parse reported an offer")
			}
			return
		}
		more := append(bytes.Clone(b), make([]byte, 64)...)
		if offers2, ok2 := ClientHelloForwardSecrecy(more); !ok2 || offers2 != offers {
			t.Fatalf("with more bytes: %v, %v; before %v", offers2, ok2, offers)
		}
	})
}

func FuzzServerHello(f *testing.F) {
	f.Add([]byte{22, 3, 3, 0, 5, 2, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, c, ok := ParseServerHello(b)
		if !ok {
			if v != 0 || c != 0 {
				t.Fatalf("failed parse returned %#04x %#04x", v, c)
			}
			return
		}
		if TLSVersionName(v) == "" || CipherName(c) == "" {
			t.Fatal("empty name")
		}
		// Appending bytes after a parsed ServerHello does not change the
		// cipher suite, nor a version read from a TLS 1.2 legacy_version.
		more := append(bytes.Clone(b), make([]byte, 64)...)
		v2, c2, ok2 := ParseServerHello(more)
		if !ok2 || c2 != c || (v == 0x0303 && v2 != v) {
			t.Fatalf("with more bytes: %#04x %#04x %v; before %#04x %#04x", v2, c2, ok2, v, c)
		}
	})
}

func FuzzDNSAnswers(f *testing.F) {
	f.Add([]byte{0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		var calls []dnsCall
		err := DNSAnswers(msg, false, func(name string, addr netip.Addr) {
			calls = append(calls, dnsCall{name, addr})
		})
		if err != nil && len(calls) > 0 {
			t.Fatalf("error %v after %d calls", err, len(calls))
		}
		for _, c := range calls {
			if c.name == "" || strings.HasSuffix(c.name, ".") || c.name != strings.ToLower(c.name) {
				t.Fatalf("name %q not lower-case without trailing dot", c.name)
			}
			if !c.addr.Is4() && !c.addr.Is6() {
				t.Fatalf("address %v for %q", c.addr, c.name)
			}
		}
		// The same message behind the TCP length prefix gives the same
		// calls.
		if len(msg) > 0xffff {
			return
		}
		framed := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
		framed = append(framed, msg...)
		var tcpCalls []dnsCall
		tcpErr := DNSAnswers(framed, true, func(name string, addr netip.Addr) {
			tcpCalls = append(tcpCalls, dnsCall{name, addr})
		})
		if (err == nil) != (tcpErr == nil) || len(calls) != len(tcpCalls) {
			t.Fatalf("udp: %d calls, err %v; tcp: %d calls, err %v", len(calls), err, len(tcpCalls), tcpErr)
		}
	})
}

package service

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// firstWrite records the first Write made through a connection.
type firstWrite struct {
	net.Conn
	mu    sync.Mutex
	first []byte
}

func (c *firstWrite) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.first == nil {
		c.first = append([]byte{}, b...)
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *firstWrite) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// testCert returns a self-signed ECDSA certificate for "localhost".
func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// handshake runs a TLS handshake between crypto/tls's client and server over
// an in-memory pipe and returns the first bytes each side wrote (its
// ClientHello and ServerHello flights) and the negotiated state.
func runHandshake(t *testing.T, client, server *tls.Config) (clientHello, serverHello []byte, state tls.ConnectionState) {
	t.Helper()
	c, s := net.Pipe()
	cw, sw := &firstWrite{Conn: c}, &firstWrite{Conn: s}
	tc, ts := tls.Client(cw, client), tls.Server(sw, server)
	errs := make(chan error, 1)
	go func() { errs <- ts.Handshake() }()
	if err := tc.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	state = tc.ConnectionState()
	c.Close() // not tc.Close: its close_notify would wait for a reader
	s.Close()
	return cw.bytes(), sw.bytes(), state
}

func TestTLSHandshakes(t *testing.T) {
	cert := testCert(t)
	tests := []struct {
		name   string
		sni    string
		max    uint16
		suites []uint16
	}{
		{"tls13", "www.example.com", tls.VersionTLS13, nil},
		{"tls12-ecdhe-gcm", "api.example.org", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
		{"tls12-ecdhe-chacha", "a-b_c.example", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
		{"tls11", "old.example.net", tls.VersionTLS11, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}},
		{"no-sni", "", tls.VersionTLS13, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true, MaxVersion: tt.max, CipherSuites: tt.suites}
			if tt.max < tls.VersionTLS12 {
				client.MinVersion = tt.max
			}
			server := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: client.MinVersion, CipherSuites: tt.suites}
			ch, sh, state := runHandshake(t, client, server)

			if got := Detect(protoTCP, 50000, 443, ch); got != AppTLS {
				t.Errorf("Detect(ClientHello) = %v", got)
			}
			if got := Detect(protoTCP, 443, 50000, sh); got != AppTLS {
				t.Errorf("Detect(ServerHello) = %v", got)
			}
			sni, ok := ParseClientHello(ch)
			if ok != (tt.sni != "") || sni != tt.sni {
				t.Errorf("ParseClientHello = %q, %v; want %q", sni, ok, tt.sni)
			}
			v, c, ok := ParseServerHello(sh)
			if !ok || v != state.Version || c != state.CipherSuite {
				t.Errorf("ParseServerHello = %#04x, %#04x, %v; want %#04x, %#04x", v, c, ok, state.Version, state.CipherSuite)
			}
			if got, want := CipherName(c), tls.CipherSuiteName(state.CipherSuite); got != want {
				t.Errorf("CipherName(%#04x) = %q, want %q", c, got, want)
			}
			if !ForwardSecret(c) {
				t.Errorf("ForwardSecret(%s) = false", CipherName(c))
			}
			// What the client offered, judged apart from what was chosen.
			if offers, ok := ClientHelloForwardSecrecy(ch); !ok || !offers {
				t.Errorf("ClientHelloForwardSecrecy = %v, %v; want true", offers, ok)
			}

			// A passive observer may see only part of the first segment:
			// every prefix must either fail or give the full answer, and
			// prefixes that reach past the wanted field must succeed.
			for n := range len(ch) {
				got, ok := ParseClientHello(ch[:n])
				if ok && got != tt.sni {
					t.Fatalf("ParseClientHello(first %d bytes) = %q", n, got)
				}
			}
			if tt.sni != "" {
				end := sniEnd(t, ch, tt.sni)
				for n := end; n <= len(ch); n++ {
					if got, ok := ParseClientHello(ch[:n]); !ok || got != tt.sni {
						t.Fatalf("ParseClientHello(first %d bytes, SNI ends at %d) = %q, %v", n, end, got, ok)
					}
				}
			}
			for n := range len(sh) {
				gv, gc, ok := ParseServerHello(sh[:n])
				if ok && (gv != state.Version || gc != state.CipherSuite) {
					t.Fatalf("ParseServerHello(first %d bytes) = %#04x, %#04x", n, gv, gc)
				}
			}
		})
	}
}

// sniEnd returns the offset just past the server_name extension holding
// name in a ClientHello.
func sniEnd(t *testing.T, ch []byte, name string) int {
	t.Helper()
	for i := 0; i+len(name) <= len(ch); i++ {
		if string(ch[i:i+len(name)]) == name {
			return i + len(name)
		}
	}
	t.Fatalf("%q not in ClientHello", name)
	return 0
}

func TestParseHelloRejects(t *testing.T) {
	cert := testCert(t)
	ch, sh, _ := runHandshake(t,
		&tls.Config{ServerName: "x.example", InsecureSkipVerify: true},
		&tls.Config{Certificates: []tls.Certificate{cert}})
	for name, b := range map[string][]byte{
		"empty":              nil,
		"not handshake":      append([]byte{23}, ch[1:]...),
		"sslv2 major":        append([]byte{22, 2}, ch[2:]...),
		"server hello as ch": sh,
		"garbage":            []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	} {
		if sni, ok := ParseClientHello(b); ok {
			t.Errorf("ParseClientHello(%s) = %q, true", name, sni)
		}
	}
	if _, _, ok := ParseServerHello(ch); ok {
		t.Error("ParseServerHello(ClientHello) = ok")
	}

	// An SNI with a character no host name has is refused.
	bad := append([]byte{}, ch...)
	i := sniEnd(t, bad, "x.example") - len("x.example")
	bad[i] = '/'
	if sni, ok := ParseClientHello(bad); ok {
		t.Errorf("ParseClientHello(SNI with '/') = %q, true", sni)
	}
}

// TestServerHelloCut covers TLS 1.2 ServerHellos cut before or
// inside the extensions: the version is only certain once every extension
// was seen.
func TestServerHelloCut(t *testing.T) {
	// A TLS 1.2 ServerHello: legacy_version 0x0303, cipher 0xc02f, one
	// renegotiation_info extension.
	sh := []byte{
		22, 3, 3, 0, 50, // record
		2, 0, 0, 46, // ServerHello, length
		3, 3, // legacy_version
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, // random
		0,          // session id
		0xc0, 0x2f, // cipher suite
		0,    // compression
		0, 5, // extensions
		0xff, 0x01, 0, 1, 0, // renegotiation_info
	}
	if v, c, ok := ParseServerHello(sh); !ok || v != 0x0303 || c != 0xc02f {
		t.Fatalf("ParseServerHello = %#04x %#04x %v", v, c, ok)
	}
	for n := 0; n < len(sh); n++ {
		if v, c, ok := ParseServerHello(sh[:n]); ok {
			t.Errorf("ParseServerHello(first %d of %d bytes) = %#04x %#04x, true; TLS 1.3 not ruled out", n, len(sh), v, c)
		}
	}
	// Without extensions, a whole message is TLS 1.2.
	noExt := append([]byte{22, 3, 3, 0, 42, 2, 0, 0, 38}, sh[9:9+38]...)
	if v, c, ok := ParseServerHello(noExt); !ok || v != 0x0303 || c != 0xc02f {
		t.Errorf("ParseServerHello(no extensions) = %#04x %#04x %v", v, c, ok)
	}
	// TLS 1.0 cannot hide TLS 1.3: the cipher suite is enough.
	tls10 := append([]byte{}, sh[:9+2+32+1+2]...)
	tls10[10] = 1
	if v, c, ok := ParseServerHello(tls10); !ok || v != 0x0301 || c != 0xc02f {
		t.Errorf("ParseServerHello(TLS 1.0, cut after cipher) = %#04x %#04x %v", v, c, ok)
	}
}

func TestTLSVersionName(t *testing.T) {
	for v, want := range map[uint16]string{
		0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2",
		0x0304: "TLS 1.3", 0xfefd: "DTLS 1.2", 0x7f17: "TLS 1.3 draft 23", 0x1234: "0x1234",
	} {
		if got := TLSVersionName(v); got != want {
			t.Errorf("TLSVersionName(%#04x) = %q, want %q", v, got, want)
		}
	}
}

func TestCipherSuites(t *testing.T) {
	tests := []struct {
		id   uint16
		name string
		fs   bool
	}{
		{0x1301, "TLS_AES_128_GCM_SHA256", true},
		{0x1302, "TLS_AES_256_GCM_SHA384", true},
		{0x1303, "TLS_CHACHA20_POLY1305_SHA256", true},
		{0x1304, "TLS_AES_128_CCM_SHA256", true},
		{0x1305, "TLS_AES_128_CCM_8_SHA256", true},
		{0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", true},
		{0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", true},
		{0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", true},
		{0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", true},
		{0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", true},
		{0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", true},
		{0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", true},
		{0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", true},
		{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", true},
		{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", true},
		{0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", true},
		{0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", true},
		{0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", true},
		{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", false},
		{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", false},
		{0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", false},
		{0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", false},
		{0x0004, "TLS_RSA_WITH_RC4_128_MD5", false},
		{0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256", false},
		{0x0000, "TLS_NULL_WITH_NULL_NULL", false},
		{0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", false},
		{0xabcd, "0xabcd", false},
	}
	for _, tt := range tests {
		if got := CipherName(tt.id); got != tt.name {
			t.Errorf("CipherName(%#04x) = %q, want %q", tt.id, got, tt.name)
		}
		if got := ForwardSecret(tt.id); got != tt.fs {
			t.Errorf("ForwardSecret(%s) = %v, want %v", tt.name, got, tt.fs)
		}
	}
	// Every suite crypto/tls knows is named as crypto/tls names it.
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if got := CipherName(cs.ID); got != cs.Name {
			t.Errorf("CipherName(%#04x) = %q, crypto/tls says %q", cs.ID, got, cs.Name)
		}
	}
}

// Crashers found by fuzzing, kept as named tests (their inputs are also in
// testdata/fuzz).
func TestFuzzRegressions(t *testing.T) {
	// FuzzClientHello/d8b4693c1559ff3a: a record version of 3.48 was parsed
	// as a ClientHello although Detect does not call it TLS.
	ch := []byte("\x16\x03000\x010000000000000000000000000000000000000\x00\x00500000000000000000000000000000000000000000000000000000\x01000\x00\x00\x00\x14\x00\x12\x00\x00\x0f000000000000000")
	if sni, ok := ParseClientHello(ch); ok {
		t.Errorf("ParseClientHello(record version 0x0330) = %q, true", sni)
	}
	// FuzzServerHello/283497b7c7a9573d: a failed parse returned values.
	sh := []byte("\x16\x03000\x02000\x03\x0300000000000000000000000000000000 0000000000000000000000000000000000")
	if v, c, ok := ParseServerHello(sh); ok || v != 0 || c != 0 {
		t.Errorf("ParseServerHello = %#04x %#04x %v, want 0 0 false", v, c, ok)
	}
}

// TestClientHelloOffers: the offer is judged from the suite list alone, and
// a ClientHello cut before the list's end is not judged.
func TestClientHelloOffers(t *testing.T) {
	hello := func(suites ...uint16) []byte {
		body := []byte{3, 3}
		body = append(body, make([]byte, 32)...) // random
		body = append(body, 0)                   // no session id
		body = append(body, byte(len(suites)*2>>8), byte(len(suites)*2))
		for _, c := range suites {
			body = append(body, byte(c>>8), byte(c))
		}
		body = append(body, 1, 0, 0, 0) // null compression, no extensions
		hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
		return append([]byte{22, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	}
	for _, tc := range []struct {
		suites []uint16
		offers bool
	}{
		{[]uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_CBC_SHA}, false},
		{[]uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, true},
		{[]uint16{0x0a0a, tls.TLS_AES_128_GCM_SHA256}, true}, // GREASE, then TLS 1.3
	} {
		b := hello(tc.suites...)
		if offers, ok := ClientHelloForwardSecrecy(b); !ok || offers != tc.offers {
			t.Errorf("suites %#04x: %v, %v; want %v", tc.suites, offers, ok, tc.offers)
		}
		if _, ok := ClientHelloForwardSecrecy(b[:len(b)-6]); ok {
			t.Errorf("suites %#04x: a hello cut inside the suite list was judged", tc.suites)
		}
	}
}

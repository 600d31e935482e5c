package service

import (
	"crypto/tls"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// TLS handshake message types and extensions (RFC 8446 §4, §4.2; RFC 6066 §3).
const (
	typeClientHello = 1
	typeServerHello = 2

	extServerName        = 0
	extSupportedVersions = 43
)

// handshake returns the body of the handshake message of type want at the
// start of b, a TLS record (RFC 8446 §5.1, §4). A passive observer sees only
// what one segment carried, so the record and the message are cut to the
// bytes present instead of being rejected; complete reports whether the
// whole message was there.
func handshake(b []byte, want uint8) (body cryptobyte.String, complete bool) {
	// A handshake record header that Detect takes for TLS too.
	if !isTLSRecord(b) || b[0] != 22 {
		return nil, false
	}
	s := cryptobyte.String(b)
	var recLen uint16
	if !s.Skip(3) || !s.ReadUint16(&recLen) {
		return nil, false
	}
	if len(s) >= int(recLen) {
		s = s[:recLen]
	}
	var msgType uint8
	var msgLen uint32
	if !s.ReadUint8(&msgType) || msgType != want || !s.ReadUint24(&msgLen) {
		return nil, false
	}
	if len(s) >= int(msgLen) {
		return s[:msgLen], true
	}
	return s, false
}

// readCut reads a 16-bit length-prefixed vector that may have been cut
// short: it returns what is present and whether the vector is whole.
func readCut(s *cryptobyte.String) (v cryptobyte.String, whole, ok bool) {
	if len(*s) < 2 {
		return nil, false, false
	}
	if n := int((*s)[0])<<8 | int((*s)[1]); len(*s) < 2+n {
		v, *s = (*s)[2:], nil
		return v, false, true
	}
	s.ReadUint16LengthPrefixed(&v)
	return v, true, true
}

// ParseClientHello returns the host_name from the server_name extension
// (RFC 6066 §3) of the ClientHello (RFC 8446 §4.1.2) that opens the TLS
// record at the start of b. It succeeds when the bytes reach the whole
// extension, even if the record was cut short after it; the name is returned
// as sent, and must be a plausible DNS name (letters, digits, '-', '_', '.').
func ParseClientHello(b []byte) (sni string, ok bool) {
	s, _ := handshake(b, typeClientHello)
	var version uint16
	var sessionID, suites, compression cryptobyte.String
	if !s.ReadUint16(&version) || !s.Skip(32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) ||
		!s.ReadUint16LengthPrefixed(&suites) ||
		!s.ReadUint8LengthPrefixed(&compression) {
		return "", false
	}
	exts, _, ok := readCut(&s)
	if !ok {
		return "", false // no extensions: no SNI
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return "", false
		}
		if typ != extServerName {
			continue
		}
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) {
			return "", false
		}
		for !list.Empty() {
			var nameType uint8
			var name cryptobyte.String
			if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
				return "", false
			}
			if nameType == 0 { // host_name
				if !validHostname(name) {
					return "", false
				}
				return string(name), true
			}
		}
		return "", false
	}
	return "", false
}

// ClientHelloForwardSecrecy reports whether the ClientHello that opens the
// TLS record at the start of b offers a cipher suite with forward secrecy
// (ForwardSecret): what "clients must support cipher suites with perfect
// forward secrecy" asks of a client, whatever the server then chose. It
// fails when the bytes stop before the end of the suite list.
func ClientHelloForwardSecrecy(b []byte) (offers, ok bool) {
	s, _ := handshake(b, typeClientHello)
	var version uint16
	var sessionID, suites cryptobyte.String
	if !s.ReadUint16(&version) || !s.Skip(32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) ||
		!s.ReadUint16LengthPrefixed(&suites) {
		return false, false
	}
	for !suites.Empty() {
		var c uint16
		if !suites.ReadUint16(&c) {
			return false, false
		}
		if ForwardSecret(c) {
			offers = true
		}
	}
	return offers, true
}

// validHostname reports whether b is 1-255 bytes of letters, digits, '-', '_'
// and '.', the characters of DNS host names and service labels.
func validHostname(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// ParseServerHello returns the TLS version and cipher suite a server chose
// in the ServerHello (RFC 8446 §4.1.3) that opens the TLS record at the
// start of b. The version is the supported_versions extension's (§4.2.1) when
// present, as in TLS 1.3, else legacy_version. A HelloRetryRequest, which has
// the same form, is parsed the same way.
//
// It fails when the bytes stop before the cipher suite, or when
// legacy_version is TLS 1.2 and the extensions are cut short before every
// one was seen, since supported_versions could be among the missing.
func ParseServerHello(b []byte) (version, cipher uint16, ok bool) {
	s, complete := handshake(b, typeServerHello)
	var sessionID cryptobyte.String
	var compression uint8
	if !s.ReadUint16(&version) || !s.Skip(32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) || !s.ReadUint16(&cipher) {
		return 0, 0, false
	}
	if version>>8 != 3 && version&0xff00 != 0x7f00 {
		return 0, 0, false // not SSL 3.0-TLS 1.2 nor a TLS 1.3 draft
	}
	// Only a TLS 1.2 legacy_version can hide TLS 1.3 in supported_versions.
	if !s.ReadUint8(&compression) {
		if version == tls.VersionTLS12 {
			return 0, 0, false
		}
		return version, cipher, true
	}
	exts, whole, ok := readCut(&s)
	if !ok {
		// No extensions: certain if the message ended there.
		if version == tls.VersionTLS12 && !(complete && s.Empty()) {
			return 0, 0, false
		}
		return version, cipher, true
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			whole = false
			break
		}
		var v uint16
		if typ == extSupportedVersions && data.ReadUint16(&v) && data.Empty() {
			return v, cipher, true
		}
	}
	if !whole && version == tls.VersionTLS12 {
		return 0, 0, false
	}
	return version, cipher, true
}

// TLSVersionName returns the name of a TLS, SSL or DTLS protocol version
// ("TLS 1.2", "SSL 3.0", "DTLS 1.2"), or "0x%04x" for any other value.
func TLSVersionName(v uint16) string {
	switch v {
	case 0x0002:
		return "SSL 2.0"
	case 0x0300:
		return "SSL 3.0"
	case 0x0301:
		return "TLS 1.0"
	case 0x0302:
		return "TLS 1.1"
	case 0x0303:
		return "TLS 1.2"
	case 0x0304:
		return "TLS 1.3"
	case 0xfeff:
		return "DTLS 1.0"
	case 0xfefd:
		return "DTLS 1.2"
	case 0xfefc:
		return "DTLS 1.3"
	}
	if v&0xff00 == 0x7f00 {
		return fmt.Sprintf("TLS 1.3 draft %d", v&0xff)
	}
	return fmt.Sprintf("0x%04x", v)
}

// extraSuites names the cipher suites that crypto/tls does not implement but
// that servers still choose: finite-field DHE, static RSA with other
// ciphers, CCM and the TLS 1.3 CCM suites (IANA TLS Cipher Suites registry,
// names checked against "openssl ciphers -V -stdname" and Wireshark's
// tls.handshake.ciphersuite table).
var extraSuites = map[uint16]string{
	0x0000: "TLS_NULL_WITH_NULL_NULL",
	0x0001: "TLS_RSA_WITH_NULL_MD5",
	0x0002: "TLS_RSA_WITH_NULL_SHA",
	0x0004: "TLS_RSA_WITH_RC4_128_MD5",
	0x0009: "TLS_RSA_WITH_DES_CBC_SHA",
	0x0013: "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA",
	0x0016: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
	0x0032: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
	0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
	0x0038: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
	0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
	0x003b: "TLS_RSA_WITH_NULL_SHA256",
	0x003d: "TLS_RSA_WITH_AES_256_CBC_SHA256",
	0x0040: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
	0x0041: "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
	0x0044: "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA",
	0x0045: "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA",
	0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
	0x006a: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
	0x006b: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
	0x0084: "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
	0x0087: "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA",
	0x0088: "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA",
	0x008c: "TLS_PSK_WITH_AES_128_CBC_SHA",
	0x008d: "TLS_PSK_WITH_AES_256_CBC_SHA",
	0x009e: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
	0x009f: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
	0x00a2: "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
	0x00a3: "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
	0x00a8: "TLS_PSK_WITH_AES_128_GCM_SHA256",
	0x00a9: "TLS_PSK_WITH_AES_256_GCM_SHA384",
	0x00aa: "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256",
	0x00ab: "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384",
	0x00ff: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
	0x1304: "TLS_AES_128_CCM_SHA256",
	0x1305: "TLS_AES_128_CCM_8_SHA256",
	0x5600: "TLS_FALLBACK_SCSV",
	0xc008: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
	0xc024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
	0xc028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
	0xc035: "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA",
	0xc036: "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA",
	0xc09c: "TLS_RSA_WITH_AES_128_CCM",
	0xc09d: "TLS_RSA_WITH_AES_256_CCM",
	0xc09e: "TLS_DHE_RSA_WITH_AES_128_CCM",
	0xc09f: "TLS_DHE_RSA_WITH_AES_256_CCM",
	0xc0ac: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
	0xc0ad: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
	0xccaa: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	0xccac: "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
	0xccad: "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
}

// suiteNames maps every cipher suite wirecheck can name to its IANA name:
// crypto/tls's secure and insecure suites, and extraSuites. Built once.
var suiteNames = func() map[uint16]string {
	m := make(map[uint16]string, len(extraSuites)+40)
	for id, name := range extraSuites {
		m[id] = name
	}
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, cs := range list {
			m[cs.ID] = cs.Name
		}
	}
	return m
}()

// CipherName returns the IANA name of a TLS cipher suite
// ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), or "0x%04x" when it is not one
// wirecheck knows.
func CipherName(c uint16) string {
	if name, ok := suiteNames[c]; ok {
		return name
	}
	return fmt.Sprintf("0x%04x", c)
}

// ForwardSecret reports whether cipher suite c has forward secrecy: its key
// exchange is ephemeral (EC)DHE, as in every TLS 1.3 suite (0x1301-0x1305).
// Static RSA, static DH, plain PSK, NULL and suites CipherName cannot name
// report false.
func ForwardSecret(c uint16) bool {
	if c >= 0x1301 && c <= 0x1305 {
		return true
	}
	name := suiteNames[c]
	return strings.HasPrefix(name, "TLS_ECDHE_") || strings.HasPrefix(name, "TLS_DHE_")
}

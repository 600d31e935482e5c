package service

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

const (
	protoTCP = ipproto.TCP
	protoUDP = ipproto.UDP
)

// unhex decodes hex with spaces, for readable payloads.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Hand-built first payloads, one or more per protocol; hex ones quote
// captures or the protocol's specification.
var detectTests = []struct {
	name     string
	proto    ipproto.Proto
	src, dst uint16
	payload  string // hex when it starts with "hex:"
	want     App
}{
	{"empty", protoTCP, 50000, 443, "", AppNone},
	{"icmp", ipproto.ICMPv4, 0, 0, "abcdef", AppNone},
	{"garbage", protoTCP, 50000, 443, "hex:00 01 02 03 04 05 06 07 08 09", AppUnknown},
	{"one byte", protoTCP, 50000, 25, "e", AppUnknown},

	// TLS record header + ClientHello type, on any port.
	{"tls client hello", protoTCP, 50000, 443, "hex:16 03 01 02 00 01 00 01 fc 03 03", AppTLS},
	{"tls client hello on 22", protoTCP, 50000, 22, "hex:16 03 01 02 00 01 00 01 fc 03 03", AppTLS},
	{"tls server hello", protoTCP, 443, 50000, "hex:16 03 03 00 5a 02 00 00 56 03 03", AppTLS},
	{"tls header only", protoTCP, 50000, 443, "hex:16 03 01 02 00", AppTLS},
	{"tls app data mid-flow", protoTCP, 50000, 443, "hex:17 03 03 00 22 d5 b5 a2 f2", AppTLS},
	{"tls bad version", protoTCP, 50000, 443, "hex:16 03 07 02 00 01", AppUnknown},
	{"tls certificate first", protoTCP, 50000, 443, "hex:16 03 03 02 00 0b 00 01 fc", AppUnknown},
	{"sslv2 hello", protoTCP, 50000, 443, "hex:80 2e 01 03 01 00 15 00 00 00 10 07 00 c0", AppTLS},
	{"dtls client hello", protoUDP, 50000, 4433, "hex:16 fe ff 00 00 00 00 00 00 00 00 00 9c 01 00 00 90", AppTLS},

	{"ssh", protoTCP, 50000, 22, "SSH-2.0-OpenSSH_9.6\r\n", AppSSH},
	{"ssh on 443", protoTCP, 50000, 443, "SSH-2.0-OpenSSH_9.6\r\n", AppSSH},
	{"ssh 1.99", protoTCP, 22, 50000, "SSH-1.99-Cisco-1.25\r\n", AppSSH},
	{"not ssh", protoTCP, 50000, 22, "SSH-X", AppUnknown},

	{"http get", protoTCP, 50000, 80, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", AppHTTP},
	{"http post on 443", protoTCP, 50000, 443, "POST /api HTTP/1.1\r\n", AppHTTP},
	{"http proxy get", protoTCP, 50000, 3128, "GET http://example.com/ HTTP/1.1\r\n", AppHTTP},
	{"http connect", protoTCP, 50000, 8080, "CONNECT example.com:443 HTTP/1.1\r\n", AppHTTP},
	{"http options *", protoTCP, 50000, 80, "OPTIONS * HTTP/1.1\r\n", AppHTTP},
	{"http response", protoTCP, 80, 50000, "HTTP/1.1 200 OK\r\n", AppHTTP},
	{"http2 preface", protoTCP, 50000, 80, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", AppHTTP},
	{"http2 server settings", protoTCP, 80, 50000, "hex:00 00 12 04 00 00 00 00 00 00 03 00 00 00 64 00 04 00 10 00 00 00 06 00 00 40 00", AppHTTP},
	{"ssdp", protoUDP, 50000, 1900, "M-SEARCH * HTTP/1.1\r\n", AppHTTP},
	{"sip options is not http", protoUDP, 5060, 5060, "OPTIONS sip:bob@example.com SIP/2.0\r\n", AppUnknown},
	{"rtsp is not http", protoTCP, 50000, 554, "OPTIONS rtsp://example.com/media RTSP/1.0\r\n", AppUnknown},
	{"get without space", protoTCP, 50000, 80, "GETX / HTTP/1.1", AppUnknown},

	// NetBIOS session message + SMB protocol IDs ([MS-SMB2] 2.1).
	{"smb2 negotiate", protoTCP, 50000, 445, "hex:00 00 00 b0 fe 53 4d 42 40 00", AppSMB},
	{"smb1 negotiate", protoTCP, 50000, 139, "hex:00 00 00 54 ff 53 4d 42 72 00", AppSMB},
	{"smb3 transform", protoTCP, 445, 50000, "hex:00 00 01 00 fd 53 4d 42 00 00", AppSMB},
	{"smb on 80", protoTCP, 50000, 80, "hex:00 00 00 b0 fe 53 4d 42 40 00", AppSMB},
	// RFC 1002 4.3.2 session request: called name "*SMBSERVER" encoded.
	{"nbss session request", protoTCP, 50000, 139, "hex:81 00 00 44 20 43 4b 46 44 45 4e 45 43 46 44 45 46 46 43 46 47 45 46 46 43 43 41 43 41 43 41 43 41 43 41 43 41 00 20", AppNetBIOS},
	{"nbss positive response", protoTCP, 139, 50000, "hex:82 00 00 00", AppNetBIOS},
	{"nbss positive response elsewhere", protoTCP, 7000, 50000, "hex:82 00 00 00", AppUnknown},
	// RFC 1002 4.2.12 name query for "WORKGROUP<1d>".
	{"nbns query", protoUDP, 137, 137, "hex:80 01 01 10 00 01 00 00 00 00 00 00 20 46 48 45 50 46 43 45 4c 45 48 46 43 45 50 46 46 46 41 43 41 43 41 43 41 43 41 43 41 42 4e 00 00 20 00 01", AppNetBIOS},
	{"nbns needs port", protoUDP, 50000, 50001, "hex:80 01 01 10 00 01 00 00 00 00 00 00 20 46 48 45 50", AppUnknown},
	{"nbds direct group", protoUDP, 138, 138, "hex:11 02 91 a0 c0 a8 01 05 00 8a 00 bb 00 00", AppNetBIOS},

	// RFC 5531: TCP record mark, xid, CALL, rpcvers 2, portmapper v2 GETPORT, AUTH_NONE.
	{"rpc call tcp", protoTCP, 900, 111, "hex:80 00 00 38 5e 3a 9c 01 00 00 00 00 00 00 00 02 00 01 86 a0 00 00 00 02 00 00 00 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", AppRPC},
	{"rpc call udp on odd port", protoUDP, 900, 40000, "hex:5e 3a 9c 01 00 00 00 00 00 00 00 02 00 01 86 a3 00 00 00 03 00 00 00 00 00 00 00 01 00 00 00 20", AppRPC},
	{"rpc reply accepted", protoUDP, 111, 900, "hex:5e 3a 9c 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 01", AppRPC},
	{"rpc reply bad accept_stat", protoUDP, 111, 900, "hex:5e 3a 9c 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 09 00 00 08 01", AppUnknown},
	{"rpc call version 3", protoUDP, 900, 111, "hex:5e 3a 9c 01 00 00 00 00 00 00 00 03 00 01 86 a0 00 00 00 02 00 00 00 03 00 00 00 00 00 00 00 00", AppUnknown},

	{"ntp client", protoUDP, 50000, 123, "hex:23" + strings.Repeat(" 00", 47), AppNTP},
	{"ntp server", protoUDP, 123, 50000, "hex:24 02 00 e7" + strings.Repeat(" 00", 44), AppNTP},
	{"ntp control", protoUDP, 50000, 123, "hex:16 02 00 01 00 00 00 00 00 00 00 00", AppNTP},
	{"ntp needs port", protoUDP, 50000, 50001, "hex:23" + strings.Repeat(" 00", 47), AppUnknown},
	{"ntp short", protoUDP, 50000, 123, "hex:23 00 00 00 00 00 00 00 00 00", AppUnknown},
	{"ntp version 0", protoUDP, 50000, 123, "hex:03" + strings.Repeat(" 00", 47), AppUnknown},

	// RFC 4120: AS-REQ [APPLICATION 10], SEQUENCE, pvno [1] 5, msg-type [2] 10.
	{"kerberos as-req udp", protoUDP, 50000, 88, "hex:6a 81 b4 30 81 b1 a1 03 02 01 05 a2 03 02 01 0a a3 15", AppKerberos},
	{"kerberos as-req tcp", protoTCP, 50000, 88, "hex:00 00 00 b7 6a 81 b4 30 81 b1 a1 03 02 01 05 a2 03 02 01 0a", AppKerberos},
	{"kerberos tcp bad length", protoTCP, 50000, 88, "hex:00 00 00 99 6a 81 b4 30 81 b1 a1 03 02 01 05 a2 03 02 01 0a", AppUnknown},
	{"kerberos krb-error", protoUDP, 88, 50000, "hex:7e 5a 30 58 a0 03 02 01 05 a1 03 02 01 1e a4 11", AppKerberos},
	{"kerberos tgs-rep on 8080", protoTCP, 8080, 50000, "hex:00 00 05 d0 6d 82 05 cc 30 82 05 c8 a0 03 02 01 05 a1 03 02 01 0d", AppKerberos},
	{"kerberos wrong msg-type", protoUDP, 50000, 88, "hex:6a 81 b4 30 81 b1 a1 03 02 01 05 a2 03 02 01 0c", AppUnknown},
	{"kerberos pvno 4", protoUDP, 50000, 88, "hex:6a 81 b4 30 81 b1 a1 03 02 01 04 a2 03 02 01 0a", AppUnknown},

	// RFC 4511: bindRequest, messageID 1.
	{"ldap bind", protoTCP, 50000, 389, "hex:30 0c 02 01 01 60 07 02 01 03 04 00 80 00", AppLDAP},
	{"ldap long form (AD)", protoTCP, 389, 50000, "hex:30 84 00 00 00 10 02 01 01 61 84 00 00 00 07 0a 01 00", AppLDAP},
	{"cldap search", protoUDP, 50000, 389, "hex:30 81 84 02 01 01 63 7f 04 00 0a 01 00", AppLDAP},
	{"snmp is not ldap", protoUDP, 50000, 161, "hex:30 26 02 01 01 04 06 70 75 62 6c 69 63 a0 19", AppUnknown},

	// RFC 7143 11.12: Login Request, T=1, CSG=1, NSG=3, version 0.
	{"iscsi login request", protoTCP, 50000, 3260, "hex:43 87 00 00 00 00 01 2c 00 02 3d 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 01 00 00 00 00" + strings.Repeat(" 00", 16), AppISCSI},
	{"iscsi login response", protoTCP, 3260, 50000, "hex:23 87 00 00 00 00 00 c4 00 02 3d 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 01 00 00" + strings.Repeat(" 00", 10), AppISCSI},
	{"iscsi reserved set", protoTCP, 50000, 3260, "hex:43 87 00 00 00 00 01 2c 00 02 3d 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 01 00 00 00 00" + strings.Repeat(" 00", 15) + " 01", AppUnknown},
	{"iscsi short", protoTCP, 50000, 3260, "hex:43 87 00 00 00 00 01 2c", AppUnknown},

	// [MS-RDPBCGR] 4.1.1: TPKT, X.224 CR, "Cookie: mstshash=".
	{"rdp cookie", protoTCP, 50000, 3389, "hex:03 00 00 2c 27 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20", AppRDP},
	{"rdp neg req", protoTCP, 50000, 3389, "hex:03 00 00 13 0e e0 00 00 00 00 00 01 00 08 00 03 00 00 00", AppRDP},
	{"rdp confirm", protoTCP, 3389, 50000, "hex:03 00 00 13 0e d0 00 00 12 34 00 02 00 08 00 01 00 00 00", AppRDP},
	{"s7comm is not rdp", protoTCP, 50000, 102, "hex:03 00 00 16 11 e0 00 00 00 01 00 c1 02 01 00 c2 02 01 02 c0 01 0a", AppUnknown},

	{"smtp banner", protoTCP, 25, 50000, "220 mx.example.com ESMTP Postfix\r\n", AppSMTP},
	{"smtp banner on 2525 multiline", protoTCP, 2525, 50000, "220-mail.example.net ESMTP\r\n220 ok\r\n", AppSMTP},
	{"smtp ehlo", protoTCP, 50000, 587, "EHLO client.example.com\r\n", AppSMTP},
	{"smtp helo lower", protoTCP, 50000, 25, "helo x\r\n", AppSMTP},
	{"ftp banner", protoTCP, 21, 50000, "220 (vsFTPd 3.0.3)\r\n", AppFTP},
	{"ftp banner by port", protoTCP, 21, 50000, "220-FileZilla Server 1.7\r\n", AppFTP},
	{"plain 220 elsewhere", protoTCP, 7000, 50000, "220 ready\r\n", AppUnknown},
	{"ftp user", protoTCP, 50000, 21, "USER anonymous\r\n", AppFTP},
	{"pop3 user", protoTCP, 50000, 110, "USER alice\r\n", AppPOP3},
	{"pop3 banner", protoTCP, 110, 50000, "+OK POP3 server ready\r\n", AppPOP3},
	{"imap banner", protoTCP, 143, 50000, "* OK [CAPABILITY IMAP4rev1] ready\r\n", AppIMAP},
	{"telnet", protoTCP, 23, 50000, "hex:ff fd 18 ff fd 20 ff fd 23", AppTelnet},

	// RFC 1035 4.1.1: id, RD, one question "example.com" A IN.
	{"dns query", protoUDP, 50000, 53, "hex:ab cd 01 00 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01", AppDNS},
	{"dns response", protoUDP, 53, 50000, "hex:ab cd 81 80 00 01 00 01 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01", AppDNS},
	{"mdns", protoUDP, 5353, 5353, "hex:00 00 84 00 00 00 00 01 00 00 00 00", AppDNS},
	{"dns tcp", protoTCP, 50000, 53, "hex:00 1d ab cd 01 00 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01", AppDNS},
	{"dns needs port", protoUDP, 50000, 5000, "hex:ab cd 01 00 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65", AppUnknown},
	{"dns bad opcode", protoUDP, 50000, 53, "hex:ab cd 19 00 00 01 00 00 00 00 00 00 07 65 78", AppUnknown},
	{"dns query with rcode", protoUDP, 50000, 53, "hex:ab cd 01 03 00 01 00 00 00 00 00 00 07 65 78", AppUnknown},
	{"dns no records", protoUDP, 50000, 53, "hex:ab cd 01 00 00 00 00 00 00 00 00 00", AppUnknown},

	// RFC 9000 17.2.2: Initial, version 1, 8-byte DCID, empty SCID.
	{"quic v1 initial", protoUDP, 50000, 443, "hex:c3 00 00 00 01 08 83 94 c8 f0 3e 51 57 08 00 00 44 9e", AppQUIC},
	{"quic draft-29", protoUDP, 443, 50000, "hex:c1 ff 00 00 1d 08 83 94 c8 f0 3e 51 57 08 00", AppQUIC},
	{"quic unknown version", protoUDP, 50000, 443, "hex:c3 12 34 56 78 08 83 94 c8 f0 3e 51 57 08 00", AppUnknown},
	{"quic cid too long", protoUDP, 50000, 443, "hex:c3 00 00 00 01 30 83 94 c8 f0 3e 51 57 08 00", AppUnknown},
}

func TestDetect(t *testing.T) {
	for _, tt := range detectTests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.payload)
			if rest, ok := strings.CutPrefix(tt.payload, "hex:"); ok {
				b = unhex(t, rest)
			}
			if got := Detect(tt.proto, tt.src, tt.dst, b); got != tt.want {
				t.Errorf("Detect(%v, %d, %d, % x) = %v, want %v", tt.proto, tt.src, tt.dst, b, got, tt.want)
			}
			// Every cut of a payload must be handled without panicking.
			for n := range len(b) {
				Detect(tt.proto, tt.src, tt.dst, b[:n])
			}
		})
	}
}

func TestAppString(t *testing.T) {
	want := map[App]string{
		AppNone: "", AppUnknown: "unknown", AppTLS: "tls", AppDNS: "dns", AppHTTP: "http",
		AppSSH: "ssh", AppSMB: "smb", AppNetBIOS: "netbios", AppRPC: "rpc", AppNTP: "ntp",
		AppKerberos: "kerberos", AppISCSI: "iscsi", AppSMTP: "smtp", AppLDAP: "ldap",
		AppFTP: "ftp", AppRDP: "rdp", AppTelnet: "telnet", AppPOP3: "pop3", AppIMAP: "imap",
		AppQUIC: "quic", 200: "app(200)",
	}
	for a, s := range want {
		if got := a.String(); got != s {
			t.Errorf("App(%d).String() = %q, want %q", a, got, s)
		}
	}
	seen := map[string]bool{}
	for a := AppUnknown; a < numApps; a++ {
		if s := a.String(); s == "" || seen[s] {
			t.Errorf("App(%d) has an empty or duplicate name %q", a, s)
		} else {
			seen[s] = true
		}
	}
}

func TestExpectedMismatch(t *testing.T) {
	tests := []struct {
		proto    ipproto.Proto
		port     uint16
		expected App
		detected App
		mismatch bool
	}{
		{protoTCP, 443, AppTLS, AppTLS, false},
		{protoTCP, 443, AppTLS, AppSSH, true}, // SSH on 443
		{protoTCP, 443, AppTLS, AppHTTP, true},
		{protoTCP, 443, AppTLS, AppUnknown, false},
		{protoTCP, 443, AppTLS, AppNone, false},
		{protoTCP, 22, AppSSH, AppSSH, false},
		{protoTCP, 22, AppSSH, AppTLS, true},
		{protoTCP, 80, AppHTTP, AppTLS, true},
		{protoTCP, 8080, AppHTTP, AppHTTP, false},
		{protoTCP, 53, AppDNS, AppDNS, false},
		{protoUDP, 53, AppDNS, AppDNS, false},
		{protoUDP, 53, AppDNS, AppNTP, true},
		{protoTCP, 445, AppSMB, AppSMB, false},
		{protoTCP, 139, AppSMB, AppNetBIOS, false}, // session request before SMB
		{protoTCP, 445, AppSMB, AppRPC, true},
		{protoUDP, 137, AppNetBIOS, AppNetBIOS, false},
		{protoUDP, 138, AppNetBIOS, AppSMB, false},
		{protoTCP, 111, AppRPC, AppRPC, false},
		{protoUDP, 2049, AppRPC, AppRPC, false},
		{protoTCP, 20048, AppRPC, AppRPC, false},
		{protoTCP, 635, AppRPC, AppRPC, false},
		{protoUDP, 123, AppNTP, AppNTP, false},
		{protoTCP, 88, AppKerberos, AppKerberos, false},
		{protoUDP, 88, AppKerberos, AppKerberos, false},
		{protoTCP, 3260, AppISCSI, AppISCSI, false},
		{protoTCP, 25, AppSMTP, AppSMTP, false},
		{protoTCP, 587, AppSMTP, AppSMTP, false},
		{protoTCP, 465, AppTLS, AppTLS, false},
		{protoTCP, 465, AppTLS, AppSMTP, true},
		{protoTCP, 636, AppTLS, AppTLS, false},
		{protoTCP, 993, AppTLS, AppTLS, false},
		{protoTCP, 995, AppTLS, AppTLS, false},
		{protoTCP, 389, AppLDAP, AppLDAP, false},
		{protoTCP, 389, AppLDAP, AppTLS, true},
		{protoTCP, 3389, AppRDP, AppRDP, false},
		{protoUDP, 443, AppQUIC, AppQUIC, false},
		{protoUDP, 443, AppQUIC, AppTLS, false}, // DTLS VPNs share it
		{protoUDP, 443, AppQUIC, AppDNS, true},
		{protoTCP, 12345, AppUnknown, AppSSH, false},
		{protoTCP, 3306, AppUnknown, AppTLS, false},
		{ipproto.ICMPv4, 443, AppUnknown, AppTLS, false},
		{protoUDP, 22, AppUnknown, AppSSH, false},
	}
	for _, tt := range tests {
		if got := Expected(tt.proto, tt.port); got != tt.expected {
			t.Errorf("Expected(%v, %d) = %v, want %v", tt.proto, tt.port, got, tt.expected)
		}
		if got := Mismatch(tt.proto, tt.port, tt.detected); got != tt.mismatch {
			t.Errorf("Mismatch(%v, %d, %v) = %v, want %v", tt.proto, tt.port, tt.detected, got, tt.mismatch)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		proto ipproto.Proto
		port  uint16
		want  string
	}{
		// IANA.
		{protoTCP, 1, "tcpmux"},
		{protoTCP, 21, "ftp"},
		{protoTCP, 111, "sunrpc"},
		{protoUDP, 111, "sunrpc"},
		{protoUDP, 67, "bootps"},
		{protoTCP, 119, "nntp"},
		{protoUDP, 161, "snmp"},
		{protoTCP, 179, "bgp"},
		{protoTCP, 143, "imap"},
		{protoUDP, 143, ""}, // IANA reserves 143/udp
		{protoTCP, 5432, "postgresql"},
		{protoTCP, 6000, "x11"}, // a range in the registry
		{protoTCP, 6063, "x11"},
		{protoTCP, 6667, "ircu"},
		{protoTCP, 3268, "msft-gc"},
		{protoTCP, 2049, "nfs"},
		{protoTCP, 65535, ""},
		{protoTCP, 0, ""},
		{ipproto.ICMPv4, 80, ""},
		// Vendor tables override IANA.
		{protoTCP, 22, "ssh"},
		{protoTCP, 53, "dns"},
		{protoUDP, 53, "dns"},
		{protoTCP, 445, "smb"},
		{protoTCP, 465, "submissions"},
		{protoTCP, 3260, "iscsi"},
		{protoTCP, 3389, "rdp"},
		{protoTCP, 20048, "mountd"},
		{protoUDP, 20048, "mountd"},
		{protoTCP, 635, "mountd"},
		{protoUDP, 635, "rlzdbase"}, // the vendor table lists 635 for TCP only
		{protoTCP, 1024, "datasync-control"},
		{protoTCP, 1064, "datasync-control"},
		{protoTCP, 1065, "syscomlan"},
		{protoUDP, 1029, "solid-mux"}, // the DataSync range is TCP only
		{protoTCP, 8020, "hdfs-namenode"},
		{protoTCP, 50010, "hdfs-datanode"},
		{protoTCP, 9600, "hadoop-kms"},
		{protoTCP, 1433, "sql-server"},
		{protoUDP, 1434, "sql-browser"},
		{protoTCP, 1521, "oracle"},
		{protoTCP, 8080, "http-proxy"},
	}
	for _, tt := range tests {
		if got := Name(tt.proto, tt.port); got != tt.want {
			t.Errorf("Name(%v, %d) = %q, want %q", tt.proto, tt.port, got, tt.want)
		}
	}
}

func TestWellKnown(t *testing.T) {
	yes := []struct {
		proto ipproto.Proto
		port  uint16
	}{
		{protoTCP, 22}, {protoTCP, 80}, {protoTCP, 443}, {protoUDP, 53}, {protoUDP, 123},
		{protoTCP, 1}, {protoUDP, 514}, {protoTCP, 1022},
		{protoTCP, 1433}, {protoUDP, 1434}, {protoTCP, 1521}, {protoTCP, 3306}, {protoTCP, 3389},
		{protoTCP, 5432}, {protoTCP, 5900}, {protoTCP, 5800}, {protoTCP, 8080}, {protoTCP, 8443},
		{protoTCP, 2049}, {protoUDP, 2049}, {protoTCP, 3260}, {protoTCP, 20048}, {protoUDP, 20048},
		{protoTCP, 50010}, {protoTCP, 8020}, {protoTCP, 9600}, {protoTCP, 1024}, {protoTCP, 1064},
		{protoTCP, 135}, {protoTCP, 444}, {protoUDP, 5353},
	}
	for _, tt := range yes {
		if !WellKnown(tt.proto, tt.port) {
			t.Errorf("WellKnown(%v, %d) = false", tt.proto, tt.port)
		}
	}
	no := []struct {
		proto ipproto.Proto
		port  uint16
	}{
		{protoTCP, 0}, {protoTCP, 1065}, {protoTCP, 50000}, {protoTCP, 65535}, {protoUDP, 1433},
		{protoTCP, 1434}, {protoUDP, 3389}, {protoTCP, 4}, {protoTCP, 1023}, {protoUDP, 143}, {ipproto.ICMPv4, 80},
		{protoUDP, 8080}, {protoTCP, 49152},
	}
	for _, tt := range no {
		if WellKnown(tt.proto, tt.port) {
			t.Errorf("WellKnown(%v, %d) = true", tt.proto, tt.port)
		}
	}
	// Every named system port is well known.
	for p := range 1024 {
		for _, proto := range []ipproto.Proto{protoTCP, protoUDP} {
			if Name(proto, uint16(p)) != "" && !WellKnown(proto, uint16(p)) {
				t.Errorf("%v/%d is named %q but not WellKnown", proto, p, Name(proto, uint16(p)))
			}
		}
	}
}

// TestIANATables checks the generated tables: sorted, no duplicates, names
// within the name blob.
func TestIANATables(t *testing.T) {
	for name, table := range map[string][]portName{"tcp": ianaTCP[:], "udp": ianaUDP[:]} {
		if len(table) < 5000 {
			t.Errorf("%s: only %d named ports; the registry names over 5000", name, len(table))
		}
		for i, e := range table {
			if i > 0 && table[i-1].port >= e.port {
				t.Fatalf("%s: entry %d (port %d) out of order", name, i, e.port)
			}
			if e.n == 0 || int(e.off)+int(e.n) > len(ianaNames) {
				t.Fatalf("%s: port %d: bad name span", name, e.port)
			}
		}
	}
}

// TestVendorPortsInOrder: Name stops at the first vendor entry past the
// port, which is right only while they are in the order of their first port.
func TestVendorPortsInOrder(t *testing.T) {
	for i := 1; i < len(vendorPorts); i++ {
		if vendorPorts[i-1].first > vendorPorts[i].first {
			t.Errorf("vendorPorts[%d] (port %d) comes after port %d", i, vendorPorts[i].first, vendorPorts[i-1].first)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	payloads := [][]byte{
		[]byte("SSH-2.0-OpenSSH_9.6\r\n"),
		[]byte("220 mx.example.com ESMTP\r\n"),
		unhex(t, "16 03 01 02 00 01 00 01 fc 03 03"),
		unhex(t, "ab cd 81 80 00 01 00 01 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01"),
		unhex(t, "00 00 00 b7 6a 81 b4 30 81 b1 a1 03 02 01 05 a2 03 02 01 0a"),
		make([]byte, 1500),
	}
	var sink App
	var known bool
	var name string
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range payloads {
			sink += Detect(protoTCP, 50000, 443, p)
			sink += Detect(protoUDP, 53, 50000, p)
		}
		known = WellKnown(protoTCP, 443) || WellKnown(protoUDP, 20048)
		name = Name(protoTCP, 3260)
		name = Name(protoUDP, 161)
		sink += Expected(protoTCP, 443)
		known = known || Mismatch(protoTCP, 443, AppSSH)
	})
	if allocs != 0 {
		t.Errorf("Detect, WellKnown, Name, Expected and Mismatch allocate %.1f times per run", allocs)
	}
	_, _, _ = sink, known, name
}

func BenchmarkDetect(b *testing.B) {
	cases := []struct {
		name     string
		proto    ipproto.Proto
		src, dst uint16
		payload  []byte
	}{
		{"tls", protoTCP, 50000, 443, unhex(b, "16 03 01 02 00 01 00 01 fc 03 03")},
		{"http", protoTCP, 50000, 80, []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")},
		{"smb2", protoTCP, 50000, 445, unhex(b, "00 00 00 b0 fe 53 4d 42 40 00")},
		{"dns", protoUDP, 50000, 53, unhex(b, "ab cd 01 00 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01")},
		{"unknown-tcp", protoTCP, 50000, 9999, make([]byte, 1460)},
		{"unknown-udp", protoUDP, 50000, 9999, make([]byte, 512)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Detect(c.proto, c.src, c.dst, c.payload)
			}
		})
	}
}

func BenchmarkWellKnown(b *testing.B) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		for p := uint16(0); p < 1024; p++ {
			if WellKnown(protoTCP, p) {
				n++
			}
		}
	}
	_ = n
}

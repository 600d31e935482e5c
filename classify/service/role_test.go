package service

import (
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// roleOf names the role each of detectTests' payloads must say; the rest
// must say none.
var roleOf = map[string]Role{
	"tls client hello": RoleRequest, "tls client hello on 22": RoleRequest, "tls server hello": RoleResponse,
	"sslv2 hello": RoleRequest, "dtls client hello": RoleRequest,
	"http get": RoleRequest, "http post on 443": RoleRequest, "http proxy get": RoleRequest, "http connect": RoleRequest,
	"http options *": RoleRequest, "http response": RoleResponse, "http2 preface": RoleRequest,
	"http2 server settings": RoleResponse, "ssdp": RoleRequest,
	"nbss session request": RoleRequest, "nbss positive response": RoleResponse,
	"nbns query":   RoleRequest,
	"rpc call tcp": RoleRequest, "rpc call udp on odd port": RoleRequest, "rpc reply accepted": RoleResponse,
	"ntp client": RoleRequest, "ntp server": RoleResponse, "ntp control": RoleRequest,
	"kerberos as-req udp": RoleRequest, "kerberos as-req tcp": RoleRequest, "kerberos krb-error": RoleResponse,
	"kerberos tgs-rep on 8080": RoleResponse,
	"ldap bind":                RoleRequest, "ldap long form (AD)": RoleResponse, "cldap search": RoleRequest,
	"iscsi login request": RoleRequest, "iscsi login response": RoleResponse,
	"rdp cookie": RoleRequest, "rdp neg req": RoleRequest, "rdp confirm": RoleResponse,
	"smtp banner": RoleResponse, "smtp banner on 2525 multiline": RoleResponse, "smtp ehlo": RoleRequest,
	"smtp helo lower": RoleRequest, "ftp banner": RoleResponse, "ftp banner by port": RoleResponse,
	"ftp user": RoleRequest, "pop3 user": RoleRequest, "pop3 banner": RoleResponse, "imap banner": RoleResponse,
	"dns query": RoleRequest, "dns response": RoleResponse, "mdns": RoleResponse, "dns tcp": RoleRequest,
}

// TestSaysOnDetectPayloads runs Says on every payload of the Detect tests,
// as the Inspector does (with what Detect found), and on every cut of them.
func TestSaysOnDetectPayloads(t *testing.T) {
	seen := map[string]bool{}
	for _, tt := range detectTests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.payload)
			if rest, ok := strings.CutPrefix(tt.payload, "hex:"); ok {
				b = unhex(t, rest)
			}
			app := Detect(tt.proto, tt.src, tt.dst, b)
			want := roleOf[tt.name]
			seen[tt.name] = true
			if got := Says(app, tt.proto, tt.src, tt.dst, b); got != want {
				t.Errorf("Says(%v, % x) = %q, want %q", app, b, got, want)
			}
			for n := range len(b) {
				Says(app, tt.proto, tt.src, tt.dst, b[:n])
			}
		})
	}
	for name := range roleOf {
		if !seen[name] {
			t.Errorf("roleOf names %q, which is no Detect test", name)
		}
	}
}

// TestSays covers what the Detect tests do not: the protocols Says reads
// where Detect names none (DHCP, DHCPv6, DCE-RPC, EtherNet/IP), SMB reply
// flags, and payloads that must say nothing.
func TestSays(t *testing.T) {
	dhcp := func(op byte) []byte {
		b := make([]byte, 300)
		b[0], b[1], b[2] = op, 1, 6
		copy(b[236:], []byte{0x63, 0x82, 0x53, 0x63})
		return b
	}
	smb2 := func(flags byte) []byte {
		b := unhex(t, "00 00 00 40 fe 53 4d 42 40 00 00 00 00 00 00 00 00 00 00 00")
		b = append(b, flags, 0, 0, 0)
		return append(b, make([]byte, 40)...)
	}
	smb1 := func(flags byte) []byte {
		b := unhex(t, "00 00 00 40 ff 53 4d 42 72 00 00 00 00")
		b = append(b, flags)
		return append(b, make([]byte, 40)...)
	}
	// DCE-RPC bind and bind_ack, little-endian, frag_length 72 and 68.
	dcerpc := func(ptype byte, fragLen byte) []byte {
		b := unhex(t, "05 00 00 03 10 00 00 00")
		b[2] = ptype
		b = append(b, fragLen, 0, 0, 0, 1, 0, 0, 0)
		return append(b, make([]byte, int(fragLen)-16)...)
	}
	// EtherNet/IP SendRRData: header (24), interface handle, timeout,
	// 2 items: null address, unconnected data with the CIP service.
	enip := func(service byte) []byte {
		b := unhex(t, "6f 00 18 00 01 02 03 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")
		b = append(b, unhex(t, "00 00 00 00 0a 00 02 00 00 00 00 00 b2 00 08 00")...)
		return append(b, service, 2, 0x20, 0x06, 0x24, 0x01, 0x0a, 0xf0)
	}
	tests := []struct {
		name     string
		app      App
		proto    ipproto.Proto
		src, dst uint16
		b        []byte
		want     Role
	}{
		{"dhcp discover", AppUnknown, protoUDP, 68, 67, dhcp(1), RoleRequest},
		{"dhcp offer", AppUnknown, protoUDP, 67, 68, dhcp(2), RoleResponse},
		{"bootp without the cookie", AppUnknown, protoUDP, 67, 68, make([]byte, 300), RoleNone},
		{"dhcp op on another port", AppUnknown, protoUDP, 5000, 6000, dhcp(2), RoleNone},
		{"dhcpv6 solicit", AppUnknown, protoUDP, 546, 547, unhex(t, "01 10 08 74 00 01 00 0e"), RoleRequest},
		{"dhcpv6 reply", AppUnknown, protoUDP, 547, 546, unhex(t, "07 10 08 74 00 01 00 0e"), RoleResponse},
		{"dhcpv6 relay-forw", AppUnknown, protoUDP, 547, 547, unhex(t, "0c 00 20 01 0d b8 00 00"), RoleNone},
		{"smb2 request", AppSMB, protoTCP, 50000, 445, smb2(0), RoleRequest},
		{"smb2 response", AppSMB, protoTCP, 445, 50000, smb2(1), RoleResponse},
		{"smb1 request", AppSMB, protoTCP, 50000, 139, smb1(0x18), RoleRequest},
		{"smb1 response", AppSMB, protoTCP, 139, 50000, smb1(0x98), RoleResponse},
		{"dce-rpc bind", AppUnknown, protoTCP, 50000, 135, dcerpc(11, 72), RoleRequest},
		{"dce-rpc bind_ack", AppUnknown, protoTCP, 135, 50000, dcerpc(12, 68), RoleResponse},
		{"dce-rpc frag_length too short", AppUnknown, protoTCP, 135, 50000, append(dcerpc(12, 68)[:8:8], 8, 0, 0, 0, 1, 0, 0, 0), RoleNone},
		{"enip request", AppUnknown, protoTCP, 2430, 44818, enip(0x0e), RoleRequest},
		{"enip reply", AppUnknown, protoTCP, 44818, 2430, enip(0x8e), RoleResponse},
		{"enip elsewhere", AppUnknown, protoTCP, 2430, 5000, enip(0x8e), RoleNone},
		{"ssh says nothing", AppSSH, protoTCP, 22, 50000, []byte("SSH-2.0-OpenSSH_9.6\r\n"), RoleNone},
		{"tls application data says nothing", AppTLS, protoTCP, 50000, 443, unhex(t, "17 03 03 00 22 d5 b5 a2 f2"), RoleNone},
		{"ntp symmetric says nothing", AppNTP, protoUDP, 123, 123, append([]byte{0x21, 2}, make([]byte, 46)...), RoleNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Says(tt.app, tt.proto, tt.src, tt.dst, tt.b); got != tt.want {
				t.Errorf("Says = %q, want %q", got, tt.want)
			}
			for n := range len(tt.b) {
				Says(tt.app, tt.proto, tt.src, tt.dst, tt.b[:n])
			}
		})
	}
}

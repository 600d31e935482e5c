package service

import (
	"encoding/binary"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// Detect recognises the protocol of the first payload one side of a flow
// sent. It returns AppNone for an empty payload or a protocol without ports,
// AppUnknown when nothing matched.
//
// Strong signatures (TLS, SSH, HTTP, SMB, ONC RPC, Kerberos, iSCSI, LDAP,
// RDP, QUIC, the NetBIOS session request, the mail and FTP greetings) are
// recognised on any port, so that SSH on 443 is reported as SSH. DNS, NTP and
// the rest of NetBIOS have weak signatures and are recognised only when
// srcPort or dstPort is their port.
//
// Detect usually decides on the first dozen bytes and never reads past the
// first 256 (the first line of a 220 greeting); it tolerates any input
// (truncated, garbage) and does not allocate.
func Detect(proto ipproto.Proto, srcPort, dstPort uint16, payload []byte) App {
	if len(payload) == 0 {
		return AppNone
	}
	p := ports{srcPort, dstPort}
	switch proto {
	case ipproto.TCP:
		return detectTCP(p, payload)
	case ipproto.UDP:
		return detectUDP(p, payload)
	}
	return AppNone
}

// ports are the two ports of a flow, used as hints for weak signatures.
type ports struct{ src, dst uint16 }

func (p ports) has(port uint16) bool { return p.src == port || p.dst == port }

func detectTCP(p ports, b []byte) App {
	switch {
	case isTLSRecord(b), isSSLv2Hello(b):
		return AppTLS
	case isSSH(b):
		return AppSSH
	case isHTTP(b):
		return AppHTTP
	case isSMBOverTCP(b):
		return AppSMB
	case isHTTP2Settings(b):
		return AppHTTP
	case isKerberosTCP(b):
		return AppKerberos
	case (p.has(53) || p.has(5353) || p.has(5355)) && isDNSTCP(b):
		// Checked before RPC: with the port hint the DNS reading is the
		// likelier one, and a few DNS responses also pass the RPC reply test.
		return AppDNS
	case isRPCTCP(b):
		return AppRPC
	case isLDAP(b):
		return AppLDAP
	case isISCSILogin(b):
		return AppISCSI
	case isRDP(b):
		return AppRDP
	case isNBSS(p, b):
		return AppNetBIOS
	case isTelnet(b):
		return AppTelnet
	}
	return textApp(p, b)
}

func detectUDP(p ports, b []byte) App {
	switch {
	case (p.has(53) || p.has(5353) || p.has(5355)) && isDNS(b):
		return AppDNS
	case p.has(137) && isNBNS(b), p.has(138) && isNBDS(b):
		return AppNetBIOS
	case p.has(123) && isNTP(b):
		return AppNTP
	case isDTLS(b):
		return AppTLS
	case isQUICLong(b):
		return AppQUIC
	case isKerberosMsg(b):
		return AppKerberos
	case isRPC(b):
		return AppRPC
	case isLDAP(b):
		return AppLDAP
	case isHTTP(b):
		return AppHTTP // SSDP and other HTTP over UDP
	}
	return AppUnknown
}

// isTLSRecord reports whether b starts with a TLS record header (RFC 8446
// §5.1, §5.2; record versions SSL 3.0 to TLS 1.2): a handshake record
// holding a ClientHello or ServerHello, which opens a connection, or an
// alert, change_cipher_spec or application_data record, which is what a
// capture that started in the middle of a connection sees first.
func isTLSRecord(b []byte) bool {
	if len(b) < 5 || b[1] != 3 || b[2] > 3 {
		return false
	}
	n := int(binary.BigEndian.Uint16(b[3:]))
	if n == 0 || n > 1<<14+2048 {
		return false
	}
	switch b[0] {
	case 22: // handshake
		return n >= 4 && (len(b) == 5 || b[5] == 1 || b[5] == 2)
	case 20: // change_cipher_spec: one byte, 1
		return n == 1 && (len(b) == 5 || b[5] == 1)
	case 21, 23: // alert, application_data
		return true
	}
	return false
}

// isSSLv2Hello reports whether b starts with an SSL 2.0 record holding a
// CLIENT-HELLO, as old clients send to offer SSL 3.0 or TLS too
// (RFC 6101 Appendix E.2, draft-hickman-netscape-ssl-00): the record length
// must add up from the cipher spec (3 bytes each), session ID (0 or 16) and
// challenge (16-32) lengths.
func isSSLv2Hello(b []byte) bool {
	if len(b) < 11 || b[0]&0x80 == 0 || b[2] != 1 {
		return false
	}
	if !(b[3] == 3 && b[4] <= 4 || b[3] == 0 && b[4] == 2) {
		return false
	}
	be := binary.BigEndian
	n := int(be.Uint16(b)) & 0x7fff
	specs, sid, challenge := int(be.Uint16(b[5:])), int(be.Uint16(b[7:])), int(be.Uint16(b[9:]))
	return specs > 0 && specs%3 == 0 && (sid == 0 || sid == 16) &&
		challenge >= 16 && challenge <= 32 && n == 9+specs+sid+challenge
}

// isDTLS reports whether b starts with a DTLS 1.0/1.2/1.3 plaintext record
// of epoch 0 (RFC 6347 §4.1, RFC 9147 §4): a handshake or an alert.
func isDTLS(b []byte) bool {
	if len(b) < 13 || b[1] != 0xfe || (b[2] != 0xff && b[2] != 0xfd) {
		return false
	}
	if b[0] != 22 && b[0] != 21 || b[3] != 0 || b[4] != 0 {
		return false
	}
	n := int(binary.BigEndian.Uint16(b[11:]))
	return n > 0 && n <= 1<<14+2048
}

// isSSH reports whether b starts with an SSH protocol version exchange
// (RFC 4253 §4.2: "SSH-protoversion-softwareversion").
func isSSH(b []byte) bool {
	return len(b) >= 5 && string(b[:4]) == "SSH-" && b[4] >= '1' && b[4] <= '2'
}

// httpStarts are the starts of an HTTP/1.x request line or status line
// (RFC 9112 §3, §4), the HTTP/2 connection preface (RFC 9113 §3.4) and the
// HTTP-over-UDP methods of SSDP.
var httpStarts = [...]string{
	"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ",
	"PATCH ", "TRACE ", "PROPFIND ", "M-SEARCH ", "NOTIFY ",
	"HTTP/1.", "PRI * HTTP/2.0",
}

// isHTTP reports whether b starts with an HTTP request or status line. The
// request target must look like HTTP's (origin form "/", asterisk form or an
// absolute http URI; anything for CONNECT), so that SIP and RTSP requests,
// which share some methods, are not taken for HTTP.
func isHTTP(b []byte) bool {
	if len(b) < 4 || b[0] < 'C' || b[0] > 'T' {
		return false
	}
	for _, s := range httpStarts {
		if len(b) < len(s) || string(b[:len(s)]) != s {
			continue
		}
		if s[len(s)-1] != ' ' || len(b) == len(s) {
			return true // a status line or preface, or cut after the method
		}
		t := b[len(s):]
		switch {
		case t[0] == '/' || t[0] == '*':
			return true
		case s == "CONNECT ":
			return t[0] > ' ' && t[0] < 0x7f
		case len(t) >= 4:
			return string(t[:4]) == "http" || string(t[:4]) == "HTTP"
		}
		return false
	}
	return false
}

// isHTTP2Settings reports whether b starts with an HTTP/2 SETTINGS frame
// on stream 0 without flags (RFC 9113 §4.1, §6.5): the server connection
// preface (§3.4), sent first by a server that clients reach with prior
// knowledge. Its payload is a whole number of 6-byte settings.
func isHTTP2Settings(b []byte) bool {
	if len(b) < 9 || b[0] != 0 || b[3] != 4 || b[4] != 0 || !allZero(b[5:9]) {
		return false
	}
	n := int(binary.BigEndian.Uint16(b[1:]))
	return n%6 == 0 && n <= 6*32
}

// isSMBOverTCP reports whether b starts with an SMB message framed for TCP:
// a NetBIOS session message header (RFC 1002 §4.3.1) or the direct TCP
// header ([MS-SMB2] §2.1), both a zero byte and a length, followed by the
// protocol identifier of SMB1 ([MS-CIFS] §2.2.3.1), SMB2/3 ([MS-SMB2]
// §2.2.1), the SMB3 transform header (§2.2.41) or the compression transform
// header (§2.2.42).
func isSMBOverTCP(b []byte) bool {
	if len(b) < 8 || b[0] != 0 || string(b[5:8]) != "SMB" {
		return false
	}
	switch b[4] {
	case 0xff, 0xfe, 0xfd, 0xfc:
		return true
	}
	return false
}

// isNBSS reports whether b is a NetBIOS session service packet (RFC 1002
// §4.3). A session request carries the first-level encoded called name
// (RFC 1001 §14.1), which is distinctive enough for any port; the short
// responses and keepalives are recognised only on port 139.
func isNBSS(p ports, b []byte) bool {
	if len(b) < 4 || b[1]&0xfe != 0 {
		return false
	}
	n := int(b[1]&1)<<16 | int(binary.BigEndian.Uint16(b[2:]))
	switch b[0] {
	case 0x81: // session request: called and calling names, 34 bytes each
		return n == 68 && len(b) >= 37 && b[4] == 0x20 && isNBName(b[5:37])
	case 0x82, 0x85: // positive session response, keepalive
		return n == 0 && p.has(139)
	case 0x83: // negative session response: one error code
		return n == 1 && p.has(139)
	case 0x00: // session message not holding SMB (isSMBOverTCP ran first)
		return n > 0 && p.has(139)
	}
	return false
}

// isNBName reports whether b is a first-level encoded NetBIOS name: every
// byte a half-octet plus 'A' (RFC 1001 §14.1).
func isNBName(b []byte) bool {
	for _, c := range b {
		if c < 'A' || c > 'P' {
			return false
		}
	}
	return true
}

// isNBNS reports whether b looks like a NetBIOS name service packet
// (RFC 1002 §4.2.1): a DNS-style header with a NetBIOS opcode (query,
// registration, release, WACK, refresh, multi-homed registration), at least
// one question or answer, and an encoded 32-byte name when one follows.
func isNBNS(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	switch (b[2] >> 3) & 0xf {
	case 0, 5, 6, 7, 8, 9:
	default:
		return false
	}
	qd := binary.BigEndian.Uint16(b[4:])
	an := binary.BigEndian.Uint16(b[6:])
	if qd+an == 0 || qd > 1 || an > 1 {
		return false
	}
	return len(b) == 12 || b[12] == 0x20
}

// isNBDS reports whether b starts with a NetBIOS datagram service header
// (RFC 1002 §4.4.1): message type 0x10-0x16 and flags whose top four bits
// are zero.
func isNBDS(b []byte) bool {
	return len(b) >= 10 && b[0] >= 0x10 && b[0] <= 0x16 && b[1]&0xf0 == 0
}

// isDNS reports whether b looks like a DNS message (RFC 1035 §4.1.1): a
// known opcode, a response code that fits the opcode, plausible section
// counts and, for a question, a first label no longer than 63 bytes. It is a
// weak test; callers require a DNS port too.
func isDNS(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	response := b[2]&0x80 != 0
	switch (b[2] >> 3) & 0xf {
	case 0, 2, 4, 5: // QUERY, STATUS, NOTIFY, UPDATE
	default:
		return false
	}
	rcode := b[3] & 0xf
	if !response && rcode != 0 || rcode > 10 {
		return false
	}
	qd := binary.BigEndian.Uint16(b[4:])
	an := binary.BigEndian.Uint16(b[6:])
	ns := binary.BigEndian.Uint16(b[8:])
	ar := binary.BigEndian.Uint16(b[10:])
	if qd > 64 || an > 4096 || ns > 4096 || ar > 4096 || qd+an+ns+ar == 0 {
		return false
	}
	if qd > 0 && len(b) > 12 && b[12] > 63 && b[12] < 0xc0 {
		return false
	}
	return true
}

// isDNSTCP reports whether b is a DNS message with the two-byte length
// prefix used over TCP (RFC 1035 §4.2.2).
func isDNSTCP(b []byte) bool {
	return len(b) >= 14 && binary.BigEndian.Uint16(b) >= 12 && isDNS(b[2:])
}

// isNTP reports whether b looks like an NTP packet (RFC 5905 §7.3): version
// 1-4, and for modes 1-5 the 48-byte header with a stratum of at most 16;
// modes 6 and 7 are the control and private messages (RFC 9327, ntpdc),
// whose headers are shorter. It is a weak test; callers require port 123.
func isNTP(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	if v := (b[0] >> 3) & 7; v < 1 || v > 4 {
		return false
	}
	switch b[0] & 7 {
	case 1, 2, 3, 4, 5:
		return len(b) >= 48 && b[1] <= 16
	case 6:
		return len(b) >= 12
	case 7:
		return true
	}
	return false
}

// isQUICLong reports whether b starts with a QUIC long header (RFC 8999 §5.1,
// RFC 9000 §17.2) of a version wirecheck knows: 1, 2 (RFC 9369), the IETF
// drafts, or version negotiation; connection IDs must fit their limits.
func isQUICLong(b []byte) bool {
	if len(b) < 7 || b[0]&0x80 == 0 {
		return false
	}
	v := binary.BigEndian.Uint32(b[1:])
	dcid := int(b[5])
	switch {
	case v == 0: // version negotiation: a list of 4-byte versions follows
		if 6+dcid >= len(b) {
			return false
		}
		scid := int(b[6+dcid])
		rest := len(b) - (7 + dcid + scid)
		return rest >= 4 && rest%4 == 0
	case v == 1, v == 0x6b3343cf, v&0xffffff00 == 0xff000000:
		if b[0]&0x40 == 0 || dcid > 20 {
			return false
		}
		return 6+dcid >= len(b) || b[6+dcid] <= 20
	}
	return false
}

// derHeader reads the identifier and length octets of a BER/DER element
// (X.690 §8.1.2, §8.1.3; single-octet tags, definite lengths of up to four
// octets) and returns the tag, the content length and the header size. The
// content itself need not be present.
func derHeader(b []byte) (tag byte, n, hdr int, ok bool) {
	if len(b) < 2 {
		return 0, 0, 0, false
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, 0, 0, false // multi-octet tag: none of ours
	}
	l := b[1]
	if l < 0x80 {
		return tag, int(l), 2, true
	}
	k := int(l & 0x7f)
	if k == 0 || k > 4 || len(b) < 2+k {
		return 0, 0, 0, false // indefinite, too long or cut short
	}
	for _, c := range b[2 : 2+k] {
		n = n<<8 | int(c)
	}
	if n < 0 || n > 1<<30 {
		return 0, 0, 0, false
	}
	return tag, n, 2 + k, true
}

// isKerberosMsg reports whether b starts with a Kerberos 5 message
// (RFC 4120 §5.4.1 KDC-REQ, §5.4.2 KDC-REP, §5.5.1 AP-REQ, §5.5.2 AP-REP,
// §5.6-5.8 KRB-SAFE/PRIV/CRED, §5.9.1 KRB-ERROR): an [APPLICATION n] tag,
// a SEQUENCE, pvno 5 and msg-type n. KDC-REQ numbers its fields from 1, the
// others from 0.
func isKerberosMsg(b []byte) bool {
	tag, _, hdr, ok := derHeader(b)
	if !ok {
		return false
	}
	var first byte // context tag of pvno
	switch tag {
	case 0x6a, 0x6c: // AS-REQ, TGS-REQ
		first = 0xa1
	case 0x6b, 0x6d, 0x6e, 0x6f, 0x74, 0x75, 0x76, 0x7e:
		first = 0xa0
	default:
		return false
	}
	seq, _, seqHdr, ok := derHeader(b[hdr:])
	if !ok || seq != 0x30 {
		return false
	}
	b = b[hdr+seqHdr:]
	// pvno [first] INTEGER 5, msg-type [first+1] INTEGER (tag number)
	want := [10]byte{first, 3, 2, 1, 5, first + 1, 3, 2, 1, tag & 0x1f}
	return len(b) >= len(want) && [10]byte(b[:10]) == want
}

// isKerberosTCP reports whether b is a Kerberos message with the four-byte
// length prefix used over TCP (RFC 4120 §7.2.2), whose top bit is reserved
// and zero. When the whole header is present the prefix must match the
// message's own length.
func isKerberosTCP(b []byte) bool {
	if len(b) < 4 || b[0]&0x80 != 0 {
		return false
	}
	m := b[4:]
	if !isKerberosMsg(m) {
		return false
	}
	_, n, hdr, _ := derHeader(m)
	return int(binary.BigEndian.Uint32(b)) == hdr+n
}

// isRPCTCP reports whether b is an ONC RPC message behind the record marking
// used over TCP (RFC 5531 §11): a four-byte fragment header, top bit set on
// the last fragment, and a fragment long enough for a call or reply.
func isRPCTCP(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	n := binary.BigEndian.Uint32(b) & 0x7fffffff
	return n >= 24 && isRPC(b[4:])
}

// isRPC reports whether b starts with an ONC RPC call or reply (RFC 5531
// §9): a call has rpcvers 2 and a credential of a known flavour and at most
// 400 bytes; an accepted reply a verifier of a known flavour and, when
// present, an accept_stat 0-5; a denied reply a reject_stat 0-1.
func isRPC(b []byte) bool {
	if len(b) < 24 {
		return false
	}
	be := binary.BigEndian
	switch be.Uint32(b[4:]) {
	case 0: // CALL
		if len(b) < 32 || be.Uint32(b[8:]) != 2 {
			return false
		}
		return rpcAuth(be.Uint32(b[24:]), be.Uint32(b[28:]))
	case 1: // REPLY
		switch be.Uint32(b[8:]) {
		case 0: // MSG_ACCEPTED: verf, accept_stat
			l := be.Uint32(b[16:])
			if !rpcAuth(be.Uint32(b[12:]), l) {
				return false
			}
			at := 20 + int(l+3)&^3
			return at+4 > len(b) || be.Uint32(b[at:]) <= 5
		case 1: // MSG_DENIED: RPC_MISMATCH or AUTH_ERROR
			return be.Uint32(b[12:]) <= 1
		}
	}
	return false
}

// rpcAuth reports whether flavor and length make a plausible opaque_auth
// (RFC 5531 §8.2): AUTH_NONE, AUTH_SYS, AUTH_SHORT, AUTH_DH, RPCSEC_GSS
// (RFC 2203) or AUTH_TLS (RFC 9289), at most 400 bytes.
func rpcAuth(flavor, length uint32) bool {
	switch flavor {
	case 0, 1, 2, 3, 6, 7:
		return length <= 400
	}
	return false
}

// ldapOps are the protocolOp tags of LDAPMessage (RFC 4511 §4.2-§4.14):
// [APPLICATION n], constructed except unbind, delete and abandon.
var ldapOps = [256]bool{
	0x60: true, 0x61: true, 0x42: true, 0x63: true, 0x64: true, 0x65: true,
	0x73: true, 0x66: true, 0x67: true, 0x68: true, 0x69: true, 0x4a: true,
	0x6b: true, 0x6c: true, 0x6d: true, 0x6e: true, 0x6f: true, 0x50: true,
	0x77: true, 0x78: true, 0x79: true,
}

// isLDAP reports whether b starts with an LDAPMessage (RFC 4511 §4.1.1): a
// SEQUENCE holding a messageID INTEGER of one to four bytes and a
// protocolOp tag. BER allows long-form lengths, which Active Directory uses.
func isLDAP(b []byte) bool {
	tag, _, hdr, ok := derHeader(b)
	if !ok || tag != 0x30 {
		return false
	}
	b = b[hdr:]
	tag, n, hdr, ok := derHeader(b)
	if !ok || tag != 0x02 || n < 1 || n > 4 || len(b) < hdr+n+1 {
		return false
	}
	return ldapOps[b[hdr+n]]
}

// isISCSILogin reports whether b starts with the 48-byte basic header
// segment of an iSCSI Login Request or Login Response (RFC 7143 §11.12,
// §11.13), the first PDU each side sends: version 0, no additional header
// segments, a valid current stage and zero reserved fields.
func isISCSILogin(b []byte) bool {
	if len(b) < 48 || b[2] != 0 || b[3] != 0 || b[4] != 0 {
		return false
	}
	flags := b[1]
	if flags&0x30 != 0 || (flags>>2)&3 == 2 || flags&0xc0 == 0xc0 {
		return false // reserved bits, reserved stage, or both Transit and Continue
	}
	switch b[0] {
	case 0x03, 0x43: // Login Request, maybe with the immediate bit
		return b[22] == 0 && b[23] == 0 && allZero(b[32:48])
	case 0x23: // Login Response
		return allZero(b[20:24]) && b[36] <= 3 && allZero(b[38:48])
	}
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// isRDP reports whether b is an X.224 Connection Request or Confirm in a
// TPKT, as RDP opens a connection ([MS-RDPBCGR] §2.2.1.1, §2.2.1.2; TPKT:
// RFC 1006 §6; X.224 class 0). What follows the 7-byte X.224 header must be
// RDP's (nothing, a routing token or cookie, or an RDP negotiation
// structure): other users of ISO transport, such as S7comm, put X.224
// parameters there.
func isRDP(b []byte) bool {
	if len(b) < 11 || b[0] != 3 || b[1] != 0 {
		return false
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n < 11 || int(b[4])+5 != n || (b[5] != 0xe0 && b[5] != 0xd0) {
		return false
	}
	if len(b) == 11 || n == 11 {
		return true
	}
	switch b[11] {
	case 0x01, 0x02, 0x03, 'C': // RDP_NEG_REQ, _RSP, _FAILURE, "Cookie: "
		return true
	}
	return false
}

// isTelnet reports whether b starts with Telnet option negotiation
// (RFC 854): IAC followed by WILL, WONT, DO, DONT or SB and an option code
// that is assigned (0-49, or 255 for the extended options list).
func isTelnet(b []byte) bool {
	return len(b) >= 3 && b[0] == 0xff && b[1] >= 0xfa && b[1] != 0xff && (b[2] <= 49 || b[2] == 255)
}

// textApp recognises the line-based protocols by the greeting a server sends
// first or the first command of a client.
func textApp(p ports, b []byte) App {
	switch {
	case hasPrefix(b, "220 ") || hasPrefix(b, "220-"):
		// Both SMTP (RFC 5321 §4.2) and FTP (RFC 959 §4.2) servers greet
		// with reply code 220.
		return greeting220(p, b)
	case hasPrefixFold(b, "EHLO ") || hasPrefixFold(b, "HELO "):
		return AppSMTP // RFC 5321 §4.1.1.1
	case hasPrefix(b, "+OK"):
		return AppPOP3 // RFC 1939 §4
	case hasPrefix(b, "CAPA\r\n") || hasPrefix(b, "STLS\r\n"):
		return AppPOP3 // RFC 2449 §5, RFC 2595 §4
	case hasPrefix(b, "* OK ") || hasPrefix(b, "* PREAUTH "):
		return AppIMAP // RFC 9051 §7.1
	case hasPrefix(b, "AUTH TLS") || hasPrefix(b, "AUTH SSL") || hasPrefix(b, "FEAT\r\n"):
		return AppFTP // RFC 4217 §4, RFC 2389 §3
	case hasPrefix(b, "USER "):
		// Both FTP (RFC 959 §4.1.1) and POP3 (RFC 1939 §7) clients log in
		// with USER.
		if p.has(110) {
			return AppPOP3
		}
		return AppFTP
	}
	return AppUnknown
}

// greeting220 tells an SMTP greeting from an FTP one by the words in its
// first line, then by port.
func greeting220(p ports, b []byte) App {
	line := b[4:min(len(b), 256)]
	for i, c := range line {
		if c == '\n' {
			line = line[:i]
			break
		}
	}
	switch {
	case containsFold(line, "SMTP"), containsFold(line, "LMTP"):
		return AppSMTP
	case containsFold(line, "FTP"):
		return AppFTP
	case p.has(25) || p.has(587) || p.has(2525):
		return AppSMTP
	case p.has(21):
		return AppFTP
	}
	return AppUnknown
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// hasPrefixFold is hasPrefix ignoring ASCII case; s must be upper-case.
func hasPrefixFold(b []byte, s string) bool {
	if len(b) < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if upper(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether s (upper-case) occurs in b, ignoring ASCII case.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if hasPrefixFold(b[i:], s) {
			return true
		}
	}
	return false
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

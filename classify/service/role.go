package service

import (
	"encoding/binary"
	"strconv"

	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// Role is what a payload says of the side that sent it: a request, which a
// client sends, or a response, which a server sends. flow.Flow stores it as
// a uint8 per side (Flow.Says).
type Role uint8

const (
	RoleNone     Role = iota // the payload says nothing of its sender's role
	RoleRequest              // a query, call, hello, request line or command
	RoleResponse             // an answer, reply, status line or greeting
)

var roleNames = [...]string{RoleNone: "", RoleRequest: "request", RoleResponse: "response"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// Says tells from the first payload one side of a flow sent, recognised by
// Detect as app, whether that side is a client or a server, for the
// protocols whose messages say so: the DNS, mDNS, LLMNR and NBNS QR bit,
// ONC RPC call or reply, the TLS and DTLS ClientHello or ServerHello, an
// HTTP request or status line, the NetBIOS session request or its answer,
// SMB1 and SMB2 reply flags, Kerberos requests and replies, the NTP mode,
// LDAP protocol operations, iSCSI login request or response, the RDP
// connection request or confirm, mail and FTP greetings and commands; and,
// where Detect names no protocol, DHCP and DHCPv6 message types, the
// DCE-RPC packet type and EtherNet/IP's CIP reply bit. Other payloads give
// RoleNone. Like Detect it tolerates any input and does not allocate.
func Says(app App, proto ipproto.Proto, srcPort, dstPort uint16, b []byte) Role {
	p := ports{srcPort, dstPort}
	tcp := proto == ipproto.TCP
	switch app {
	case AppDNS:
		if tcp {
			return qr(b, 2)
		}
		return qr(b, 0)
	case AppNetBIOS:
		switch {
		case !tcp && p.has(137):
			return qr(b, 0)
		case tcp && len(b) > 0 && b[0] == 0x81:
			return RoleRequest // session request
		case tcp && len(b) > 0 && (b[0] == 0x82 || b[0] == 0x83):
			return RoleResponse // positive or negative session response
		}
	case AppRPC:
		off := 4
		if tcp {
			off = 8
		}
		if len(b) >= off+4 {
			switch binary.BigEndian.Uint32(b[off:]) {
			case 0:
				return RoleRequest
			case 1:
				return RoleResponse
			}
		}
	case AppTLS:
		return tlsRole(b)
	case AppHTTP:
		switch {
		case hasPrefix(b, "HTTP/1."):
			return RoleResponse
		case isHTTP(b):
			return RoleRequest // a request line, or the HTTP/2 preface
		case isHTTP2Settings(b):
			return RoleResponse // the server's connection preface
		}
	case AppSMB:
		return smbRole(b)
	case AppKerberos:
		if tcp {
			b = b[min(len(b), 4):]
		}
		if len(b) > 0 {
			switch b[0] {
			case 0x6a, 0x6c, 0x6e: // AS-REQ, TGS-REQ, AP-REQ
				return RoleRequest
			case 0x6b, 0x6d, 0x6f, 0x7e: // AS-REP, TGS-REP, AP-REP, KRB-ERROR
				return RoleResponse
			}
		}
	case AppNTP:
		return ntpRole(b)
	case AppLDAP:
		return ldapRole(b)
	case AppISCSI:
		switch {
		case len(b) == 0:
		case b[0]&0x3f == 0x03:
			return RoleRequest
		case b[0] == 0x23:
			return RoleResponse
		}
	case AppRDP:
		switch {
		case len(b) < 6:
		case b[5] == 0xe0:
			return RoleRequest // X.224 connection request
		case b[5] == 0xd0:
			return RoleResponse // connection confirm
		}
	case AppSMTP, AppFTP, AppPOP3, AppIMAP:
		// The server speaks first; Detect knows its greetings and the
		// clients' first commands.
		if hasPrefix(b, "220") || hasPrefix(b, "+OK") || hasPrefix(b, "* OK ") || hasPrefix(b, "* PREAUTH ") {
			return RoleResponse
		}
		return RoleRequest
	case AppUnknown:
		switch {
		case !tcp && (p.has(67) || p.has(68)):
			return dhcpRole(b)
		case !tcp && (p.has(546) || p.has(547)):
			return dhcp6Role(b)
		case p.has(44818) || (!tcp && p.has(2222)):
			return enipRole(b)
		case tcp:
			return dcerpcRole(b)
		}
	}
	return RoleNone
}

// qr reads the QR bit of a DNS or NBNS header at off (RFC 1035 §4.1.1).
func qr(b []byte, off int) Role {
	if len(b) < off+12 {
		return RoleNone
	}
	if b[off+2]&0x80 != 0 {
		return RoleResponse
	}
	return RoleRequest
}

// tlsRole reads the handshake type of a TLS or DTLS record (RFC 8446 §4,
// RFC 9147 §5.2): ClientHello, or ServerHello and HelloVerifyRequest.
func tlsRole(b []byte) Role {
	var typ byte
	switch {
	case isSSLv2Hello(b):
		return RoleRequest
	case len(b) > 5 && b[0] == 22 && b[1] == 3:
		typ = b[5]
	case len(b) > 13 && b[0] == 22 && b[1] == 0xfe:
		typ = b[13]
	default:
		return RoleNone
	}
	switch typ {
	case 1:
		return RoleRequest
	case 2, 3:
		return RoleResponse
	}
	return RoleNone
}

// smbRole reads the reply flag of an SMB1 header (Flags 0x80, MS-CIFS
// 2.2.3.1) or an SMB2 header (SMB2_FLAGS_SERVER_TO_REDIR, MS-SMB2 2.2.1)
// behind the four-byte NetBIOS or direct-TCP header.
func smbRole(b []byte) Role {
	if len(b) < 24 || string(b[5:8]) != "SMB" {
		return RoleNone
	}
	var reply bool
	switch b[4] {
	case 0xff:
		reply = b[4+9]&0x80 != 0
	case 0xfe:
		reply = b[4+16]&1 != 0
	default:
		return RoleNone // encrypted or compressed: the header is hidden
	}
	if reply {
		return RoleResponse
	}
	return RoleRequest
}

// ntpRole reads the NTP mode (RFC 5905 §7.3): client or server, and the
// response bit of control (RFC 9327) and private (mode 7) messages.
// Symmetric and broadcast modes say nothing of roles.
func ntpRole(b []byte) Role {
	if len(b) < 2 {
		return RoleNone
	}
	switch b[0] & 7 {
	case 3:
		return RoleRequest
	case 4:
		return RoleResponse
	case 6:
		if b[1]&0x80 != 0 {
			return RoleResponse
		}
		return RoleRequest
	case 7:
		if b[0]&0x80 != 0 {
			return RoleResponse
		}
		return RoleRequest
	}
	return RoleNone
}

// ldapRequests are the protocolOp tags of requests (RFC 4511 §4.2-§4.14);
// the other tags isLDAP accepts are responses.
var ldapRequests = [256]bool{
	0x60: true, 0x42: true, 0x63: true, 0x66: true, 0x68: true, 0x4a: true,
	0x6c: true, 0x6e: true, 0x50: true, 0x77: true,
}

// ldapRole reads the protocolOp of an LDAPMessage (isLDAP's layout).
func ldapRole(b []byte) Role {
	if !isLDAP(b) {
		return RoleNone
	}
	_, _, hdr, _ := derHeader(b)
	b = b[hdr:]
	_, n, hdr, _ := derHeader(b)
	if ldapRequests[b[hdr+n]] {
		return RoleRequest
	}
	return RoleResponse
}

// dhcpRole reads the op of a BOOTP/DHCP message with the DHCP magic cookie
// (RFC 2131 §2): BOOTREQUEST or BOOTREPLY.
func dhcpRole(b []byte) Role {
	if len(b) < 240 || binary.BigEndian.Uint32(b[236:]) != 0x63825363 {
		return RoleNone
	}
	switch b[0] {
	case 1:
		return RoleRequest
	case 2:
		return RoleResponse
	}
	return RoleNone
}

// dhcp6Role reads a DHCPv6 message type (RFC 8415 §7.3): what clients send,
// and what servers answer. Relay messages say nothing of the ends.
func dhcp6Role(b []byte) Role {
	if len(b) < 4 {
		return RoleNone
	}
	switch b[0] {
	case 1, 3, 4, 5, 6, 8, 9, 11: // SOLICIT, REQUEST, CONFIRM, RENEW, REBIND, RELEASE, DECLINE, INFORMATION-REQUEST
		return RoleRequest
	case 2, 7, 10: // ADVERTISE, REPLY, RECONFIGURE
		return RoleResponse
	}
	return RoleNone
}

// dcerpcRole reads the packet type of a connection-oriented DCE-RPC PDU
// (C706 §12.6.3, MS-RPCE 2.2.2.13): version 5.0 or 5.1, a data
// representation of ASCII and IEEE floats, and a fragment length that
// covers its header and authenticator.
func dcerpcRole(b []byte) Role {
	if len(b) < 16 || b[0] != 5 || b[1] > 1 || b[4]&0xef != 0 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return RoleNone
	}
	var fragLen, authLen int
	if b[4]&0x10 != 0 {
		fragLen, authLen = int(binary.LittleEndian.Uint16(b[8:])), int(binary.LittleEndian.Uint16(b[10:]))
	} else {
		fragLen, authLen = int(binary.BigEndian.Uint16(b[8:])), int(binary.BigEndian.Uint16(b[10:]))
	}
	if fragLen < 16+authLen {
		return RoleNone
	}
	switch b[2] {
	case 0, 11, 14: // request, bind, alter_context
		return RoleRequest
	case 2, 3, 12, 13, 15: // response, fault, bind_ack, bind_nak, alter_context_resp
		return RoleResponse
	}
	return RoleNone
}

// enipRole reads the CIP service of an EtherNet/IP SendRRData or
// SendUnitData encapsulation (ODVA CIP Vol. 2 §2-3, §2-6): the data item's
// first byte (after the sequence count of a connected item) has its top bit
// set in a reply. Other commands look alike both ways.
func enipRole(b []byte) Role {
	le := binary.LittleEndian
	if len(b) < 32 {
		return RoleNone
	}
	// The command, and a length that holds at least the interface
	// handle, timeout and item count.
	if cmd := le.Uint16(b); cmd != 0x6f && cmd != 0x70 || le.Uint16(b[2:]) < 8 {
		return RoleNone
	}
	items := int(le.Uint16(b[30:]))
	off := 32
	for i := 0; i < items && i < 4; i++ {
		if len(b) < off+4 {
			return RoleNone
		}
		typ, l := le.Uint16(b[off:]), int(le.Uint16(b[off+2:]))
		off += 4
		data := off
		switch typ {
		case 0xb1: // connected data: a sequence count first
			data += 2
		case 0xb2: // unconnected data
		default:
			off += l
			continue
		}
		if len(b) <= data || l < data-off+1 {
			return RoleNone
		}
		if b[data]&0x80 != 0 {
			return RoleResponse
		}
		return RoleRequest
	}
	return RoleNone
}

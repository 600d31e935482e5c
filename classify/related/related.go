package related

import (
	"net/netip"
	"strconv"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// How is the message that announced an endpoint. The zero value is None.
type How uint8

const (
	None    How = iota
	PASV        // FTP 227 reply to PASV (RFC 959)
	EPSV        // FTP 229 reply to EPSV (RFC 2428)
	PORT        // FTP PORT command (RFC 959)
	EPRT        // FTP EPRT command (RFC 2428)
	GETPORT     // portmapper v2 GETPORT reply (RFC 1833 §3.2)
	GETADDR     // rpcbind v3/v4 GETADDR reply (RFC 1833 §2.2)
	DUMP        // portmapper or rpcbind DUMP reply, one entry
	EPM         // MS-RPC endpoint mapper ept_map response ([C706] Appendix O, [MS-RPCE] §2.2.1.2)
)

var howNames = [...]string{None: "none", PASV: "PASV", EPSV: "EPSV", PORT: "PORT", EPRT: "EPRT",
	GETPORT: "GETPORT", GETADDR: "GETADDR", DUMP: "DUMP", EPM: "EPM map"}

func (h How) String() string {
	if int(h) < len(howNames) {
		return howNames[h]
	}
	return "how(" + strconv.Itoa(int(h)) + ")"
}

// Family is the protocol family of a relation, as a profile's rule names
// it: FTP, ONC RPC (portmapper) or MS-RPC (endpoint mapper).
type Family uint8

const (
	FamilyNone Family = iota
	FamilyFTP
	FamilyRPC
	FamilyEPM
)

// Family returns the family h belongs to.
func (h How) Family() Family {
	switch h {
	case PASV, EPSV, PORT, EPRT:
		return FamilyFTP
	case GETPORT, GETADDR, DUMP:
		return FamilyRPC
	case EPM:
		return FamilyEPM
	}
	return FamilyNone
}

// Announcement is one endpoint a control flow announced: a data
// connection to Addr:Port over Proto is expected, opened by the control
// flow's other endpoint (Control.Addr(Announcer.Other())).
type Announcement struct {
	// Control is the flow that carried the announcement; Announcer is the
	// side of it that sent it.
	Control   flow.Key
	Announcer flow.Side
	How       How
	Proto     ipproto.Proto
	Port      uint16
	// Addr is the announced listener, 16 bytes as in flow.Key (IPv4
	// mapped).
	Addr [16]byte
	// Program is the ONC RPC program mapped (100005 for mountd), 0 for
	// the other families.
	Program uint32
	// Time is when the announcement was sent (Unix ns).
	Time int64
}

// Listener returns the announced address and port.
func (a *Announcement) Listener() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), a.Port)
}

// Opener returns the address expected to open the announced connection:
// the control flow's endpoint that did not announce it.
func (a *Announcement) Opener() netip.Addr { return a.Control.Addr(a.Announcer.Other()) }

// Control reports whether a payload of a flow with these ports and
// recognised protocols (service.App values of each side, 0 when unknown)
// can announce an endpoint: FTP control (port 21, or a side recognised as
// FTP), the portmapper (port 111, TCP or UDP) and the endpoint mapper
// (TCP 135). ftpApp is service.AppFTP, passed in so this package does not
// depend on service.
func Control(proto ipproto.Proto, srcPort, dstPort uint16, app [2]uint8, ftpApp uint8) bool {
	switch proto {
	case ipproto.TCP:
		return srcPort == 21 || dstPort == 21 || srcPort == 111 || dstPort == 111 || srcPort == 135 ||
			app[0] == ftpApp || app[1] == ftpApp
	case ipproto.UDP:
		return srcPort == 111 || dstPort == 111
	}
	return false
}

// Learner finds announcements in control-flow payloads.
type Learner struct {
	calls [pendingCalls]rpcCall
	next  int
}

// Learn appends to out what payload, sent by side of the flow with key k
// at time now from srcPort to dstPort, announces, and returns the
// extended slice. ftp says whether the flow is FTP control (port 21 or
// recognised as FTP).
func (l *Learner) Learn(out []Announcement, k *flow.Key, side flow.Side, now int64, ftp bool, payload []byte) []Announcement {
	if len(payload) == 0 {
		return out
	}
	src, dst := k.Port(side), k.Port(side.Other())
	base := Announcement{Control: *k, Announcer: side, Time: now}
	switch {
	case k.Proto == ipproto.TCP && ftp && src != 111 && dst != 111 && src != 135:
		return learnFTP(out, &base, k, side, payload)
	case src == 111 || dst == 111:
		return l.learnRPC(out, &base, k, side, payload)
	case k.Proto == ipproto.TCP && src == 135:
		return learnEPM(out, &base, k, side, payload)
	}
	return out
}

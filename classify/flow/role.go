package flow

import (
	"net/netip"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/service"
)

// Method records how a flow's client was told from its server.
type Method uint8

const (
	// ByHandshake: the client sent the SYN (or the server the SYN-ACK), or
	// the echo request.
	ByHandshake Method = iota
	// ByProfilePort: only one side's port appears in the profile's rules.
	ByProfilePort
	// ByWellKnownPort: only one side's port is a well-known service port.
	ByWellKnownPort
	// ByFirstPacket: the side that sent first (UDP, or equal ports).
	ByFirstPacket
	// ByLowerPort: the side with the higher port is the client.
	ByLowerPort
	// ByPayload: a side's first payload was a request (a DNS query, an
	// RPC call, a ClientHello, an HTTP request, ...) or a response
	// (service.Says), and the other side's did not say the same.
	ByPayload
	// ByAnnouncement: a control flow announced one side's address and
	// port as a listener (FTP PASV, a portmapper reply; classify/related),
	// which the matcher trusts over port hints.
	ByAnnouncement
)

var methodNames = [...]string{
	ByHandshake:     "handshake",
	ByProfilePort:   "profile-port",
	ByWellKnownPort: "well-known-port",
	ByFirstPacket:   "first-packet",
	ByLowerPort:     "lower-port",
	ByPayload:       "payload",
	ByAnnouncement:  "announced",
}

func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return "unknown"
}

// PortHints tells Client which ports are server ports when no handshake was
// seen. Either function may be nil.
type PortHints struct {
	Profile   func(ipproto.Proto, uint16) bool
	WellKnown func(ipproto.Proto, uint16) bool
}

// Client returns the side that initiated the flow and how that was decided.
func (f *Flow) Client(h PortHints) (Side, Method) {
	if f.Key.Proto == ipproto.TCP || f.Key.Proto.IsICMP() {
		a, b := f.SYNs[SideA] > 0, f.SYNs[SideB] > 0
		switch {
		case a && !b:
			return SideA, ByHandshake
		case b && !a:
			return SideB, ByHandshake
		case a && b:
			return f.FirstSide, ByHandshake // simultaneous open
		}
		if f.Key.Proto == ipproto.TCP {
			// A SYN-ACK without its SYN in the capture still names the server.
			const syn = 0x02
			switch {
			case f.Flags[SideA]&syn != 0 && f.Flags[SideB]&syn == 0:
				return SideB, ByHandshake
			case f.Flags[SideB]&syn != 0 && f.Flags[SideA]&syn == 0:
				return SideA, ByHandshake
			}
		} else {
			// Only echo replies: the side that replied is the server.
			if f.Packets[SideA] == 0 {
				return SideA, ByHandshake
			}
			return SideB, ByHandshake
		}
	}
	if f.Packets[SideA]+f.Packets[SideB] == 0 {
		// Known only from an ICMP error quoting the client's packet.
		return f.FirstSide, ByFirstPacket
	}
	// What the payloads say outranks every port guess: an NFS client on
	// a reserved port, or a DNS response from 53 to 53, keeps its role.
	if c, ok := f.clientBySays(); ok {
		return c, ByPayload
	}
	pa, pb, proto := f.Key.APort, f.Key.BPort, f.Key.Proto
	for _, hint := range []struct {
		is func(ipproto.Proto, uint16) bool
		m  Method
	}{{h.Profile, ByProfilePort}, {h.WellKnown, ByWellKnownPort}} {
		if hint.is == nil {
			continue
		}
		sa, sb := hint.is(proto, pa), hint.is(proto, pb)
		switch {
		case sa && !sb:
			return SideB, hint.m
		case sb && !sa:
			return SideA, hint.m
		}
	}
	if proto != ipproto.TCP || pa == pb {
		return f.FirstSide, ByFirstPacket
	}
	if pa < pb {
		return SideB, ByLowerPort
	}
	return SideA, ByLowerPort
}

const (
	saysRequest  = uint8(service.RoleRequest)
	saysResponse = uint8(service.RoleResponse)
)

// clientBySays returns the client the payloads name: the side whose first
// payload was a request, or the other side of one whose first payload was
// a response, when the two sides do not contradict each other (both
// requests, as two DNS servers querying each other from port 53, say
// nothing). A multicast or broadcast address is never made the client: an
// mDNS announcement or a DHCP offer to everyone is a response sent to no
// one in particular.
func (f *Flow) clientBySays() (Side, bool) {
	a, b := f.Says[SideA], f.Says[SideB]
	var c Side
	switch {
	case a == saysRequest && b != saysRequest, b == saysResponse && a != saysResponse:
		c = SideA
	case b == saysRequest && a != saysRequest, a == saysResponse && b != saysResponse:
		c = SideB
	default:
		return 0, false
	}
	if addr := f.Key.Addr(c); addr.IsMulticast() || addr == broadcast4 {
		return 0, false
	}
	return c, true
}

var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

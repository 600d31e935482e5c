package flow

import (
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// State is how a flow went, seen from its counters at the end of the
// observation.
type State uint8

// The states. Numbers are not stored anywhere: new ones go where they read
// best. SCHEMA.md (classify/report) has the table that derives them.
const (
	StateUnknown     State = iota
	StateEstablished       // TCP: a handshake completed, or data both ways mid-stream
	StateClosed            // TCP: ended with FIN
	StateReset             // TCP: ended by RST after the connection was up
	StateRefused           // TCP: SYN answered by RST
	StateUnanswered        // TCP: SYNs and nothing back
	StateUnreachable       // an ICMP destination unreachable quoted the flow and nothing else came back
	StateAnswered          // UDP or ICMP echo: both sides sent
	StateOneWay            // only one side sent, and no handshake or error says more
	StateHalfOpen          // TCP: SYN answered by SYN-ACK, but the client never acknowledged it
)

var stateNames = [...]string{
	StateUnknown:     "unknown",
	StateEstablished: "established",
	StateClosed:      "closed",
	StateReset:       "reset",
	StateRefused:     "refused",
	StateUnanswered:  "unanswered",
	StateUnreachable: "unreachable",
	StateAnswered:    "answered",
	StateOneWay:      "one-way",
	StateHalfOpen:    "half-open",
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Failed reports whether the state is a failed attempt: the flow tried to
// reach its server and got nothing, a refusal, an ICMP error, or a
// handshake that never completed. A failed flow never makes a required
// rule seen.
func (s State) Failed() bool {
	return s == StateRefused || s == StateUnanswered || s == StateUnreachable || s == StateHalfOpen
}

// acks reports whether side s sent a TCP segment that acknowledges its
// peer's sequence space. A client's SYN carries no ACK, so an ACK from the
// client is one, with one exception: an RST may carry an ACK without the
// connection having been answered (a stack aborting its attempt), so when
// the client's ACKs may all have been on one RST (no data, no FIN, one
// packet besides its SYNs) they do not count. A server's ACK is in its
// SYN-ACK, so for the server only data or a FIN count: it sends either
// only once the handshake is complete.
func (f *Flow) acks(s Side, server bool) bool {
	fl := f.Flags[s]
	if server {
		return f.Payload[s] > 0 || fl&packet.FIN != 0
	}
	return fl&packet.ACK != 0 && (fl&packet.RST == 0 || fl&packet.FIN != 0 || f.Payload[s] > 0 ||
		f.Packets[s] > uint64(f.SYNs[s])+1)
}

// State derives how the flow went, given which side is the client. It uses
// only unions and counts, never packet order, so it gives the same answer
// for counters kept in the kernel. The table it implements is in
// classify/report/SCHEMA.md.
func (f *Flow) State(client Side) State {
	server := client.Other()
	if f.Key.Proto != ipproto.TCP {
		switch {
		case f.Packets[client] > 0 && f.Packets[server] > 0:
			return StateAnswered
		case f.Packets[server] == 0 && f.Unreachable > 0:
			return StateUnreachable
		}
		// One side only: a reply nobody was seen asking for is no
		// more an answer than a request nobody answered.
		return StateOneWay
	}
	fc, fs := f.Flags[client], f.Flags[server]
	opened := f.SYNs[client] > 0
	synAck := fs&packet.SYN != 0
	switch {
	case f.Packets[server] == 0:
		switch {
		case opened && f.acks(client, false):
			// Only the client's direction is in the capture, but after
			// its SYN it acknowledged the server: the server answered.
			return f.ended(fc)
		case f.Unreachable > 0:
			return StateUnreachable
		case opened:
			return StateUnanswered
		}
		return StateOneWay // a lone mid-stream segment proves nothing either way
	case f.Packets[client] == 0:
		// Only the server's direction: its SYN-ACK proves the client's
		// SYN; data or a FIN after it prove the client's ACK.
		switch {
		case synAck && f.acks(server, true):
			return f.ended(fs)
		case synAck:
			return StateHalfOpen
		}
		return StateOneWay
	case opened && !synAck && fs&packet.RST != 0:
		return StateRefused
	case synAck && !f.acks(client, false) && !f.acks(server, true):
		// The server answered the SYN, the client never acknowledged
		// the answer and the server never went on: the handshake did
		// not complete (Suricata's syn_recv, Argus's ACC).
		return StateHalfOpen
	}
	return f.ended(fc | fs)
}

// ended is the state of a TCP flow that was up, from the flags seen:
// flags is the union of the sides whose packets were captured.
func (f *Flow) ended(flags uint8) State {
	switch {
	case flags&packet.RST != 0 && !(f.Flags[0]&packet.FIN != 0 && f.Flags[1]&packet.FIN != 0):
		// An RST after both FINs only tidies up a close; any other RST
		// ended the connection.
		return StateReset
	case flags&packet.FIN != 0:
		return StateClosed
	}
	return StateEstablished
}

// OneSided reports whether only one side's packets of f were captured,
// yet they prove the other side took part: a TCP client that acknowledged
// its server after its SYN, or a server whose SYN-ACK answered a SYN. The
// flow's state was then judged from one direction (a one-sided SPAN port,
// tcpdump -Q out).
func (f *Flow) OneSided(client Side) bool {
	if f.Key.Proto != ipproto.TCP || (f.Packets[0] == 0) == (f.Packets[1] == 0) {
		return false
	}
	switch f.State(client) {
	case StateEstablished, StateClosed, StateReset, StateHalfOpen:
		return true
	}
	return false
}

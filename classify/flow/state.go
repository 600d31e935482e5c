package flow

import (
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// State is how a flow went, seen from its counters at the end of the
// observation.
type State uint8

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
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Failed reports whether the state is a failed attempt: the flow tried to
// reach its server and got nothing, a refusal or an ICMP error.
func (s State) Failed() bool {
	return s == StateRefused || s == StateUnanswered || s == StateUnreachable
}

// State derives how the flow went, given which side is the client. It uses
// only unions and counts, never packet order, so it gives the same answer
// for counters kept in the kernel.
func (f *Flow) State(client Side) State {
	server := client.Other()
	if f.Packets[server] == 0 {
		switch {
		case f.Unreachable > 0:
			return StateUnreachable
		case f.Key.Proto == ipproto.TCP && f.SYNs[client] > 0:
			return StateUnanswered
		}
		return StateOneWay
	}
	if f.Key.Proto != ipproto.TCP {
		return StateAnswered
	}
	flags := f.Flags[0] | f.Flags[1]
	switch {
	case f.SYNs[client] > 0 && f.Flags[server]&packet.SYN == 0 && f.Flags[server]&packet.RST != 0:
		return StateRefused
	case flags&packet.RST != 0 && !(f.Flags[0]&packet.FIN != 0 && f.Flags[1]&packet.FIN != 0):
		// An RST after both FINs only tidies up a close; any other RST
		// ended the connection.
		return StateReset
	case flags&packet.FIN != 0:
		return StateClosed
	}
	return StateEstablished
}

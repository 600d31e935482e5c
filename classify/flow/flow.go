package flow

import (
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// Flow is the record of one bidirectional flow. Arrays indexed by Side hold
// what that side sent.
//
// The fields are ordered so that no padding falls between them: 152 bytes
// rather than 160 in declaration order, which is 8 MB less for a million
// flows, and memory first touched is what reading a file pays for most on
// the VMs measured (internal/pages). TestFlowSize holds the size.
//
// What every packet reads or writes comes first, from Key to Says (116
// bytes: App is read for every payload, to know whether the flow's first
// payload was seen), so that a packet touches 2.75 cache lines of its flow
// on average rather than 3.1 when App sat after the ICMP fields.
type Flow struct {
	Key Key
	// Flags is the union of the TCP flags each side sent.
	Flags [2]uint8

	Packets [2]uint64
	// Bytes counts whole frames as captured on the wire (the frame's original
	// length), as tshark's conversation tables do.
	Bytes [2]uint64
	// Payload counts transport payload bytes as the IP headers declare them.
	Payload [2]uint64

	// First and Last are the times of the first and last packet, in Unix
	// nanoseconds; FirstSide sent the first packet.
	First, Last int64

	// SYNs counts the connection openings each side sent: TCP segments with
	// SYN and without ACK, or ICMP echo requests.
	SYNs [2]uint32

	// App is the application protocol recognised in the first payload each
	// side sent (a service.App value; 0 when none was seen or recognised).
	App [2]uint8
	// Says is what the first payload each side sent says of its sender,
	// a service.Role: a request (a client's) or a response (a server's),
	// 0 when it says neither. Client weighs it after the handshake.
	Says [2]uint8

	// Fragments counts non-first IP fragments tied to this flow; they are
	// included in Packets and Bytes.
	Fragments uint32

	// Unreachable counts ICMP destination-unreachable errors quoting a packet
	// of this flow; UnreachableType and UnreachableCode are those of the
	// last one, UnreachableFrom is the address that sent it (16 bytes).
	Unreachable     uint32
	UnreachableFrom [16]byte
	UnreachableType uint8
	UnreachableCode uint8

	// TLSVersion and TLSCipher are the version and cipher suite a TLS server
	// chose in its ServerHello, when one was seen.
	TLSVersion, TLSCipher uint16

	FirstSide Side
	// TLSOffer is what the client's ClientHello offered, when one was seen
	// (TLSHelloSeen, TLSOffersForwardSecrecy): a client "must support"
	// forward-secret suites whatever the server chose, so the offer is
	// judged apart from the ServerHello. It sits in what was padding.
	TLSOffer uint8

	// SNI is the server name the client asked for in a TLS ClientHello,
	// as a handle: 1 + its index in the names list of the classifier that
	// saw it (classify.Observation.ServerNames); 0 when none was seen. A
	// handle rather than a map from Key to name: filling that map was a
	// tenth of reading a file with many TLS flows (its growth faulted in
	// fresh memory), and it fits in what was the struct's tail padding.
	SNI uint32
}

// TLSOffer bits.
const (
	TLSHelloSeen            uint8 = 1 << iota // a ClientHello was parsed
	TLSOffersForwardSecrecy                   // it offered a forward-secret cipher suite
)

// ServerName returns the name that the SNI handle h (Flow.SNI) refers to in
// names, the list it was made for; "" for none.
func ServerName(names []string, h uint32) string {
	if h == 0 || int(h) > len(names) {
		return ""
	}
	return names[h-1]
}

// Touch reads a word in each cache line f spans (fields at most 64 bytes
// apart, from the first to the last) and returns their sum. A loop that
// only touches the flows it is about to use in random order keeps dozens of
// their loads in flight, where using them one by one waits for each in turn.
func (f *Flow) Touch() uint64 {
	return uint64(f.Key.A[0]) + f.Bytes[0] + uint64(f.Last) + uint64(f.SNI)
}

// Total returns the packets and bytes of both sides together.
func (f *Flow) Total() (packets, bytes uint64) {
	return f.Packets[0] + f.Packets[1], f.Bytes[0] + f.Bytes[1]
}

// Count adds one packet sent by side s at time ts (Unix ns) to f.
func (f *Flow) Count(s Side, ts int64, wireLen int, p *packet.Parsed) {
	f.count(s, ts, wireLen, p.PayloadLen, p.TCPFlags, p.ICMPType)
}

func (f *Flow) count(s Side, ts int64, wireLen, payloadLen int, tcpFlags, icmpType uint8) {
	if f.Packets[0]+f.Packets[1] == 0 {
		f.First, f.FirstSide = ts, s
		if f.Unreachable == 0 {
			f.Last = ts // not 0: a damaged file's times may lie before 1970
		}
	}
	if ts > f.Last {
		f.Last = ts
	}
	if ts < f.First {
		f.First = ts // a clock that went backwards still bounds the flow
	}
	f.Packets[s]++
	f.Bytes[s] += uint64(wireLen)
	if payloadLen > 0 {
		f.Payload[s] += uint64(payloadLen)
	}
	switch f.Key.Proto {
	case ipproto.TCP:
		f.Flags[s] |= tcpFlags
		if tcpFlags&(packet.SYN|packet.ACK) == packet.SYN {
			f.SYNs[s]++
		}
	case ipproto.ICMPv4, ipproto.ICMPv6:
		if packet.IsEchoRequest(f.Key.Proto, icmpType) {
			f.SYNs[s]++
		}
	}
}

// Packet is what a packet of KindTransport adds to its flow, with the flow's
// Key and its Hash in a Table: about a third of a packet.Parsed, so that a
// goroutine that decodes packets can hand them to the table's owner cheaply
// (classify.Read).
type Packet struct {
	Time       int64  // Unix ns
	Hash       uint64 // Table.Hash(&Key)
	WireLen    uint32 // at most capture.MaxWireLength
	PayloadLen uint32
	Key        Key
	Side       Side // the side that sent the packet
	TCPFlags   uint8
	ICMPType   uint8
}

// Set makes u the Packet of p, a packet of KindTransport captured at ts with
// wireLen bytes on the wire, and its Hash the one t files it under.
func (u *Packet) Set(t *Table, p *packet.Parsed, ts int64, wireLen int) {
	u.Time, u.WireLen, u.PayloadLen = ts, uint32(wireLen), uint32(max(p.PayloadLen, 0))
	u.TCPFlags, u.ICMPType = p.TCPFlags, p.ICMPType
	u.Side = u.Key.set(&p.Tuple)
	u.Hash = t.index.hash(&u.Key)
}

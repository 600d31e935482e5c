package bpf

import (
	"errors"
	"net/netip"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// Defaults for the zero fields of Options.
const (
	DefaultMaxFlows         = 1 << 16
	DefaultRingBytes        = 1 << 18
	DefaultPayloadRingBytes = 1 << 20
)

// PayloadMax is the most bytes of one payload the kernel copies out.
const PayloadMax = 512

// Options configures Load. The zero value is usable: default sizes and no
// server ports (so every new flow is announced on NewFlows).
type Options struct {
	// MaxFlows sizes the per-CPU flow map; 0 means DefaultMaxFlows. The
	// map holds MaxFlows × (CPUs × 112 + about 100) bytes of kernel memory.
	// When it is full the kernel evicts the least recently used flows,
	// which Stats reports as Evicted.
	MaxFlows int
	// RingBytes sizes the ring buffer of new-flow records: a power of two
	// and a multiple of the page size; 0 means DefaultRingBytes.
	RingBytes int
	// ServerPorts are the profile's server ports. A new flow with a server
	// port on either side is expected and is not announced on NewFlows.
	ServerPorts []PortKey
	// Payloads makes the kernel copy payloads out on Payloads: every one
	// sent from a DNS port and the first one each side of a TCP or UDP flow
	// sends. Off, the program skips that work entirely.
	Payloads bool
	// PayloadRingBytes sizes the ring buffer of payload copies (about 600
	// bytes each), as RingBytes; 0 means DefaultPayloadRingBytes.
	PayloadRingBytes int
}

// PortKey is one server port of a profile: TCP or UDP with its port, or
// ICMP/ICMPv6 with port 0, which covers every echo flow of that protocol.
type PortKey struct {
	Proto ipproto.Proto
	Port  uint16
}

// NewFlow is a flow that no server port covers, reported by the kernel as
// soon as its first packet (or an ICMP unreachable quoting it) was seen.
type NewFlow struct {
	Key flow.Key
	// First is the side that sent the first packet (for a flow known only
	// from an ICMP error, the side that sent the quoted packet).
	First flow.Side
	// Time is when the flow was created, in Unix nanoseconds.
	Time int64
	// Flags are the TCP flags of the packet that created the flow, and
	// Opening says whether that packet opened it (a SYN without ACK, or an
	// ICMP echo request), as flow.Flow counts it in SYNs: they tell client
	// from server at once, as the flow's counts would.
	Flags   uint8
	Opening bool
	// Quoted: no packet of the flow was seen, only an ICMP unreachable
	// quoting First's packet.
	Quoted bool
}

// Flow returns the flow as it was when the kernel created it: one packet
// from First, or only the ICMP unreachable that quoted First's packet (its
// sender, type and code are not in the record). Bytes and payload are not
// known.
func (nf *NewFlow) Flow() flow.Flow {
	f := flow.Flow{Key: nf.Key, FirstSide: nf.First, First: nf.Time, Last: nf.Time}
	if nf.Quoted {
		f.Unreachable = 1
		return f
	}
	f.Packets[nf.First] = 1
	f.Flags[nf.First] = nf.Flags
	if nf.Opening {
		f.SYNs[nf.First] = 1
	}
	return f
}

// Payload is the start of a TCP or UDP payload the kernel copied out, so
// that user space can learn names (DNS answers, TLS server names) and
// recognise applications without reading every packet.
type Payload struct {
	Key flow.Key
	// Side sent the payload.
	Side flow.Side
	// Time is when the packet was seen, in Unix nanoseconds.
	Time int64
	// Data is the payload's first bytes, at most PayloadMax; Len is the
	// payload length the headers declare.
	Data []byte
	Len  int
	// First: the first payload this side of the flow sent. The kernel
	// knows this per CPU, so a flow whose packets crossed CPUs may report
	// a side's first payload more than once; keep the earliest.
	First bool
	// DNS: sent from a DNS, mDNS or LLMNR port (53, 5353, 5355); every
	// such payload is copied.
	DNS bool
	// Control: a payload of a control flow that may announce a related
	// flow (FTP control on TCP 21, the portmapper on TCP/UDP 111, the
	// endpoint mapper's responses from TCP 135); every such payload is
	// copied.
	Control bool
}

// Stats are the counter's totals since Load. Every frame the program saw is
// in Packets, and each one is either counted to a flow or accounted for by
// another field, so that a caller can tell a complete observation from an
// incomplete one.
type Stats struct {
	// Packets and Bytes count every frame the program saw.
	Packets, Bytes uint64

	// Created counts flows inserted into the map; Live is the number in the
	// map now and Swept the number Sweep removed. Evicted is derived as
	// Created - Live - Swept: flows the kernel evicted to make room, whose
	// counts are lost.
	Created, Live, Swept, Evicted uint64
	// Lost counts packets and ICMP errors that were counted to no flow
	// because the flow map refused an insert.
	Lost uint64
	// RingDrops counts new-flow records the ring buffer had no room for:
	// the flows are counted, but NewFlows did not hear of them.
	RingDrops uint64
	// PayloadDrops counts payload copies their ring buffer had no room for.
	PayloadDrops uint64
	// UntiedFragments counts later IP fragments whose first fragment was not
	// seen or is forgotten (classify.Observation.OrphanFragments).
	UntiedFragments uint64
	// Truncated and Malformed count frames whose headers could not be
	// decoded (classify.Malformed).
	Truncated, Malformed uint64
	// OtherPackets and OtherBytes count frames that formed no flow: ARP,
	// other IP protocols, ICMP errors, untied fragments.
	OtherPackets, OtherBytes uint64
	// TunnelPackets and TunnelBytes count those of OtherPackets that are
	// GRE, ERSPAN or IP-in-IP tunnel packets (packet.Encapsulated), which
	// the kernel does not decapsulate; Counter.Tunnels has them per tunnel.
	TunnelPackets, TunnelBytes uint64
}

// Tunnel is one direction of a GRE, ERSPAN or IP-in-IP tunnel the kernel
// counted (Counter.Tunnels): its outer addresses, kind and packets.
type Tunnel struct {
	Src, Dst       netip.Addr
	Kind           packet.Tunnel
	Packets, Bytes uint64
}

// Losses returns the number of things the counter knows it missed: evicted
// flows, lost packets and dropped ring-buffer records.
func (s Stats) Losses() uint64 { return s.Evicted + s.Lost + s.RingDrops + s.PayloadDrops }

// Errors, checked with errors.Is. They say what is wrong, not what to do
// on wirecheck's command line (choosing the other engine): that is the
// command's to add.
var (
	// ErrNoInterface: Attach was given an interface that does not exist.
	ErrNoInterface = errors.New("no such interface")
	// ErrPermission: the process may not load eBPF programs or attach them.
	ErrPermission = errors.New("run as root or grant CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON")
	// ErrKernelTooOld: the kernel lacks a feature the counter needs; the
	// error names it.
	ErrKernelTooOld = errors.New("kernel too old for the eBPF engine")
	// ErrUnsupported: this platform has no eBPF counter (it needs Linux on
	// amd64 or arm64).
	ErrUnsupported = errors.New("the eBPF engine needs Linux on amd64 or arm64")
	// ErrClosed: the Counter was closed.
	ErrClosed = errors.New("counter closed")
)

// Package bpf is wirecheck's eBPF capture engine: a TC program, attached to
// an interface's ingress and egress, that counts every frame to its flow in
// the kernel, and the loader that reads those counts as classify/flow
// values. On a loopback interface, where each frame sent is also received
// and both hooks see it, the program is attached to the ingress alone, so
// that every frame is counted once, as libpcap shows it.
//
// # Contract
//
// The kernel program (C source in c/) is a transcription of
// classify/packet.Decode and classify/flow.Table for Ethernet frames: the
// same header walk (802.1Q/QinQ, MPLS, PPPoE, IPv4 with options and
// fragments, IPv6 with up to eight extension headers, TCP, UDP, ICMP echo
// and ICMP errors), the same flow keys (flow.KeyOf: A is the lower address,
// then port; ICMP echo uses the identifier as both ports), the same per-side
// counts, flags, SYNs, payload, fragments and ICMP unreachables, and the same
// verdict on truncated and malformed frames. For any frames, the []flow.Flow
// that Flows returns equals what flow.Table builds from the same frames,
// except First and Last; TestKernelMatchesUserSpace and its fuzz test hold
// the two to that. The program never drops, alters or redirects a packet: it
// always returns TC_ACT_UNSPEC (TCX_NEXT).
//
// Where the engines differ by necessity:
//   - Bytes counts skb->len, the frame as the stack holds it, plus 4 when the
//     driver moved the outer VLAN tag into metadata. On veth that equals the
//     length tcpdump records. A GSO/GRO super-packet is one packet, as it is
//     to tcpdump on the same host.
//   - Later IP fragments are tied to their flow through a shared LRU map of
//     16,384 datagrams; a fragment whose flow was evicted or swept is untied.
//   - Times are bpf_ktime_get_ns (CLOCK_MONOTONIC), converted to Unix
//     nanoseconds with an offset measured once at Load: a later step of the
//     wall clock is not followed.
//
// # Maps
//
//   - flows: BPF_MAP_TYPE_LRU_PERCPU_HASH, key struct flow_key (40 bytes:
//     a[16], b[16], a_port, b_port, proto, pad), value struct flow_stats
//     (112 bytes per CPU: packets, bytes and payload per side, first/last
//     time, SYNs per side, fragments, unreachable count/time/type/code/
//     sender, TCP flags per side, first side). Per-CPU values need no atomics
//     and do not slow down when CPUs share flows (shared/PERF-FACTS.md);
//     Flows and Sweep sum the CPUs: counts add, flags OR, First is the
//     earliest first packet, FirstSide that packet's side, Last the latest,
//     the unreachable fields those of the latest error. Size: MaxFlows ×
//     (CPUs × 112 + about 100) bytes.
//   - frags: BPF_MAP_TYPE_LRU_HASH from (src, dst, IP ID, protocol) to the
//     flow and side of a datagram's first fragment.
//   - server_ports: BPF_MAP_TYPE_HASH of Options.ServerPorts (struct
//     port_key: proto, port; ICMP with port 0).
//   - new_flows: BPF_MAP_TYPE_RINGBUF of struct new_flow {key, time, first
//     side, the creating packet's TCP flags, whether it opened the flow
//     (SYN without ACK, echo request), whether only an ICMP unreachable
//     quoted it}, written only when a flow is created and neither of its
//     ports (for ICMP: the protocol) is a server port. NewFlows delivers
//     them; NewFlow.Flow tells client from server as the map would after
//     that packet, so an alert needs no map read.
//   - payloads: BPF_MAP_TYPE_RINGBUF of struct payload {key, time, sender,
//     reasons, declared length, up to 512 bytes}, only with Options.Payloads:
//     every TCP or UDP payload from a DNS port (53, 5353, 5355), every
//     payload of a control flow that may announce a related flow (TCP 21
//     either way, TCP/UDP 111 either way, from TCP 135), and the first
//     payload each side of a TCP or UDP flow sends (TLS ClientHello for
//     the server name, application detection). A ring of its own, so
//     payload bursts cannot crowd out new-flow records. Payloads delivers
//     them. With the option off, a read-only variable (send_payloads) lets
//     the verifier drop that code.
//   - tunnels: BPF_MAP_TYPE_PERCPU_HASH of 1,024 struct tunnel_key {outer
//     src, dst, kind} to struct tunnel_stats {packets, bytes}: the GRE,
//     ERSPAN (types I to III) and IP-in-IP packets that classify would
//     decapsulate (packet.Encapsulated; c/tunnel.h transcribes its GRE and
//     ERSPAN header checks). The kernel does not decapsulate them; they stay
//     in OtherPackets, are also summed in Stats.TunnelPackets, and Tunnels
//     returns them per tunnel so that user space can tell a mirror target's
//     tunnels (not judged: a loss) from a host's own (other traffic). Not an
//     LRU: a new tunnel that finds it full is in TunnelPackets alone.
//     VXLAN and GENEVE ride on UDP and are counted as their outer flow.
//   - stats: BPF_MAP_TYPE_PERCPU_ARRAY of struct counters, summed by Stats.
//
// # Nothing lost silently
//
// Every frame the program sees is counted in Stats.Packets and ends up in
// exactly one place: in a flow's packets, in OtherPackets (ARP, other IP
// protocols, ICMP errors, untied fragments), in Truncated or Malformed, or in
// Lost (the map refused an insert). So, while no flow was evicted or swept,
//
//	Packets = Σ flow packets + OtherPackets + Truncated + Malformed + Lost.
//
// Flows leave the map in two ways: the LRU evicts them when the map is full
// (their counts are lost), or Sweep removes them (and returns them). The
// kernel does not report evictions, so they are derived: the program counts
// every flow it creates (an insert with BPF_NOEXIST that succeeded) in
// Created, the loader counts the flows Sweep removed, and
//
//	Evicted = Created - Live - Swept
//
// where Live is the number of flows in the map, counted by Stats. The map
// may churn while Stats counts it, so Stats reads Created first, then the
// clock, and subtracts only the live flows whose first packet came before
// that moment: a flow created during the count is never taken for an
// evicted one. The count is exact when no flow is created meanwhile. One
// race remains: when two CPUs create the same flow at once, the
// loser's insert may make the LRU evict flows without creating one, so
// Evicted can then undercount. Ring-buffer records that found the buffer full are counted
// in RingDrops (the flow itself is still counted) and PayloadDrops. The
// channels NewFlows and Payloads hold 1,024 records each; while one is full,
// records wait in the ring buffer, so a slow reader ends up in these
// counters rather than in silence. Stats.Losses sums what was
// lost.
//
// # Attaching
//
// Attach uses TCX links (Linux 6.6+), which are file descriptors of this
// process and are never pinned: however the process ends, SIGKILL included,
// the kernel detaches the program. On older kernels Attach falls back to a
// clsact qdisc with direct-action BPF filters named "wirecheck-PID-START"
// (START: the process's start time in clock ticks since boot). Those survive
// a killed process (they keep counting into maps nobody reads); the next
// Attach to the interface removes every such filter whose process is gone,
// or whose PID now belongs to a process that started at another time, and
// Close removes this process's own. A filter left by a wirecheck in another
// PID namespace cannot be judged from here and is kept. The clsact qdisc is
// left in place: other tools may use it, and an empty one costs nothing.
//
// # Requirements and errors
//
// Linux 5.12 or later on amd64 or arm64 (global BPF functions with pointer
// arguments; ring buffer 5.8; bounded loops 5.3), and root or
// CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON. Errors say what is missing in one line:
// ErrPermission ("run as root or grant CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON"),
// ErrKernelTooOld naming the feature, ErrNoInterface ("interface eth9: no
// such interface"). On other platforms Load returns ErrUnsupported. They
// are sentinels, checked with errors.Is, so that the command line adds
// its own advice (the libpcap engine) to them.
//
// # Concurrency and allocation
//
// A Counter is made by Load; its zero value is not usable. Its methods are
// safe for concurrent use. Flows, Sweep and Stats read the map in batches of
// 1,024 flows with buffers the Counter reuses; they allocate only the
// returned slices. Close detaches everything and may be called more than
// once.
//
// # Regenerating the kernel object
//
// The compiled program and its Go types live in internal/counter and are
// committed, so building needs no clang. After changing c/, with clang-19,
// llvm-19 (llvm-strip-19), libbpf-dev and linux-libc-dev installed, run from
// the module root:
//
//	go generate ./bpf/...
//
// bpf2go is pinned as a module tool (go.mod), the flags are fixed in
// internal/counter/gen.go and bpf2go maps source paths to relative ones, so
// the output is byte-identical wherever the tree is checked out; check with
// sha256sum bpf/internal/counter/prog_bpfel.* before and after.
// TestGeneratedIsUpToDate in internal/counter regenerates into a temporary
// directory and fails on any difference, whenever clang-19 is installed.
package bpf

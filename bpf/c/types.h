/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The records shared with user space. bpf2go turns each of these into a Go
 * type (-type flags in bpf/internal/counter/gen.go); the loader in bpf/
 * converts them once into classify/flow values. Every struct is padded by
 * hand so that its layout has no holes the compiler could fill with
 * garbage: keys are hashed as raw bytes.
 */
#ifndef WIRECHECK_TYPES_H
#define WIRECHECK_TYPES_H

#include <linux/types.h>

/* flow_key is classify/flow.Key: the canonical 5-tuple. a is the lower
 * address (then the lower port), addresses are 16 bytes with IPv4 mapped
 * into ::ffff:0:0/96, ports are in host byte order, and ICMP echo flows
 * carry the echo identifier as both ports. */
struct flow_key {
	__u8 a[16];
	__u8 b[16];
	__u16 a_port;
	__u16 b_port;
	__u8 proto;
	__u8 pad[3];
} __attribute__((aligned(8))); /* for addr_cmp's 8-byte loads */

/* flow_stats is one CPU's share of a flow (the flow map is per-CPU). Arrays
 * are indexed by side: 0 is a, 1 is b. User space sums the CPUs: counts
 * add, flags OR, first is the earliest first among CPUs that saw packets
 * (among all CPUs when only an ICMP error created the flow), last the
 * latest last, first_side that of the earliest first, and the unreachable
 * type/code/sender those of the CPU with the latest unreach_ns. */
struct flow_stats {
	__u64 packets[2];
	__u64 bytes[2];   /* frame lengths (skb->len, plus an offloaded VLAN tag) */
	__u64 payload[2]; /* transport payload bytes as the IP headers declare them */
	__u64 first_ns;   /* CLOCK_MONOTONIC; 0 when this CPU has no share */
	__u64 last_ns;
	__u64 unreach_ns; /* time of this CPU's last ICMP unreachable */
	__u32 syns[2];    /* SYN without ACK, or ICMP echo request */
	__u32 fragments;  /* later IP fragments tied to the flow */
	__u32 unreachable;
	__u8 unreach_from[16];
	__u8 flags[2];    /* union of TCP flags */
	__u8 first_side;
	__u8 unreach_type;
	__u8 unreach_code;
	__u8 pad[3];
};

/* port_key is one server port of the profile: TCP or UDP with its port, or
 * ICMP/ICMPv6 with port 0 (host byte order). */
struct port_key {
	__u8 proto;
	__u8 pad;
	__u16 port;
};

/* new_flow is the ring-buffer record of a flow that no server port covers,
 * with what the packet that created it says about who opened it, so that
 * user space can tell client from server before reading the flow map. */
struct new_flow {
	struct flow_key key;
	__u64 time_ns;
	__u8 first_side;
	__u8 flags;  /* TCP flags of that packet */
	__u8 syn;    /* 1 if it opened the flow: SYN without ACK, or ICMP echo request */
	__u8 quoted; /* 1 if no packet created it but an ICMP unreachable quoting one */
	__u8 pad[4];
};

/* PAYLOAD_MAX bounds the bytes of a payload copied to user space. */
#define PAYLOAD_MAX 512

/* Why a payload was copied (struct payload's reasons). */
#define PAYLOAD_FIRST 1 /* the first payload this side of the flow sent */
#define PAYLOAD_DNS 2   /* sent from a DNS, mDNS or LLMNR port */
#define PAYLOAD_CONTROL 4 /* FTP control, portmapper or endpoint mapper: may announce a related flow */

/* payload is the ring-buffer record of a copied payload. */
struct payload {
	struct flow_key key;
	__u64 time_ns;
	__u32 len;      /* bytes in data */
	__u32 declared; /* payload length the headers declare */
	__u8 side;      /* the sender */
	__u8 reasons;   /* PAYLOAD_* */
	__u8 pad[6];
	__u8 data[PAYLOAD_MAX];
};

/* counters are the per-CPU totals that make losses visible. */
struct counters {
	__u64 packets;          /* every frame the program saw */
	__u64 bytes;
	__u64 created;          /* flows inserted: BPF_NOEXIST updates that succeeded */
	__u64 lost;             /* packets or ICMP errors counted to no flow: the insert failed */
	__u64 ring_drops;       /* new_flow records the ring buffer had no room for */
	__u64 payload_drops;    /* payload records their ring buffer had no room for */
	__u64 untied_fragments; /* later IP fragments whose first fragment is unknown */
	__u64 truncated;        /* frames whose headers end early */
	__u64 malformed;        /* frames whose headers are inconsistent */
	__u64 other_packets;    /* frames that form no flow (ARP, ICMP errors, untied fragments, ...) */
	__u64 other_bytes;
	__u64 tunnel_packets;   /* of other_packets, GRE, ERSPAN and IP-in-IP packets (tunnel.h) */
	__u64 tunnel_bytes;
};

/* tunnel_key is one direction of a GRE, ERSPAN or IP-in-IP tunnel: its outer
 * addresses as the packets carry them (IPv4 mapped) and its kind (TUNNEL_*
 * in parse.h, packet.Tunnel's numbers). */
struct tunnel_key {
	__u8 src[16];
	__u8 dst[16];
	__u8 kind;
	__u8 pad[7];
};

/* tunnel_stats is one CPU's count of a tunnel_key's packets. */
struct tunnel_stats {
	__u64 packets;
	__u64 bytes;
};

#endif

/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The profile's server ports, and the ring buffer that tells user space at
 * once about a new flow none of them covers. Only new flows are sent, never
 * every packet: a ring-buffer record costs about twice a map update.
 */
#ifndef WIRECHECK_RULES_H
#define WIRECHECK_RULES_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "counters.h"
#include "parse.h"
#include "types.h"

/* server_ports is filled by user space from the profile before attaching;
 * max_entries is set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct port_key);
	__type(value, __u8);
} server_ports SEC(".maps");

/* new_flows carries struct new_flow records; its size is set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} new_flows SEC(".maps");

/* Make struct new_flow part of the BTF, so bpf2go can generate its Go type. */
const struct new_flow *unused_new_flow __attribute__((unused));

/* is_server_port reports whether the profile names (proto, port). */
static __always_inline int is_server_port(__u8 proto, __u16 port)
{
	struct port_key pk = { .proto = proto, .port = port };
	return bpf_map_lookup_elem(&server_ports, &pk) != NULL;
}

/* covered reports whether either side of k is a server port of the
 * profile; an ICMP flow is covered when ICMP itself is (port 0). */
static __always_inline int covered(const struct flow_key *k)
{
	if (k->proto == PROTO_ICMP || k->proto == PROTO_ICMPV6)
		return is_server_port(k->proto, 0);
	return is_server_port(k->proto, k->a_port) || is_server_port(k->proto, k->b_port);
}

/* announce sends a new flow that no server port covers to user space, or
 * counts the record as dropped when the ring buffer is full. init is the
 * flow as its creator left it: one packet from side, or (packets 0) an ICMP
 * unreachable quoting side's packet. */
static __always_inline void announce(const struct flow_key *k, __u8 side, __u64 now,
				     const struct flow_stats *init, struct counters *cnt)
{
	if (covered(k))
		return;
	struct new_flow *e = bpf_ringbuf_reserve(&new_flows, sizeof(*e), 0);
	if (!e) {
		cnt->ring_drops++;
		return;
	}
	__builtin_memcpy(&e->key, k, sizeof(*k));
	e->time_ns = now;
	e->first_side = side;
	/* Constant indexes: see account_side in flow.h. */
	e->flags = side ? init->flags[1] : init->flags[0];
	e->syn = (side ? init->syns[1] : init->syns[0]) != 0;
	e->quoted = init->packets[0] + init->packets[1] == 0;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, 0);
}

#endif

/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Tunnels the kernel does not decapsulate: GRE (with ERSPAN types I to III)
 * and IP-in-IP, as classify/packet.Encapsulated recognises them. Their
 * packets are other traffic to the flow map, but a mirror target's flows are
 * inside them, so they are counted apart (counters.tunnel_*) and per outer
 * address pair and kind (the tunnels map): user space reports those it would
 * have decapsulated as not judged, and keeps the rest (a host that is a
 * tunnel end, or --tunnels off) as other traffic. VXLAN and GENEVE ride on
 * UDP and are counted as their outer flow; user space takes those out.
 */
#ifndef WIRECHECK_TUNNEL_H
#define WIRECHECK_TUNNEL_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "counters.h"
#include "parse.h"
#include "types.h"

/* tunnels: one entry per outer (src, dst, kind), as the packets go. It is
 * not an LRU: a tunnel once counted keeps its entry, and a packet of a new
 * one that finds the map full is in counters.tunnel_packets alone, which
 * user space reports as not judged whatever the host. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tunnel_key);
	__type(value, struct tunnel_stats);
} tunnels SEC(".maps");

/* count_tunnel counts a packet of the tunnel p->tunnel, whose frame is
 * wire bytes long. The caller also counts it as other traffic. */
static __always_inline void count_tunnel(struct parsed *p, __u64 wire, struct counters *cnt)
{
	struct tunnel_key k = { .kind = p->tunnel };

	cnt->tunnel_packets++;
	cnt->tunnel_bytes += wire;
	__builtin_memcpy(k.src, p->t.src, 16);
	__builtin_memcpy(k.dst, p->t.dst, 16);
	struct tunnel_stats *s = bpf_map_lookup_elem(&tunnels, &k);
	if (s) {
		s->packets++;
		s->bytes += wire;
		return;
	}
	/* A per-CPU update writes this CPU's share only: if another CPU
	 * created the entry meanwhile, its share stays. */
	struct tunnel_stats first = { .packets = 1, .bytes = wire };
	bpf_map_update_elem(&tunnels, &k, &first, BPF_ANY);
}

#endif

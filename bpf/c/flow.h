/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Per-flow counting, as classify/flow.Table does it: Packet for transport
 * packets, Fragment for later IP fragments, ICMPError for destination
 * unreachables. The flow map is a per-CPU LRU hash: two CPUs never touch
 * the same memory, so counters need no atomics, and user space sums the
 * CPUs.
 */
#ifndef WIRECHECK_FLOW_H
#define WIRECHECK_FLOW_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "counters.h"
#include "parse.h"
#include "payload.h"
#include "rules.h"
#include "types.h"

/* flows: max_entries is set by the loader (Options.MaxFlows). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

/* frag_key identifies an IP datagram: a later fragment carries no ports,
 * only the addresses, protocol and ID of its first fragment. */
struct frag_key {
	__u8 src[16];
	__u8 dst[16];
	__u32 id;
	__u8 proto;
	__u8 pad[3];
};

/* frag_val is the flow the first fragment was counted to, and its side. */
struct frag_val {
	struct flow_key key;
	__u8 side;
	__u8 pad[3];
};

/* frags ties later fragments to their flow. It is shared by the CPUs (the
 * fragments of one datagram need not arrive on one CPU) and written only
 * for first fragments, which are rare. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, struct frag_key);
	__type(value, struct frag_val);
} frags SEC(".maps");

/* addr_cmp compares two 16-byte addresses as big-endian numbers, like
 * bytes.Compare: negative, zero or positive. Both must be 8-byte aligned
 * (struct tuple makes sure): the verifier rejects misaligned stack loads. */
static __always_inline int addr_cmp(const __u8 *a, const __u8 *b)
{
	__u64 a0 = __builtin_bswap64(*(const __u64 *)a), b0 = __builtin_bswap64(*(const __u64 *)b);
	if (a0 != b0)
		return a0 < b0 ? -1 : 1;
	__u64 a1 = __builtin_bswap64(*(const __u64 *)(a + 8)), b1 = __builtin_bswap64(*(const __u64 *)(b + 8));
	if (a1 != b1)
		return a1 < b1 ? -1 : 1;
	return 0;
}

/* make_key fills the canonical key of a directional tuple and returns the
 * side that sent it (flow.KeyOf): a is the lower address, then the lower
 * port. */
static __always_inline __u8 make_key(const struct tuple *t, struct flow_key *k)
{
	int c = addr_cmp(t->src, t->dst);
	k->proto = t->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	if (c < 0 || (c == 0 && t->sport <= t->dport)) {
		__builtin_memcpy(k->a, t->src, 16);
		__builtin_memcpy(k->b, t->dst, 16);
		k->a_port = t->sport;
		k->b_port = t->dport;
		return 0;
	}
	__builtin_memcpy(k->a, t->dst, 16);
	__builtin_memcpy(k->b, t->src, 16);
	k->a_port = t->dport;
	k->b_port = t->sport;
	return 1;
}

/* account_side adds one packet to side i (a constant) of s. The sides are
 * spelled out: with a variable index clang may form the address with an OR,
 * which the verifier refuses on pointers. */
#define account_side(s, i, wire, p, proto)                                   \
	do {                                                                 \
		(s)->packets[i]++;                                           \
		(s)->bytes[i] += (wire);                                     \
		if ((p)->payload_len > 0)                                    \
			(s)->payload[i] += (p)->payload_len;                 \
		if ((proto) == PROTO_TCP) {                                  \
			(s)->flags[i] |= (p)->tcp_flags;                     \
			if (((p)->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) \
				(s)->syns[i]++;                              \
		} else if (is_echo_request((proto), (p)->icmp_type)) {       \
			(s)->syns[i]++;                                      \
		}                                                            \
	} while (0)

/* account adds one packet sent by side to this CPU's share of a flow
 * (flow.Flow.Count). */
static __always_inline void account(struct flow_stats *s, __u8 side, __u64 now, __u64 wire,
				    const struct parsed *p, __u8 proto)
{
	if (s->packets[0] + s->packets[1] == 0) {
		s->first_ns = now;
		s->first_side = side;
	}
	if (now > s->last_ns)
		s->last_ns = now;
	if (now < s->first_ns)
		s->first_ns = now;
	if (side)
		account_side(s, 1, wire, p, proto);
	else
		account_side(s, 0, wire, p, proto);
}

/* remember_fragment records the flow of a first fragment so that the
 * datagram's later fragments can be counted to it. */
static __always_inline void remember_fragment(const struct parsed *p, const struct flow_key *k, __u8 side)
{
	struct frag_key fk = { .id = p->frag_id, .proto = p->t.proto };
	struct frag_val fv = { .side = side };

	__builtin_memcpy(fk.src, p->t.src, 16);
	__builtin_memcpy(fk.dst, p->t.dst, 16);
	__builtin_memcpy(&fv.key, k, sizeof(*k));
	bpf_map_update_elem(&frags, &fk, &fv, BPF_ANY);
}

/* count_packet counts a transport packet (KIND_TRANSPORT) to its flow,
 * creating the flow with this packet's counts when it is new. */
static __always_inline void count_packet(struct __sk_buff *skb, const struct parsed *p, __u64 now, __u64 wire,
					 struct counters *cnt)
{
	struct flow_key k;
	__u8 side = make_key(&p->t, &k);
	__u8 reasons;

	struct flow_stats *s = bpf_map_lookup_elem(&flows, &k);
	if (!s) {
		struct flow_stats init = {};
		account(&init, side, now, wire, p, k.proto);
		if (bpf_map_update_elem(&flows, &k, &init, BPF_NOEXIST) == 0) {
			cnt->created++;
			announce(&k, side, now, &init, cnt);
			reasons = payload_reasons(p, 0);
			goto out;
		}
		/* Another CPU created it first. */
		s = bpf_map_lookup_elem(&flows, &k);
		if (!s) {
			cnt->lost++;
			return;
		}
	}
	reasons = payload_reasons(p, side ? s->payload[1] != 0 : s->payload[0] != 0);
	account(s, side, now, wire, p, k.proto);
out:
	if (p->first_fragment)
		remember_fragment(p, &k, side);
	if (reasons)
		send_payload(skb, &k, side, now, p, reasons, cnt);
}

/* count_fragment counts a later IP fragment (KIND_FRAGMENT) to the flow of
 * its first fragment. It returns 0, or -1 when the fragment could not be
 * tied to a flow. */
static __always_inline int count_fragment(const struct parsed *p, __u64 now, __u64 wire)
{
	struct frag_key fk = { .id = p->frag_id, .proto = p->t.proto };

	__builtin_memcpy(fk.src, p->t.src, 16);
	__builtin_memcpy(fk.dst, p->t.dst, 16);
	struct frag_val *fv = bpf_map_lookup_elem(&frags, &fk);
	if (!fv)
		return -1;
	struct flow_stats *s = bpf_map_lookup_elem(&flows, &fv->key);
	if (!s)
		return -1; /* the flow was evicted or swept since */
	account(s, fv->side, now, wire, p, fv->key.proto);
	s->fragments++;
	return 0;
}

/* count_icmp_error records an ICMP destination unreachable against the
 * flow it quotes (flow.Table.ICMPError), creating the flow if the quoted
 * packet itself was not seen: the quote is proof of the attempt. Other ICMP
 * errors are not tied to flows. */
static __always_inline void count_icmp_error(const struct parsed *p, __u64 now, struct counters *cnt)
{
	if (!((p->t.proto == PROTO_ICMP && p->icmp_type == 3) || (p->t.proto == PROTO_ICMPV6 && p->icmp_type == 1)))
		return;

	struct flow_key k;
	__u8 side = make_key(&p->quoted, &k);

	struct flow_stats *s = bpf_map_lookup_elem(&flows, &k);
	if (!s) {
		struct flow_stats init = {
			.first_ns = now,
			.last_ns = now,
			.first_side = side,
			.unreachable = 1,
			.unreach_ns = now,
			.unreach_type = p->icmp_type,
			.unreach_code = p->icmp_code,
		};
		__builtin_memcpy(init.unreach_from, p->t.src, 16);
		if (bpf_map_update_elem(&flows, &k, &init, BPF_NOEXIST) == 0) {
			cnt->created++;
			announce(&k, side, now, &init, cnt);
			return;
		}
		s = bpf_map_lookup_elem(&flows, &k);
		if (!s) {
			cnt->lost++;
			return;
		}
	}
	s->unreachable++;
	s->unreach_ns = now;
	s->unreach_type = p->icmp_type;
	s->unreach_code = p->icmp_code;
	__builtin_memcpy(s->unreach_from, p->t.src, 16);
}

#endif

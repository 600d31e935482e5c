// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * wirecheck's flow counter: a TC program, attached with TCX to the ingress
 * and egress of an interface, that counts every frame to its bidirectional
 * flow in a per-CPU map, exactly as classify/flow.Table counts a capture
 * file. It never drops, alters or redirects a packet.
 *
 * See bpf/doc.go for the contract with user space.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "counters.h"
#include "flow.h"
#include "parse.h"
#include "payload.h"
#include "rules.h"
#include "tunnel.h"
#include "types.h"

/* TC_ACT_UNSPEC (TCX_NEXT for TCX links): let the next program or the
 * stack decide; the packet is never touched. */
#define TC_ACT_UNSPEC (-1)

/* VLAN_HLEN is added to the length of a frame whose outer VLAN tag the
 * driver moved into skb metadata: libpcap puts the tag back, so the frame
 * on the wire (and in tcpdump) is four bytes longer than skb->len. */
#define VLAN_HLEN 4

SEC("tc")
int wirecheck_tc(struct __sk_buff *skb)
{
	struct counters *cnt = counters_get();
	if (!cnt)
		return TC_ACT_UNSPEC;

	__u64 now = bpf_ktime_get_ns();
	__u64 wire = skb->len + (skb->vlan_present ? VLAN_HLEN : 0);
	cnt->packets++;
	cnt->bytes += wire;

	struct parsed p = {};
	switch (parse_frame(skb, &p)) {
	case PARSE_TRUNCATED:
		cnt->truncated++;
		return TC_ACT_UNSPEC;
	case PARSE_MALFORMED:
		cnt->malformed++;
		return TC_ACT_UNSPEC;
	}

	switch (p.kind) {
	case KIND_TRANSPORT:
		count_packet(skb, &p, now, wire, cnt);
		return TC_ACT_UNSPEC;
	case KIND_FRAGMENT:
		if (count_fragment(&p, now, wire) == 0)
			return TC_ACT_UNSPEC;
		cnt->untied_fragments++;
		break;
	case KIND_ICMP_ERROR:
		/* The error is not part of the flow's counts: it is other traffic
		 * that marks the flow it quotes. */
		count_icmp_error(&p, now, cnt);
		break;
	default:
		if (p.tunnel)
			count_tunnel(&p, wire, cnt);
	}
	cnt->other_packets++;
	cnt->other_bytes += wire;
	return TC_ACT_UNSPEC;
}

char __license[] SEC("license") = "Dual MIT/GPL";

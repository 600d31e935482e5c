/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Payload copies for user space, which learns names from them: every
 * payload sent from a DNS port (53, 5353, 5355: answers carry names and
 * addresses) and the first payload each side of a TCP or UDP flow sends
 * (application detection; a TLS ClientHello carries the server name), and
 * every payload of a control flow that may announce a related flow's port
 * (FTP control on TCP 21, the portmapper on TCP/UDP 111, the endpoint
 * mapper's responses from TCP 135; classify/related.Control). At
 * most PAYLOAD_MAX bytes of each are copied, into a ring buffer of their
 * own so that a burst of them cannot crowd out new-flow records. Off unless
 * the loader sets send_payloads.
 */
#ifndef WIRECHECK_PAYLOAD_H
#define WIRECHECK_PAYLOAD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "counters.h"
#include "parse.h"
#include "types.h"

/* send_payloads is set by the loader (Options.Payloads) before loading;
 * while it is 0 the verifier prunes the code below as dead. */
volatile const __u8 send_payloads = 0;

/* payloads carries struct payload records; its size is set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} payloads SEC(".maps");

/* Make struct payload part of the BTF, so bpf2go can generate its Go type. */
const struct payload *unused_payload __attribute__((unused));

/* is_dns_port reports whether a source port sends DNS answers: DNS, mDNS
 * or LLMNR (as classify's dnsPort). */
static __always_inline int is_dns_port(__u16 port)
{
	return port == 53 || port == 5353 || port == 5355;
}

/* is_control reports whether a payload may announce a related flow: FTP
 * control (TCP 21), the portmapper (TCP or UDP 111: calls too, since a
 * reply names neither program nor procedure) and the endpoint mapper's
 * responses (from TCP 135). As classify/related.Control, less FTP on other
 * ports, which only user space can recognise. */
static __always_inline int is_control(const struct parsed *p)
{
	__u16 s = p->t.sport, d = p->t.dport;
	if (p->t.proto == PROTO_TCP)
		return s == 21 || d == 21 || s == 111 || d == 111 || s == 135;
	return s == 111 || d == 111;
}

/* payload_reasons returns why a packet's payload should be copied (a
 * PAYLOAD_* mask), or 0. had_payload says whether this side of the flow
 * already sent payload (on this CPU). */
static __always_inline __u8 payload_reasons(const struct parsed *p, int had_payload)
{
	if (!send_payloads || p->payload_avail == 0)
		return 0;
	if (p->t.proto != PROTO_TCP && p->t.proto != PROTO_UDP)
		return 0;
	__u8 r = 0;
	if (!had_payload)
		r |= PAYLOAD_FIRST;
	if (is_dns_port(p->t.sport))
		r |= PAYLOAD_DNS;
	if (is_control(p))
		r |= PAYLOAD_CONTROL;
	return r;
}

/* send_payload copies up to PAYLOAD_MAX bytes of the packet's payload to
 * the ring buffer, or counts the record as dropped when it is full. */
static __always_inline void send_payload(struct __sk_buff *skb, const struct flow_key *k, __u8 side, __u64 now,
					 const struct parsed *p, __u8 reasons, struct counters *cnt)
{
	struct payload *e = bpf_ringbuf_reserve(&payloads, sizeof(*e), 0);
	if (!e) {
		cnt->payload_drops++;
		return;
	}
	__builtin_memcpy(&e->key, k, sizeof(*k));
	e->time_ns = now;
	e->declared = p->payload_len > 0 ? p->payload_len : 0;
	e->side = side;
	e->reasons = reasons;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__u32 len = p->payload_avail;
	if (len > PAYLOAD_MAX)
		len = PAYLOAD_MAX;
	e->len = 0;
	if (len > 0 && bpf_skb_load_bytes(skb, p->payload_off, e->data, len) == 0)
		e->len = len;
	bpf_ringbuf_submit(e, 0);
}

#endif

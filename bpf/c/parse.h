/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Header parsing. This is a transcription of classify/packet.Decode for
 * Ethernet frames: the same walk (VLAN/QinQ, MPLS, PPPoE, IPv4 with options
 * and fragments, IPv6 with a bounded extension-header chain, TCP, UDP, ICMP
 * echo and ICMP errors with their quoted tuple, and packet.Encapsulated's
 * checks of GRE, ERSPAN and IP-in-IP headers), the same bounds and the
 * same outcome for every frame, truncated or malformed ones included. The
 * differential test in bpf/ checks the two against each other; change both
 * together.
 *
 * Headers are copied to the stack with bpf_skb_load_bytes before they are
 * read, which works for paged skbs too and keeps packet offsets out of the
 * verifier's pointer arithmetic: direct packet access made every offset
 * precise, and the walk's loops then exceeded the verifier's budget.
 * Nothing is ever written to the packet.
 */
#ifndef WIRECHECK_PARSE_H
#define WIRECHECK_PARSE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "types.h"

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define PROTO_IPIP 4
#define PROTO_IPV6 41
#define PROTO_GRE 47

/* Tunnel kinds, as packet.Tunnel numbers them (the kernel sees only those
 * that are not UDP). */
#define TUNNEL_GRE 3
#define TUNNEL_ERSPAN2 4
#define TUNNEL_ERSPAN3 5
#define TUNNEL_IPIP 6

#define TCP_SYN 0x02
#define TCP_ACK 0x10

/* MAX_TAGS bounds VLAN tags and MPLS labels; MAX_EXT bounds the IPv6
 * extension headers walked (packet.maxTags, packet.maxExtHeaders). */
#define MAX_TAGS 8
#define MAX_EXT 8

/* Offsets past MAX_OFF are never read: it keeps the verifier's view of
 * packet offsets bounded. No header wirecheck reads lies that deep. */
#define MAX_OFF 0x3fff

enum parse_result {
	PARSE_OK = 0,
	PARSE_TRUNCATED, /* packet.ErrTruncated */
	PARSE_MALFORMED, /* packet.ErrMalformed */
};

enum kind {
	KIND_OTHER = 0,  /* packet.KindOther */
	KIND_TRANSPORT,  /* packet.KindTransport */
	KIND_FRAGMENT,   /* packet.KindFragment */
	KIND_ICMP_ERROR, /* packet.KindICMPError */
};

/* tuple is packet.Tuple: directional, ports in host byte order. */
struct tuple {
	__u8 src[16] __attribute__((aligned(8))); /* for addr_cmp's 8-byte loads */
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* parsed is packet.Parsed, less what the kernel does not need. */
struct parsed {
	struct tuple t;
	struct tuple quoted;
	__s64 payload_len;   /* as the headers declare it; may be <= 0 */
	__u32 payload_off;   /* TCP and UDP: where the payload starts */
	__u32 payload_avail; /* TCP and UDP: payload bytes present in the frame */
	__u32 frag_id;
	__u8 kind;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 first_fragment;
	__u8 v6; /* set by parse_ipv6: ICMP must match the IP version */
	__u8 tunnel; /* other traffic that is a tunnel packet: TUNNEL_*, or 0 */
};

/* cursor is the frame being parsed. end is the offset where the current
 * header's data ends: the frame's length at first, then cut to what the IP
 * and transport headers declare, as Decode reslices its buffer. */
struct cursor {
	struct __sk_buff *skb;
	__u32 end;
};

/* load copies size bytes at offset off into buf. It returns 0, or -1 when
 * the bytes lie past the cursor's end (a truncated header). */
static __always_inline int load(struct cursor *c, __u32 off, void *buf, const __u32 size)
{
	if (off > MAX_OFF || off + size > c->end)
		return -1;
	return bpf_skb_load_bytes(c->skb, off, buf, size) ? -1 : 0;
}

/* be16 reads a big-endian 16-bit field from a copied header. */
static __always_inline __u16 be16(const __u8 *b)
{
	return ((__u16)b[0] << 8) | b[1];
}

/* be32 reads a big-endian 32-bit field from a copied header. */
static __always_inline __u32 be32(const __u8 *b)
{
	return ((__u32)b[0] << 24) | ((__u32)b[1] << 16) | ((__u32)b[2] << 8) | b[3];
}

/* mapped4 stores an IPv4 address as ::ffff:a.b.c.d. */
static __always_inline void mapped4(__u8 *dst, const __u8 *src)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, src, 4);
}

/* is_echo reports whether an ICMP type of proto is an echo request or
 * reply, the only ICMP messages that form flows. */
static __always_inline int is_echo(__u8 proto, __u8 type)
{
	if (proto == PROTO_ICMP)
		return type == 8 || type == 0;
	return type == 128 || type == 129;
}

/* is_echo_request reports whether an ICMP type of proto opens a flow
 * (packet.IsEchoRequest). */
static __always_inline int is_echo_request(__u8 proto, __u8 type)
{
	return (proto == PROTO_ICMP && type == 8) || (proto == PROTO_ICMPV6 && type == 128);
}

/* is_icmp_error reports whether an ICMP type of proto quotes a packet:
 * unreachable, source quench, redirect, time exceeded, parameter problem
 * (ICMPv6: unreachable to parameter problem). */
static __always_inline int is_icmp_error(__u8 proto, __u8 type)
{
	if (proto == PROTO_ICMP)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* parse_quote reads the tuple of the packet an ICMP error quotes, which
 * starts at off (packet.Tuple.decodeQuoted). The quote is short by design:
 * the IP header and four bytes of layer 4 (eight for ICMP) suffice. */
__noinline int parse_quote(struct __sk_buff *skb, __u32 off, __u32 end, struct tuple *q)
{
	struct cursor cur = { .skb = skb, .end = end }, *c = &cur;
	__u8 h[20];
	__u32 l4;

	if (!q)
		return PARSE_MALFORMED;

	if (load(c, off, h, 1))
		return PARSE_TRUNCATED;
	switch (h[0] >> 4) {
	case 4: {
		if (load(c, off, h, 20))
			return PARSE_TRUNCATED;
		__u32 ihl = (h[0] & 0x0f) * 4;
		if (ihl < 20)
			return PARSE_MALFORMED;
		if (off + ihl > c->end)
			return PARSE_TRUNCATED;
		if (be16(h + 6) & 0x1fff)
			return PARSE_MALFORMED; /* a later fragment has no ports */
		q->proto = h[9];
		mapped4(q->src, h + 12);
		mapped4(q->dst, h + 16);
		l4 = off + ihl;
		break;
	}
	case 6: {
		__u8 e[8];
		if (load(c, off, h, 8) || load(c, off + 8, q->src, 16) || load(c, off + 24, q->dst, 16))
			return PARSE_TRUNCATED;
		__u8 next = h[6];
		l4 = off + 40;
		for (int i = 0; i < MAX_EXT; i++) {
			if (next != 0 && next != 43 && next != 60 && next != 44)
				break;
			if (load(c, l4, e, 8))
				return PARSE_TRUNCATED;
			__u32 hlen = next == 44 ? 8 : ((__u32)e[1] + 1) * 8;
			if (l4 + hlen > c->end)
				return PARSE_TRUNCATED;
			next = e[0];
			l4 += hlen;
		}
		q->proto = next;
		break;
	}
	default:
		return PARSE_MALFORMED;
	}

	switch (q->proto) {
	case PROTO_TCP:
	case PROTO_UDP:
		if (load(c, l4, h, 4))
			return PARSE_TRUNCATED;
		q->sport = be16(h);
		q->dport = be16(h + 2);
		return PARSE_OK;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		if (load(c, l4, h, 8))
			return PARSE_TRUNCATED;
		if (!is_echo_request(q->proto, h[0]) && h[0] != 0 && h[0] != 129)
			return PARSE_MALFORMED; /* only echo has an identity */
		q->sport = q->dport = be16(h + 4);
		return PARSE_OK;
	}
	return PARSE_MALFORMED;
}

/* parse_icmp reads an ICMP or ICMPv6 header at off: echo forms a flow keyed
 * by its identifier, an error yields the tuple it quotes, and any other
 * message is left as other traffic. */
static __always_inline int parse_icmp(struct cursor *c, __u32 off, __s64 l4len, struct parsed *p)
{
	__u8 h[8];

	if (load(c, off, h, 4))
		return PARSE_TRUNCATED;
	p->icmp_type = h[0];
	p->icmp_code = h[1];
	if (is_echo(p->t.proto, h[0])) {
		if (load(c, off, h, 8))
			return PARSE_TRUNCATED;
		p->t.sport = p->t.dport = be16(h + 4);
		p->payload_len = l4len - 8;
		p->kind = KIND_TRANSPORT;
		return PARSE_OK;
	}
	if (is_icmp_error(p->t.proto, h[0])) {
		if (off + 8 > c->end)
			return PARSE_TRUNCATED;
		int r = parse_quote(c->skb, off + 8, c->end, &p->quoted);
		if (r == PARSE_OK)
			p->kind = KIND_ICMP_ERROR;
		return r;
	}
	return PARSE_OK;
}

/* gre_kind returns the tunnel a GRE packet at off is (packet.gre): version
 * 0 without source routing, carrying IP, Ethernet or ERSPAN type I or II,
 * or ERSPAN type III of frame type 0 or 2, with at least one byte inside.
 * Anything else (PPTP's GRE, a header cut short) is 0: other traffic. */
static __always_inline __u8 gre_kind(struct cursor *c, __u32 off)
{
	__u8 h[12];

	if (load(c, off, h, 4))
		return 0;
	__u16 flags = be16(h), et = be16(h + 2);
	if (flags & 0x4007)
		return 0;
	__u32 n = 4;
	if (flags & 0x8000) /* checksum */
		n += 4;
	if (flags & 0x2000) /* key */
		n += 4;
	if (flags & 0x1000) /* sequence number */
		n += 4;
	__u8 kind;
	switch (et) {
	case 0x6558: case 0x0800: case 0x86dd:
		kind = TUNNEL_GRE;
		break;
	case 0x88be: /* type II has a sequence number and an 8-byte header, type I neither */
		if (flags & 0x1000)
			n += 8;
		kind = TUNNEL_ERSPAN2;
		break;
	case 0x22eb: { /* a 12-byte header, and 8 bytes more when its O bit is set */
		if (load(c, off + n, h, 12))
			return 0;
		__u8 ft = (be16(h + 10) >> 10) & 0x1f;
		if (ft != 0 && ft != 2)
			return 0;
		n += (h[11] & 1) ? 20 : 12;
		kind = TUNNEL_ERSPAN3;
		break;
	}
	default:
		return 0;
	}
	return off + n < c->end ? kind : 0;
}

/* parse_transport reads the layer-4 header at off, whose length per the IP
 * header is l4len. */
__noinline int parse_transport(struct __sk_buff *skb, __u32 off, __u32 end, __s64 l4len, struct parsed *p)
{
	struct cursor cur = { .skb = skb, .end = end }, *c = &cur;
	__u8 h[20];

	if (!p)
		return PARSE_MALFORMED;

	if (l4len < (__s64)c->end - off)
		c->end = off + (l4len > 0 ? l4len : 0);
	switch (p->t.proto) {
	case PROTO_TCP: {
		if (load(c, off, h, 20))
			return PARSE_TRUNCATED;
		__s64 doff = (h[12] >> 4) * 4;
		if (doff < 20 || doff > l4len)
			return PARSE_MALFORMED;
		p->t.sport = be16(h);
		p->t.dport = be16(h + 2);
		p->tcp_flags = h[13];
		p->payload_len = l4len - doff;
		p->payload_off = off + doff;
		p->payload_avail = c->end > off + doff ? c->end - (off + doff) : 0;
		p->kind = KIND_TRANSPORT;
		return PARSE_OK;
	}
	case PROTO_UDP:
		if (load(c, off, h, 8))
			return PARSE_TRUNCATED;
		p->t.sport = be16(h);
		p->t.dport = be16(h + 2);
		p->payload_len = l4len - 8;
		p->payload_off = off + 8;
		p->payload_avail = c->end > off + 8 ? c->end - (off + 8) : 0;
		p->kind = KIND_TRANSPORT;
		return PARSE_OK;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		if ((p->t.proto == PROTO_ICMPV6) != p->v6)
			return PARSE_OK; /* ICMP of the other IP version: other traffic */
		return parse_icmp(c, off, l4len, p);
	case PROTO_GRE:
		p->tunnel = gre_kind(c, off);
		return PARSE_OK;
	case PROTO_IPIP:
	case PROTO_IPV6:
		if (off < c->end) /* packet.Encapsulated: something inside */
			p->tunnel = TUNNEL_IPIP;
		return PARSE_OK;
	}
	return PARSE_OK;
}

/* parse_ipv4 reads an IPv4 header with options at off. A later fragment is
 * identified (addresses, protocol, ID) but has no layer 4 to read. */
__noinline int parse_ipv4(struct __sk_buff *skb, __u32 off, struct parsed *p)
{
	struct cursor cur = { .skb = skb, .end = skb->len }, *c = &cur;
	__u8 h[20];

	if (!p)
		return PARSE_MALFORMED;

	if (load(c, off, h, 20))
		return PARSE_TRUNCATED;
	__u32 ihl = (h[0] & 0x0f) * 4;
	if (h[0] >> 4 != 4 || ihl < 20)
		return PARSE_MALFORMED;
	if (off + ihl > c->end)
		return PARSE_TRUNCATED;
	__u32 avail = c->end - off;
	__u32 total = be16(h + 2);
	if (total == 0)
		total = avail; /* segmentation offload fills the length in later */
	else if (total < ihl || total > avail)
		return PARSE_MALFORMED; /* more than the wire carried: packet.Parsed.CheckLength */
	else if (total < avail)
		c->end = off + total; /* drop link-layer padding */

	p->t.proto = h[9];
	mapped4(p->t.src, h + 12);
	mapped4(p->t.dst, h + 16);

	__u16 frag = be16(h + 6);
	if (frag & 0x1fff) {
		p->kind = KIND_FRAGMENT;
		p->frag_id = be16(h + 4);
		p->payload_len = (__s64)total - ihl;
		return PARSE_OK;
	}
	if (frag & 0x2000) {
		p->first_fragment = 1;
		p->frag_id = be16(h + 4);
	}
	return parse_transport(c->skb, off + ihl, c->end, (__s64)total - ihl, p);
}

/* parse_ipv6 reads an IPv6 header at off and walks up to MAX_EXT extension
 * headers (hop-by-hop, routing, fragment, destination options, AH,
 * mobility, HIP, shim6) to the transport header. */
__noinline int parse_ipv6(struct __sk_buff *skb, __u32 off, struct parsed *p)
{
	struct cursor cur = { .skb = skb, .end = skb->len }, *c = &cur;
	__u8 h[8];

	if (!p)
		return PARSE_MALFORMED;
	p->v6 = 1;

	if (load(c, off, h, 8) || off + 40 > c->end)
		return PARSE_TRUNCATED;
	if (h[0] >> 4 != 6)
		return PARSE_MALFORMED;
	__s64 plen = be16(h + 4);
	__s64 avail = (__s64)c->end - off - 40;
	if (plen == 0)
		plen = avail; /* jumbogram or BIG TCP: trust the frame */
	else if (plen > avail)
		return PARSE_MALFORMED; /* more than the wire carried: packet.Parsed.CheckLength */
	else if (plen < avail)
		c->end = off + 40 + plen;
	if (load(c, off + 8, p->t.src, 16) || load(c, off + 24, p->t.dst, 16))
		return PARSE_TRUNCATED;
	__u8 next = h[6];
	off += 40;

	for (int i = 0; i < MAX_EXT; i++) {
		__u32 hlen;
		switch (next) {
		case 0: case 43: case 60: case 135: case 139: case 140:
			if (load(c, off, h, 8))
				return PARSE_TRUNCATED;
			hlen = ((__u32)h[1] + 1) * 8;
			break;
		case 51: /* AH counts 4-byte units, less two */
			if (load(c, off, h, 8))
				return PARSE_TRUNCATED;
			hlen = ((__u32)h[1] + 2) * 4;
			break;
		case 44: /* fragment */
			if (load(c, off, h, 8))
				return PARSE_TRUNCATED;
			p->frag_id = be32(h + 4);
			if (be16(h + 2) >> 3) {
				p->kind = KIND_FRAGMENT;
				p->t.proto = h[0];
				p->payload_len = plen - 8;
				return PARSE_OK;
			}
			p->first_fragment = be16(h + 2) & 1;
			hlen = 8;
			break;
		default:
			p->t.proto = next;
			return parse_transport(c->skb, off, c->end, plen, p);
		}
		if (off + hlen > c->end)
			return PARSE_TRUNCATED;
		next = h[0];
		off += hlen;
		plen -= hlen;
	}
	return PARSE_MALFORMED;
}

/* l3 is the outcome of parse_link: where the network header starts and
 * which version it is, if the link layer said. */
struct l3 {
	__u32 off;
	__u32 kind;
};

#define L3_NONE 0
#define L3_IPV4 4
#define L3_IPV6 6
#define L3_NIBBLE 1 /* MPLS: the version nibble decides */

/* parse_link walks the Ethernet header and any VLAN tags (802.1Q, QinQ and
 * the old 0x9100/0x9200), MPLS labels or PPPoE session header. It returns a
 * parse result and sets l3 to the network header, or l3->kind to L3_NONE
 * for other traffic. */
__noinline int parse_link(struct __sk_buff *skb, struct l3 *l3)
{
	struct cursor cur = { .skb = skb, .end = skb->len }, *c = &cur;
	__u8 h[8];

	if (!l3)
		return PARSE_MALFORMED;
	l3->kind = L3_NONE;
	if (load(c, 12, h, 2))
		return PARSE_TRUNCATED;
	__u16 et = be16(h);
	__u32 o = 14;

	for (int i = 0; i < MAX_TAGS; i++) {
		switch (et) {
		case 0x8100: case 0x88a8: case 0x9100: case 0x9200:
			if (load(c, o, h, 4))
				return PARSE_TRUNCATED;
			et = be16(h + 2);
			o += 4;
			continue;
		case 0x8847: case 0x8848:
			/* Pop labels to the bottom of the stack. */
			for (int j = 0; j < MAX_TAGS; j++) {
				if (load(c, o, h, 4))
					return PARSE_TRUNCATED;
				o += 4;
				if (h[2] & 1) {
					l3->off = o;
					l3->kind = L3_NIBBLE;
					return PARSE_OK;
				}
			}
			return PARSE_MALFORMED;
		case 0x8864: /* PPPoE session */
			if (load(c, o, h, 8))
				return PARSE_TRUNCATED;
			l3->off = o + 8;
			if (be16(h + 6) == 0x0021)
				l3->kind = L3_IPV4;
			else if (be16(h + 6) == 0x0057)
				l3->kind = L3_IPV6;
			return PARSE_OK;
		case 0x0800:
			l3->off = o;
			l3->kind = L3_IPV4;
			return PARSE_OK;
		case 0x86dd:
			l3->off = o;
			l3->kind = L3_IPV6;
			return PARSE_OK;
		}
		return PARSE_OK;
	}
	return PARSE_MALFORMED;
}

/* parse_frame decodes the Ethernet frame in skb into p. The walk is split
 * into global functions (parse_link, parse_ipv4, parse_ipv6,
 * parse_transport, parse_quote): the verifier checks each once on its own,
 * where one inlined walk multiplied the paths through every loop and ran out
 * of its instruction budget. */
static __always_inline int parse_frame(struct __sk_buff *skb, struct parsed *p)
{
	struct l3 l3 = {};

	int r = parse_link(skb, &l3);
	if (r != PARSE_OK || l3.kind == L3_NONE)
		return r;
	if (l3.kind == L3_NIBBLE) {
		__u8 v;
		if (l3.off > MAX_OFF || l3.off + 1 > skb->len || bpf_skb_load_bytes(skb, l3.off, &v, 1))
			return PARSE_TRUNCATED;
		if (v >> 4 == 4)
			l3.kind = L3_IPV4;
		else if (v >> 4 == 6)
			l3.kind = L3_IPV6;
		else
			return PARSE_MALFORMED;
	}
	if (l3.kind == L3_IPV4)
		return parse_ipv4(skb, l3.off, p);
	return parse_ipv6(skb, l3.off, p);
}

#endif

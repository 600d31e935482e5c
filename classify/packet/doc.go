// Package packet decodes the headers wirecheck needs from one captured frame:
// the transport 5-tuple, TCP flags, the payload, IP fragment identity and, for
// ICMP errors, the tuple of the packet the error quotes.
//
// Parsed.Decode fills a caller-owned Parsed and never allocates, so a reader
// can decode millions of packets with one Parsed value. Byte slices in Parsed
// (Payload) alias the frame: copy out anything that must outlive the frame.
// A Parsed must not be shared between goroutines while it is being decoded.
//
// The decoder walks a fixed path (link layer, VLAN/QinQ/MPLS/PPPoE, IPv4 or
// IPv6 with extension headers, TCP/UDP/ICMP) instead of using gopacket's
// layer machinery: it is the per-packet hot path, and a specialised walk is
// several times cheaper (see ../shared/PERF-FACTS.md). gopacket's layers stay
// the reference: the fuzz test in this package checks that both agree on every
// input.
package packet

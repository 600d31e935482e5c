// Package service names what runs over a flow: the application protocol
// recognised in the first payload each side sent (Detect), what a server
// port normally carries (Expected, Mismatch), the service name of a port
// (Name) and whether a port marks the server side (WellKnown). It also reads
// what a passive observer can learn from a handshake: the server name a TLS
// client asked for, the version and cipher suite the server chose, and the
// addresses DNS responses gave for names.
//
// App is a small integer stored in flow.Flow.App; its zero value, AppNone,
// means no payload was inspected, and AppUnknown that one was but nothing
// matched. The numbering is part of stored flow records: new protocols are
// appended.
//
// Detect is called on the per-flow hot path: it decides on the first few
// dozen bytes (256 at most), accepts any input (truncated, garbage) without
// panicking, and does not allocate. Strong signatures are recognised on any port, so that a
// protocol on a port meant for another (SSH on 443) can be reported; weak ones
// (DNS, NTP, NetBIOS) need one of the flow's ports to agree.
//
// Port names come from IANA's Service Name and Transport Protocol Port Number
// Registry (a trimmed copy is in iana/, turned into zz_ports.go by
// gen_ports.go; run `make generate` after updating it, and
// TestGeneratedPortsAreCurrent fails until you do), overridden by the names
// the vendor port tables in the project's seed documents use. Name,
// Expected, Mismatch and WellKnown do not allocate; WellKnown is one array
// lookup.
//
// The TLS parsers take the first payload of a side as captured, which may
// stop anywhere: they read as far as the bytes go and succeed when the wanted
// field was reached. ParseClientHello allocates the returned name and
// DNSAnswers the names it reports; nothing returned aliases the input.
//
// The package has no mutable state: every function is safe for concurrent
// use.
package service

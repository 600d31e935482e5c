// Package names remembers which hostnames an address was known by during an
// observation: names learned from DNS answers and TLS SNI in the traffic
// itself, never from a resolver at analysis time (the analysis must describe
// the capture, not today's DNS).
//
// The zero Table is not usable; call New. Add must not run at the same time
// as anything else on the Table; lookups (Lookup, Hosts) only read, so
// goroutines may look up at once. It is bounded: past its limits new names
// are counted, not stored. Names are stored as Normalize makes them,
// lower-case and escaped by textout.Wire: a DNS answer may hold any bytes,
// and every report prints these names.
package names

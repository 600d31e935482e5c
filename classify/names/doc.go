// Package names remembers which hostnames an address was known by during an
// observation: names learned from DNS answers and TLS SNI in the traffic
// itself, never from a resolver at analysis time (the analysis must describe
// the capture, not today's DNS).
//
// The zero Table is not usable; call New. A Table is not safe for concurrent
// use. It is bounded: past its limits new names are counted, not stored.
package names

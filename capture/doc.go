// Package capture reads packets: from capture files (pcap and pcapng, plain or
// gzip-compressed, or standard input) with gopacket's pure-Go readers, and,
// in builds with cgo, live from an interface with libpcap.
//
// A Source hands out one Frame at a time. Frame.Data aliases the source's
// buffer and is valid only until the next call to Next, which is what lets a
// reader deliver millions of packets without allocating; copy what must be
// kept. Sources are not safe for concurrent use.
//
// Reading errors are values: a file that is truncated or corrupt part-way
// yields its packets up to the damage and then a *ReadError naming the file
// and the last good packet, so that callers can analyse and report what was
// read before saying where reading stopped.
package capture

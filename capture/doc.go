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
// read before saying where reading stopped. A file cut inside a record,
// even right after its header, is cut short; only one that ends between
// records ends cleanly. A damaged record whose length still leads to the
// next one is skipped and counted (File.Skipped) and reading goes on, as in
// tcpdump and tshark: a pcap record whose captured length exceeds its
// original length, a pcapng packet with any impossible length (its block
// frames it).
//
// Files are hostile input. No header makes the reader allocate more than
// MaxCaptureLength (libpcap's largest snap length) per frame before the bytes
// are there, whatever snap length or record length it declares; a pcap
// record longer than that, or with an original length beyond MaxWireLength,
// stops reading with a *ReadError: its lengths cannot be trusted to find the
// next record.
//
// Old pcap files (format 2.0 to 2.3) are read as libpcap reads them.
// Timestamps that do not fit int64 nanoseconds are clamped. FuzzRead holds
// the reader to these bounds.
package capture

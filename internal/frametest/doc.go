// Package frametest builds Ethernet frames for tests with gopacket, the
// reference serialiser, so that the decoders (classify/packet) and the eBPF
// program (bpf) are tested against bytes the code under test did not make,
// and by the same builder.
//
// Build fixes every length and computes every checksum, TCP, UDP and ICMPv6
// over the pseudo-header of the network layer among its layers; a test that
// wants a lying header sets the field after building, or writes the bytes
// itself. The layer constructors return fresh values a test may change
// before building. Everything here allocates; it is for tests only.
package frametest

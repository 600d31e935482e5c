// Package gencap writes large synthetic captures for benchmarks: a fixed
// number of packets spread over a fixed number of flows, with the mix a
// gateway's uplink shows — TCP connections with a handshake, requests and
// full-size responses in both directions, closed by FIN or RST or refused;
// UDP request/response (DNS with real answers, NTP, NFS); ICMP echo; IPv4
// and IPv6; a tenth of the flows behind 802.1Q tags; ARP now and then. First
// payloads are what the protocol sends (TLS ClientHello with a server name,
// ServerHello, HTTP, SSH banners, DNS), so payload inspection costs what it
// costs on real traffic.
//
// Output is a pure function of Config: the same Config writes the same bytes,
// so a benchmark run can be repeated on another machine with the same file.
// Packets and flows are exact; the flow lengths follow a heavy tail (a few
// elephants, many short flows), and when packets are scarce a flow is cut
// short as a capture that started or stopped mid-conversation would cut it.
// Keeping Flows and doubling Packets makes the same flows longer, which is
// how a benchmark checks that memory follows flows and not packets.
//
// Generation is single-threaded and allocates per packet (gopacket's
// serialisation). It is for benchmarks and tests, not for the analysis
// path.
package gencap

package ipproto

import "strconv"

// Proto is an IP protocol number.
type Proto uint8

// The protocols wirecheck builds flows for.
const (
	Unknown Proto = 0
	ICMPv4  Proto = 1
	TCP     Proto = 6
	UDP     Proto = 17
	ICMPv6  Proto = 58
)

// String returns the lower-case name used in profiles and reports
// ("tcp", "udp", "icmp", "icmpv6"), or the number for anything else.
func (p Proto) String() string {
	switch p {
	case Unknown:
		return "unknown"
	case ICMPv4:
		return "icmp"
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case ICMPv6:
		return "icmpv6"
	}
	return strconv.Itoa(int(p))
}

// IsICMP reports whether p is ICMP for either IP version.
func (p Proto) IsICMP() bool { return p == ICMPv4 || p == ICMPv6 }

// HasPorts reports whether p carries port numbers.
func (p Proto) HasPorts() bool { return p == TCP || p == UDP }

package packet

import "fmt"

// The names of ICMP messages, in one place: the types that name traffic
// that is not a port flow (Other.String), and the codes of the
// destination-unreachable messages that end a flow (UnreachableName).

// UnreachableName names an ICMP destination-unreachable message by its type
// (3 for ICMPv4, 1 for ICMPv6, which do not collide) and code.
func UnreachableName(typ, code uint8) string {
	table, prefix := icmp4Unreach, "ICMP "
	if typ == 1 {
		table, prefix = icmp6Unreach, "ICMPv6 "
	}
	if int(code) < len(table) {
		return prefix + table[code]
	}
	return fmt.Sprintf("%sunreachable code %d", prefix, code)
}

var icmp6Unreach = []string{
	0: "no route to destination", 1: "administratively prohibited", 2: "beyond scope of source address",
	3: "address unreachable", 4: "port unreachable", 5: "source address failed ingress/egress policy",
	6: "reject route to destination",
}

var icmp4Unreach = []string{
	0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
	4: "fragmentation needed", 5: "source route failed", 6: "net unknown", 7: "host unknown",
	8: "source host isolated", 9: "net prohibited", 10: "host prohibited", 11: "net unreachable for TOS",
	12: "host unreachable for TOS", 13: "administratively prohibited", 14: "host precedence violation",
	15: "precedence cutoff",
}

var icmp4Names = map[uint8]string{
	0: "echo reply", 3: "destination unreachable", 4: "source quench", 5: "redirect", 8: "echo request",
	9: "router advertisement", 10: "router solicitation", 11: "time exceeded", 12: "parameter problem",
	13: "timestamp", 14: "timestamp reply",
}

var icmp6Names = map[uint8]string{
	1: "destination unreachable", 2: "packet too big", 3: "time exceeded", 4: "parameter problem",
	128: "echo request", 129: "echo reply", 130: "multicast listener query", 131: "multicast listener report",
	132: "multicast listener done", 133: "router solicitation", 134: "router advertisement",
	135: "neighbor solicitation", 136: "neighbor advertisement", 137: "redirect", 143: "multicast listener report v2",
}

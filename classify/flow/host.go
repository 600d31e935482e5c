package flow

import "net/netip"

// InferHost guesses the capturing host: the address that is an endpoint of
// the most flows (the lowest address among equals), and, for a dual-stack
// host, the most frequent address of the other IP family when no other
// address of that family is as frequent (a tie there is a guess too far).
func InferHost(flows []Flow) []netip.Addr {
	// Counted by the keys' 16-byte addresses, which hash as plain bytes;
	// a netip.Addr made of each also carries a zone pointer to hash.
	count := map[[16]byte]int{}
	for i := range flows {
		k := &flows[i].Key
		count[k.A]++
		if k.B != k.A {
			count[k.B]++
		}
	}
	var best [2]netip.Addr // per family: IPv4, IPv6
	var n [2]int
	var tied [2]bool
	for a16, c := range count {
		a := netip.AddrFrom16(a16).Unmap()
		fam := 0
		if a.Is6() {
			fam = 1
		}
		switch {
		case c > n[fam]:
			best[fam], n[fam], tied[fam] = a, c, false
		case c == n[fam]:
			tied[fam] = true
			if a.Less(best[fam]) {
				best[fam] = a
			}
		}
	}
	first := 0
	if n[1] > n[0] {
		first = 1
	}
	if n[first] == 0 {
		return nil
	}
	out := []netip.Addr{best[first]}
	if other := 1 - first; n[other] > 0 && !tied[other] {
		out = append(out, best[other])
	}
	return out
}

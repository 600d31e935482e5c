package related

import (
	"net/netip"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// maxLines bounds the lines of one payload read for FTP announcements: a
// server may send several replies in one segment, but an announcement is
// one short line.
const maxLines = 16

// learnFTP reads payload line by line for a 227 or 229 reply (from the
// server) or a PORT or EPRT command (from the client). The data connection
// is TCP.
func learnFTP(out []Announcement, base *Announcement, k *flow.Key, side flow.Side, b []byte) []Announcement {
	for n := 0; len(b) > 0 && n < maxLines; n++ {
		line := b
		if i := indexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) < 4 {
			continue
		}
		a := *base
		a.Proto = ipproto.TCP
		ok := false
		switch {
		case line[0] == '2' && line[1] == '2' && line[2] == '7':
			a.How = PASV
			ok = parseHostPort(&a, line[3:], false)
		case line[0] == '2' && line[1] == '2' && line[2] == '9':
			a.How = EPSV
			ok = parseExtended(&a, line[3:], false)
		case hasPrefixFold(line, "PORT "):
			a.How = PORT
			ok = parseHostPort(&a, line[5:], true)
		case hasPrefixFold(line, "EPRT "):
			a.How = EPRT
			ok = parseExtended(&a, line[5:], true)
		}
		if !ok {
			continue
		}
		if a.Addr == ([16]byte{}) || isMappedZero(a.Addr) {
			// A server behind NAT may announce 0.0.0.0 (or EPSV names no
			// address): the connection goes to the announcer.
			a.Addr = addrOf(k, side)
		}
		out = append(out, a)
	}
	return out
}

// parseHostPort reads the six numbers h1,h2,h3,h4,p1,p2 of a PASV reply
// (anywhere in the text, as clients do: RFC 1123 §4.1.2.6) or a PORT
// command (right after it).
func parseHostPort(a *Announcement, b []byte, command bool) bool {
	for i := 0; i < len(b); i++ {
		if !isDigit(b[i]) {
			if command && b[i] != ' ' {
				return false
			}
			continue
		}
		var v [6]int
		j, n := i, 0
		for n < 6 {
			x, used := atoi(b[j:], 255)
			if used == 0 {
				break
			}
			v[n], j = x, j+used
			n++
			if n < 6 {
				if j >= len(b) || b[j] != ',' {
					break
				}
				j++
			}
		}
		if n == 6 {
			a.Addr = netip.AddrFrom4([4]byte{byte(v[0]), byte(v[1]), byte(v[2]), byte(v[3])}).As16()
			a.Port = uint16(v[4]<<8 | v[5])
			return a.Port != 0
		}
		if command {
			return false
		}
		// Skip this run of digits (the reply code's echo, say) and go on.
		for i < len(b) && (isDigit(b[i]) || b[i] == ',') {
			i++
		}
	}
	return false
}

// parseExtended reads the "(|||port|)" of a 229 reply or the
// "|proto|addr|port|" of an EPRT command (RFC 2428 §2, §3); the delimiter
// is whatever character comes first.
func parseExtended(a *Announcement, b []byte, command bool) bool {
	if !command {
		i := indexByte(b, '(')
		if i < 0 {
			return false
		}
		b = b[i+1:]
	}
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	if len(b) < 5 || b[0] < 33 || b[0] > 126 {
		return false
	}
	d := b[0]
	var field [3][]byte
	rest := b[1:]
	for f := range field {
		i := indexByte(rest, d)
		if i < 0 {
			return false
		}
		field[f], rest = rest[:i], rest[i+1:]
	}
	port, used := atoi(field[2], 65535)
	if used == 0 || used != len(field[2]) || port == 0 {
		return false
	}
	a.Port = uint16(port)
	if len(field[1]) == 0 {
		return !command // EPSV names no address; EPRT must
	}
	// The address is rare text: parsing it may allocate.
	addr, err := netip.ParseAddr(string(field[1]))
	if err != nil {
		return false
	}
	switch {
	case len(field[0]) == 1 && field[0][0] == '1' && addr.Is4(),
		len(field[0]) == 1 && field[0][0] == '2' && addr.Is6(),
		len(field[0]) == 0:
	default:
		return false
	}
	a.Addr = addr.As16()
	return true
}

// addrOf returns the 16-byte address of side of k.
func addrOf(k *flow.Key, side flow.Side) [16]byte {
	if side == flow.SideA {
		return k.A
	}
	return k.B
}

func isMappedZero(a [16]byte) bool {
	return a == [16]byte{10: 0xff, 11: 0xff}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// atoi reads a decimal number of at most five digits from the start of b,
// no larger than limit; used is 0 when there is none.
func atoi(b []byte, limit int) (v, used int) {
	for used < len(b) && used < 5 && isDigit(b[used]) {
		v = v*10 + int(b[used]-'0')
		used++
	}
	if used == 0 || v > limit || used < len(b) && isDigit(b[used]) {
		return 0, 0
	}
	return v, used
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// hasPrefixFold reports whether b starts with s (upper-case), ignoring
// ASCII case: FTP commands are case-insensitive (RFC 959 §5.3).
func hasPrefixFold(b []byte, s string) bool {
	if len(b) < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := b[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

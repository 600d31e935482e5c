package related

import (
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// maxTowers bounds the endpoints read from one endpoint mapper response.
const maxTowers = 16

// towerTCPIP is the end of a protocol tower for ncacn_ip_tcp ([C706]
// Appendix I, [MS-RPCE] §2.2.1.1.7 and §2.2.1.1.8): a floor of protocol
// 0x07 (TCP) with a two-byte big-endian port, then a floor of protocol 0x09
// (IP) with a four-byte address. Each floor is a little-endian LHS length
// (1), the protocol, a little-endian RHS length and the RHS.
var towerTCPIP = [...]byte{1, 0, 0x07, 2, 0}

// learnEPM reads a DCE/RPC response PDU from the endpoint mapper (TCP 135)
// and announces every TCP/IP endpoint its towers hold. A response is
// recognised by its header (version 5.0, packet type 2); the towers are
// found by their floors rather than by decoding the ept_map result, whose
// NDR layout varies with the number of towers returned.
func learnEPM(out []Announcement, base *Announcement, k *flow.Key, side flow.Side, b []byte) []Announcement {
	if len(b) < 16 || b[0] != 5 || b[1] != 0 || b[2] != 2 {
		return out
	}
	n := 0
	for i := 16; i+16 <= len(b) && n < maxTowers; i++ {
		if b[i] != 1 || [5]byte(b[i:i+5]) != towerTCPIP || b[i+7] != 1 || b[i+8] != 0 || b[i+9] != 0x09 || b[i+10] != 4 || b[i+11] != 0 {
			continue
		}
		port := uint16(b[i+5])<<8 | uint16(b[i+6])
		if port == 0 {
			continue
		}
		a := *base
		a.How, a.Proto, a.Port = EPM, ipproto.TCP, port
		a.Addr = [16]byte{10: 0xff, 11: 0xff, 12: b[i+12], 13: b[i+13], 14: b[i+14], 15: b[i+15]}
		if isMappedZero(a.Addr) {
			a.Addr = addrOf(k, side)
		}
		out = append(out, a)
		n++
		i += 15
	}
	return out
}

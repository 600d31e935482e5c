package related

import (
	"encoding/binary"
	"net/netip"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// ONC RPC numbers (RFC 5531, RFC 1833).
const (
	progPortmapper = 100000
	procGetport    = 3 // v2 PMAPPROC_GETPORT; v3/v4 RPCBPROC_GETADDR
	procDump       = 4 // v2 PMAPPROC_DUMP; v3/v4 RPCBPROC_DUMP
)

// pendingCalls is how many portmapper calls a Learner remembers while it
// waits for their replies: a client asks a few at a time.
const pendingCalls = 64

// maxDump bounds the entries read from one DUMP reply.
const maxDump = 128

// rpcCall is a portmapper call waiting for its reply.
type rpcCall struct {
	key   flow.Key
	xid   uint32
	vers  uint32
	proc  uint32
	prog  uint32        // the program asked for (GETPORT, GETADDR)
	proto ipproto.Proto // the transport asked for
	used  bool
}

// learnRPC reads an ONC RPC message to or from the portmapper: a call is
// remembered, a reply to a remembered GETPORT, GETADDR or DUMP call
// announces the ports it maps. Over TCP the message follows a record mark
// (RFC 5531 §11); only the first record of a segment is read.
func (l *Learner) learnRPC(out []Announcement, base *Announcement, k *flow.Key, side flow.Side, b []byte) []Announcement {
	if k.Proto == ipproto.TCP {
		if len(b) < 4 {
			return out
		}
		b = b[4:]
	}
	r := xdr{b: b, ok: true}
	xid, mtype := r.u32(), r.u32()
	if !r.ok {
		return out
	}
	if mtype == 0 {
		l.call(k, xid, &r)
		return out
	}
	if mtype != 1 {
		return out
	}
	c := l.take(k, xid)
	if c == nil {
		return out
	}
	// reply_stat MSG_ACCEPTED, verifier, accept_stat SUCCESS.
	if r.u32() != 0 {
		return out
	}
	r.u32()
	r.opaque()
	if r.u32() != 0 || !r.ok {
		return out
	}
	server := addrOf(k, side)
	switch {
	case c.vers == 2 && c.proc == procGetport:
		port := r.u32()
		if r.ok && port > 0 && port <= 65535 {
			a := *base
			a.How, a.Proto, a.Port, a.Addr, a.Program = GETPORT, c.proto, uint16(port), server, c.prog
			out = append(out, a)
		}
	case c.vers >= 3 && c.proc == procGetport:
		uaddr := r.opaque()
		a := *base
		a.How, a.Proto, a.Program = GETADDR, c.proto, c.prog
		if r.ok && parseUaddr(&a, uaddr, server) {
			out = append(out, a)
		}
	case c.proc == procDump:
		for n := 0; n < maxDump && r.u32() == 1 && r.ok; n++ {
			a := *base
			a.How, a.Program = DUMP, r.u32()
			r.u32() // version
			if c.vers == 2 {
				a.Proto, a.Addr = ipproto.Proto(r.u32()), server
				port := r.u32()
				if !r.ok || port == 0 || port > 65535 {
					break
				}
				a.Port = uint16(port)
			} else {
				a.Proto = netidProto(r.opaque())
				uaddr := r.opaque()
				r.opaque() // owner
				if !r.ok || !parseUaddr(&a, uaddr, server) {
					continue
				}
			}
			if a.Proto == ipproto.TCP || a.Proto == ipproto.UDP {
				out = append(out, a)
			}
		}
	}
	return out
}

// call remembers a portmapper GETPORT/GETADDR or DUMP call.
func (l *Learner) call(k *flow.Key, xid uint32, r *xdr) {
	rpcvers, prog, vers, proc := r.u32(), r.u32(), r.u32(), r.u32()
	if !r.ok || rpcvers != 2 || prog != progPortmapper || vers < 2 || vers > 4 || (proc != procGetport && proc != procDump) {
		return
	}
	r.u32()
	r.opaque() // credential
	r.u32()
	r.opaque() // verifier
	c := rpcCall{key: *k, xid: xid, vers: vers, proc: proc, used: true}
	if proc == procGetport {
		c.prog = r.u32()
		r.u32() // version
		if vers == 2 {
			c.proto = ipproto.Proto(r.u32())
		} else {
			c.proto = netidProto(r.opaque())
		}
		if !r.ok || (c.proto != ipproto.TCP && c.proto != ipproto.UDP) {
			return
		}
	}
	l.calls[l.next] = c
	l.next = (l.next + 1) % pendingCalls
}

// take returns and forgets the call of flow k with transaction xid.
func (l *Learner) take(k *flow.Key, xid uint32) *rpcCall {
	for i := range l.calls {
		c := &l.calls[i]
		if c.used && c.xid == xid && c.key == *k {
			c.used = false
			return c
		}
	}
	return nil
}

// netidProto maps an rpcbind network id ("tcp", "udp6", ...) to its
// transport.
func netidProto(b []byte) ipproto.Proto {
	switch string(b) {
	case "tcp", "tcp6":
		return ipproto.TCP
	case "udp", "udp6":
		return ipproto.UDP
	}
	return ipproto.Unknown
}

// parseUaddr reads a universal address (RFC 5665 §5.2.3.3, RFC 1833 §2.1):
// the address's text, then ".p1.p2". An unspecified address (0.0.0.0, ::)
// means the server's.
func parseUaddr(a *Announcement, b []byte, server [16]byte) bool {
	dot2 := lastIndexByte(b, '.')
	if dot2 <= 0 {
		return false
	}
	dot1 := lastIndexByte(b[:dot2], '.')
	if dot1 <= 0 {
		return false
	}
	hi, u1 := atoi(b[dot1+1:dot2], 255)
	lo, u2 := atoi(b[dot2+1:], 255)
	if u1 != dot2-dot1-1 || u2 != len(b)-dot2-1 || u1 == 0 || u2 == 0 {
		return false
	}
	// Rare: only a reply that maps a program parses an address.
	addr, err := netip.ParseAddr(string(b[:dot1]))
	if err != nil {
		return false
	}
	a.Port = uint16(hi<<8 | lo)
	a.Addr = addr.As16()
	if addr.IsUnspecified() {
		a.Addr = server
	}
	return a.Port != 0
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// xdr reads big-endian XDR items (RFC 4506); ok turns false, for good, at
// the first item that does not fit.
type xdr struct {
	b  []byte
	ok bool
}

func (r *xdr) u32() uint32 {
	if len(r.b) < 4 {
		r.ok, r.b = false, nil
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

// opaque reads a variable-length opaque or string (length, bytes, padding
// to four).
func (r *xdr) opaque() []byte {
	n := r.u32()
	if !r.ok || n > uint32(len(r.b)) {
		r.ok, r.b = false, nil
		return nil
	}
	v := r.b[:n]
	pad := (int(n) + 3) &^ 3
	if pad > len(r.b) {
		pad = len(r.b)
	}
	r.b = r.b[pad:]
	return v
}

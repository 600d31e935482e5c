package service

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/net/dns/dnsmessage"
)

var (
	errDNSQuery = errors.New("dns message is a query")
	errDNSShort = errors.New("dns message cut short")
)

// maxCNAMEHops bounds how many CNAMEs DNSAnswers follows from the question,
// so that a loop in a malformed or hostile response ends.
const maxCNAMEHops = 16

// DNSAnswers calls fn once for every A and AAAA record of a DNS response,
// with the name the client asked for (the question name, lower-case, without
// the trailing dot) and the address. CNAME chains in the answer section are
// followed from the question, so a client that asked for www.example.com
// learns the address that the chain ends in under that name; when the
// record's owner name differs from the question, fn is called a second time
// with the owner name. A/AAAA records in the answer section that the chain
// does not reach, and those in the additional section (such as the targets
// of an SRV answer), are reported under their owner name only.
//
// tcp means msg starts with the two-byte length prefix used over TCP; only
// the first message is read, and it must be whole. Queries (QR=0) and
// malformed or truncated messages return an error and fn is not called: the
// whole message is parsed before the first call.
func DNSAnswers(msg []byte, tcp bool, fn func(name string, addr netip.Addr)) error {
	var r DNSReader
	return r.Answers(msg, tcp, fn)
}

// DNSReader is DNSAnswers with buffers kept between calls, so that a reader
// of many answers allocates nothing once its buffers have grown (names with
// non-ASCII bytes excepted). The names fn receives alias those buffers: they
// are valid until the next call of Answers, and must be copied to be kept
// (names.Table.Add copies). The zero value is ready to use; a DNSReader must
// not be used by two goroutines at once.
type DNSReader struct {
	p      dnsmessage.Parser
	buf    []byte // the bytes of this message's names
	addrs  []addrRecord
	cnames [][2]string // owner, target
	chain  []string
}

type addrRecord struct {
	owner  string
	addr   netip.Addr
	answer bool
}

// Answers does what DNSAnswers does, with r's buffers.
func (r *DNSReader) Answers(msg []byte, tcp bool, fn func(name string, addr netip.Addr)) error {
	if tcp {
		if len(msg) < 2 {
			return errDNSShort
		}
		n := int(binary.BigEndian.Uint16(msg))
		if len(msg)-2 < n {
			return fmt.Errorf("dns over tcp: %w: %d of %d bytes", errDNSShort, len(msg)-2, n)
		}
		msg = msg[2 : 2+n]
	}
	r.buf, r.addrs, r.cnames = r.buf[:0], r.addrs[:0], r.cnames[:0]
	p := &r.p
	h, err := p.Start(msg)
	if err != nil {
		return fmt.Errorf("parse dns header: %w", err)
	}
	if !h.Response {
		return errDNSQuery
	}
	var question string
	switch q, err := p.Question(); {
	case err == nil:
		question = r.name(&q.Name)
	case !errors.Is(err, dnsmessage.ErrSectionDone):
		return fmt.Errorf("parse dns question: %w", err)
	}
	if err := p.SkipAllQuestions(); err != nil {
		return fmt.Errorf("parse dns questions: %w", err)
	}

	for {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return fmt.Errorf("parse dns answer: %w", err)
		}
		switch rh.Type {
		case dnsmessage.TypeA:
			a, err := p.AResource()
			if err != nil {
				return fmt.Errorf("parse dns A answer: %w", err)
			}
			r.addrs = append(r.addrs, addrRecord{r.name(&rh.Name), netip.AddrFrom4(a.A), true})
		case dnsmessage.TypeAAAA:
			a, err := p.AAAAResource()
			if err != nil {
				return fmt.Errorf("parse dns AAAA answer: %w", err)
			}
			r.addrs = append(r.addrs, addrRecord{r.name(&rh.Name), netip.AddrFrom16(a.AAAA), true})
		case dnsmessage.TypeCNAME:
			c, err := p.CNAMEResource()
			if err != nil {
				return fmt.Errorf("parse dns CNAME answer: %w", err)
			}
			r.cnames = append(r.cnames, [2]string{r.name(&rh.Name), r.name(&c.CNAME)})
		default:
			if err := p.SkipAnswer(); err != nil {
				return fmt.Errorf("parse dns answer: %w", err)
			}
		}
	}
	if err := p.SkipAllAuthorities(); err != nil {
		return fmt.Errorf("parse dns authority: %w", err)
	}
	for {
		rh, err := p.AdditionalHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return fmt.Errorf("parse dns additional: %w", err)
		}
		switch rh.Type {
		case dnsmessage.TypeA:
			a, err := p.AResource()
			if err != nil {
				return fmt.Errorf("parse dns A additional: %w", err)
			}
			r.addrs = append(r.addrs, addrRecord{r.name(&rh.Name), netip.AddrFrom4(a.A), false})
		case dnsmessage.TypeAAAA:
			a, err := p.AAAAResource()
			if err != nil {
				return fmt.Errorf("parse dns AAAA additional: %w", err)
			}
			r.addrs = append(r.addrs, addrRecord{r.name(&rh.Name), netip.AddrFrom16(a.AAAA), false})
		default:
			if err := p.SkipAdditional(); err != nil {
				return fmt.Errorf("parse dns additional: %w", err)
			}
		}
	}

	r.chain = cnameChain(r.chain[:0], question, r.cnames)
	for _, a := range r.addrs {
		if a.answer && question != "" && slices.Contains(r.chain, a.owner) {
			fn(question, a.addr)
			if a.owner == question {
				continue
			}
		}
		if a.owner != "" {
			fn(a.owner, a.addr)
		}
	}
	return nil
}

// cnameChain appends to chain the names reached from name by following
// CNAMEs, name first, at most maxCNAMEHops steps; a loop ends it. The first
// CNAME of a name counts. The work is at most maxCNAMEHops passes over the
// records, linear in their number whatever a hostile response holds.
func cnameChain(chain []string, name string, cnames [][2]string) []string {
	if name == "" {
		return chain
	}
	chain = append(chain, name)
	for range maxCNAMEHops {
		i := slices.IndexFunc(cnames, func(c [2]string) bool { return c[0] == name })
		if i < 0 || slices.Contains(chain, cnames[i][1]) {
			break
		}
		name = cnames[i][1]
		chain = append(chain, name)
	}
	return chain
}

// name returns n lower-cased (ASCII) and without the trailing dot, in r.buf.
// Growing r.buf moves later names, never earlier ones: a string made here
// keeps the array it points into.
func (r *DNSReader) name(n *dnsmessage.Name) string {
	b := bytes.TrimSuffix(n.Data[:n.Length], []byte("."))
	if len(b) == 0 {
		return ""
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return dnsName(*n) // strings.ToLower's rules for the rest
		}
	}
	start := len(r.buf)
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		r.buf = append(r.buf, c)
	}
	return unsafe.String(&r.buf[start], len(b))
}

// dnsName returns n lower-cased (ASCII) and without the trailing dot.
func dnsName(n dnsmessage.Name) string {
	return strings.ToLower(strings.TrimSuffix(n.String(), "."))
}

package service

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

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
	var p dnsmessage.Parser
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
		question = dnsName(q.Name)
	case !errors.Is(err, dnsmessage.ErrSectionDone):
		return fmt.Errorf("parse dns question: %w", err)
	}
	if err := p.SkipAllQuestions(); err != nil {
		return fmt.Errorf("parse dns questions: %w", err)
	}

	type addrRecord struct {
		owner  string
		addr   netip.Addr
		answer bool
	}
	var addrs []addrRecord
	var cnames [][2]string // owner, target
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
			r, err := p.AResource()
			if err != nil {
				return fmt.Errorf("parse dns A answer: %w", err)
			}
			addrs = append(addrs, addrRecord{dnsName(rh.Name), netip.AddrFrom4(r.A), true})
		case dnsmessage.TypeAAAA:
			r, err := p.AAAAResource()
			if err != nil {
				return fmt.Errorf("parse dns AAAA answer: %w", err)
			}
			addrs = append(addrs, addrRecord{dnsName(rh.Name), netip.AddrFrom16(r.AAAA), true})
		case dnsmessage.TypeCNAME:
			r, err := p.CNAMEResource()
			if err != nil {
				return fmt.Errorf("parse dns CNAME answer: %w", err)
			}
			cnames = append(cnames, [2]string{dnsName(rh.Name), dnsName(r.CNAME)})
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
			r, err := p.AResource()
			if err != nil {
				return fmt.Errorf("parse dns A additional: %w", err)
			}
			addrs = append(addrs, addrRecord{dnsName(rh.Name), netip.AddrFrom4(r.A), false})
		case dnsmessage.TypeAAAA:
			r, err := p.AAAAResource()
			if err != nil {
				return fmt.Errorf("parse dns AAAA additional: %w", err)
			}
			addrs = append(addrs, addrRecord{dnsName(rh.Name), netip.AddrFrom16(r.AAAA), false})
		default:
			if err := p.SkipAdditional(); err != nil {
				return fmt.Errorf("parse dns additional: %w", err)
			}
		}
	}

	chain := cnameChain(question, cnames)
	for _, r := range addrs {
		if r.answer && question != "" && slices.Contains(chain, r.owner) {
			fn(question, r.addr)
			if r.owner == question {
				continue
			}
		}
		if r.owner != "" {
			fn(r.owner, r.addr)
		}
	}
	return nil
}

// cnameChain returns the names reached from name by following CNAMEs,
// name first, at most maxCNAMEHops steps; a loop ends it. The work is linear
// in the number of records, whatever a hostile response holds.
func cnameChain(name string, cnames [][2]string) []string {
	if name == "" {
		return nil
	}
	chain := []string{name}
	if len(cnames) == 0 {
		return chain
	}
	target := make(map[string]string, len(cnames))
	for _, c := range cnames {
		if _, dup := target[c[0]]; !dup {
			target[c[0]] = c[1] // the first CNAME of a name counts
		}
	}
	for range maxCNAMEHops {
		next, ok := target[name]
		if !ok || slices.Contains(chain, next) {
			break
		}
		chain = append(chain, next)
		name = next
	}
	return chain
}

// dnsName returns n lower-cased (ASCII) and without the trailing dot.
func dnsName(n dnsmessage.Name) string {
	return strings.ToLower(strings.TrimSuffix(n.String(), "."))
}

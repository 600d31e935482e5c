package service

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// rr is a resource record for buildDNS: an A/AAAA address or a CNAME target.
type rr struct {
	name, cname string
	addr        netip.Addr
}

// buildDNS packs a DNS message with dnsmessage.Builder.
func buildDNS(t testing.TB, response bool, question string, answers, additionals []rr) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0x1234, Response: response, RecursionDesired: true})
	b.EnableCompression()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.StartQuestions())
	if question != "" {
		must(b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(question), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}))
	}
	add := func(r rr) {
		h := dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(r.name), Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case r.cname != "":
			must(b.CNAMEResource(h, dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(r.cname)}))
		case r.addr.Is4():
			must(b.AResource(h, dnsmessage.AResource{A: r.addr.As4()}))
		default:
			must(b.AAAAResource(h, dnsmessage.AAAAResource{AAAA: r.addr.As16()}))
		}
	}
	must(b.StartAnswers())
	for _, r := range answers {
		add(r)
	}
	must(b.StartAdditionals())
	for _, r := range additionals {
		add(r)
	}
	msg, err := b.Finish()
	must(err)
	return msg
}

func collect(msg []byte, tcp bool) ([]dnsCall, error) {
	var calls []dnsCall
	err := DNSAnswers(msg, tcp, func(name string, addr netip.Addr) {
		calls = append(calls, dnsCall{name, addr})
	})
	return calls, err
}

func TestDNSAnswers(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name        string
		question    string
		answers     []rr
		additionals []rr
		want        []dnsCall
	}{
		{
			name:     "direct",
			question: "WWW.Example.COM.",
			answers:  []rr{{name: "www.example.com.", addr: a("192.0.2.1")}, {name: "www.example.com.", addr: a("2001:db8::1")}},
			want:     []dnsCall{{"www.example.com", a("192.0.2.1")}, {"www.example.com", a("2001:db8::1")}},
		},
		{
			name:     "cname chain",
			question: "www.example.com.",
			answers: []rr{
				{name: "www.example.com.", cname: "www.example.net."},
				{name: "www.example.net.", cname: "edge.cdn.example."},
				{name: "edge.cdn.example.", addr: a("198.51.100.7")},
			},
			want: []dnsCall{{"www.example.com", a("198.51.100.7")}, {"edge.cdn.example", a("198.51.100.7")}},
		},
		{
			name:     "record off the chain",
			question: "a.example.",
			answers:  []rr{{name: "a.example.", cname: "b.example."}, {name: "c.example.", addr: a("192.0.2.9")}},
			want:     []dnsCall{{"c.example", a("192.0.2.9")}},
		},
		{
			name:     "cname loop",
			question: "a.example.",
			answers: []rr{
				{name: "a.example.", cname: "b.example."},
				{name: "b.example.", cname: "a.example."},
				{name: "b.example.", addr: a("192.0.2.2")},
			},
			want: []dnsCall{{"a.example", a("192.0.2.2")}, {"b.example", a("192.0.2.2")}},
		},
		{
			name:        "additional glue",
			question:    "_ldap._tcp.dc.example.",
			additionals: []rr{{name: "DC1.example.", addr: a("192.0.2.10")}},
			want:        []dnsCall{{"dc1.example", a("192.0.2.10")}},
		},
		{
			name:    "no question",
			answers: []rr{{name: "host.local.", addr: a("10.0.0.5")}},
			want:    []dnsCall{{"host.local", a("10.0.0.5")}},
		},
		{
			name:     "cname only",
			question: "a.example.",
			answers:  []rr{{name: "a.example.", cname: "b.example."}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := buildDNS(t, true, tt.question, tt.answers, tt.additionals)
			got, err := collect(msg, false)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("DNSAnswers = %v, %v\nwant %v", got, err, tt.want)
			}
			framed := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
			framed = append(framed, msg...)
			framed = append(framed, 0, 12) // the start of a next message is ignored
			if got, err := collect(framed, true); err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("DNSAnswers(tcp) = %v, %v\nwant %v", got, err, tt.want)
			}
		})
	}
}

func TestDNSAnswersErrors(t *testing.T) {
	a := netip.MustParseAddr
	resp := buildDNS(t, true, "x.example.", []rr{{name: "x.example.", addr: a("192.0.2.1")}}, nil)
	query := buildDNS(t, false, "x.example.", nil, nil)
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
	framed = append(framed, resp...)
	for name, tc := range map[string]struct {
		msg []byte
		tcp bool
	}{
		"query":              {query, false},
		"empty":              {nil, false},
		"cut header":         {resp[:8], false},
		"cut answer":         {resp[:len(resp)-2], false},
		"tcp no prefix":      {[]byte{0}, true},
		"tcp cut":            {framed[:len(framed)-1], true},
		"udp message as tcp": {resp, true},
	} {
		calls, err := collect(tc.msg, tc.tcp)
		if err == nil || len(calls) > 0 {
			t.Errorf("%s: DNSAnswers = %v, %v; want an error and no calls", name, calls, err)
		}
	}
}

// TestDNSAnswersLarge checks that a hostile response with thousands of
// CNAMEs and addresses is read in linear time.
func TestDNSAnswersLarge(t *testing.T) {
	var answers []rr
	for i := range 1500 {
		answers = append(answers, rr{name: fmt.Sprintf("n%d.example.", i), cname: fmt.Sprintf("n%d.example.", i+1)})
	}
	for i := range 1500 {
		answers = append(answers, rr{name: fmt.Sprintf("n%d.example.", i%20), addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})})
	}
	msg := buildDNS(t, true, "n0.example.", answers, nil)
	start := time.Now()
	calls, err := collect(msg, false)
	if err != nil {
		t.Fatal(err)
	}
	// n0..n16 are on the chain (16 hops): their records are reported under
	// n0 and, except n0's own, under their owner too.
	if want := 1500 + 1500/20*16; len(calls) != want {
		t.Errorf("%d calls for 1500 addresses, want %d", len(calls), want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("DNSAnswers took %v on a 3000-record message", d)
	}
}

package service

import (
	"net/netip"
	"testing"
)

// TestDNSReaderNoAllocs: once its buffers have grown, a DNSReader parses an
// answer with a CNAME chain and both address families without allocating,
// and the names it hands out are right while the call lasts.
func TestDNSReaderNoAllocs(t *testing.T) {
	msg := buildDNS(t, true, "WWW.Example.com.", []rr{
		{name: "www.example.com.", cname: "edge.cdn.example.net."},
		{name: "edge.cdn.example.net.", addr: netip.MustParseAddr("192.0.2.7")},
		{name: "edge.cdn.example.net.", addr: netip.MustParseAddr("2001:db8::7")},
	}, []rr{{name: "ns1.example.net.", addr: netip.MustParseAddr("192.0.2.53")}})
	var r DNSReader
	var got []dnsCall
	keep := func(name string, addr netip.Addr) { got = append(got, dnsCall{string([]byte(name)), addr}) }
	if err := r.Answers(msg, false, keep); err != nil {
		t.Fatal(err)
	}
	want := []dnsCall{
		{"www.example.com", netip.MustParseAddr("192.0.2.7")},
		{"edge.cdn.example.net", netip.MustParseAddr("192.0.2.7")},
		{"www.example.com", netip.MustParseAddr("2001:db8::7")},
		{"edge.cdn.example.net", netip.MustParseAddr("2001:db8::7")},
		{"ns1.example.net", netip.MustParseAddr("192.0.2.53")},
	}
	if len(got) != len(want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calls %v, want %v", got, want)
		}
	}
	n := 0
	count := func(string, netip.Addr) { n++ }
	allocs := testing.AllocsPerRun(100, func() {
		if err := r.Answers(msg, false, count); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per answer, want 0", allocs)
	}
}

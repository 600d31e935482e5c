//go:build linux && (amd64 || arm64)

package bpf

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/wirecheck/wirecheck/bpf/internal/counter"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// receive reads n records from NewFlows, failing after a timeout.
func receive(t *testing.T, c *Counter, n int) []NewFlow {
	t.Helper()
	var got []NewFlow
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case nf := <-c.NewFlows():
			got = append(got, nf)
		case <-timeout:
			t.Fatalf("received %d new flows, want %d", len(got), n)
		}
	}
	return got
}

// noMore checks that NewFlows stays quiet.
func noMore(t *testing.T, c *Counter) {
	t.Helper()
	select {
	case nf := <-c.NewFlows():
		t.Errorf("unexpected new flow %+v", nf)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestNewFlowsReportsFlowsNoRuleCovers(t *testing.T) {
	c := loadCounter(t, Options{ServerPorts: []PortKey{{ipproto.TCP, 443}, {ipproto.UDP, 53}}})
	before := time.Now().UnixNano()
	for range 2 { // the second round adds packets to existing flows: no records
		c.run(t, tcp4(t, true, 40000, 443, "S", ""))                                       // covered (server side)
		c.run(t, tcp4(t, false, 40000, 443, "SA", ""))                                     // same flow
		c.run(t, udp4(t, srv4, cli4, 53, 50000, "answer"))                                 // covered (first sender's side)
		c.run(t, udp4(t, cli4, srv4, 40001, 5000, "nfs?"))                                 // not covered
		c.run(t, tcp4(t, false, 40002, 8443, "SA", ""))                                    // not covered; the server sent first
		c.run(t, icmpUnreachable4(t, srv4, cli4, 3, udp4(t, cli4, srv4, 40003, 6000, ""))) // not covered, from a quote
	}
	after := time.Now().UnixNano()
	got := receive(t, c, 3)
	noMore(t, c)

	want := []struct {
		key   flow.Key
		first netip.Addr
	}{
		{flow.MakeKey(ipproto.UDP, netip.MustParseAddrPort("10.0.0.5:40001"), netip.MustParseAddrPort("198.51.100.10:5000")), netip.MustParseAddr("10.0.0.5")},
		{flow.MakeKey(ipproto.TCP, netip.MustParseAddrPort("10.0.0.5:40002"), netip.MustParseAddrPort("198.51.100.10:8443")), netip.MustParseAddr("198.51.100.10")},
		{flow.MakeKey(ipproto.UDP, netip.MustParseAddrPort("10.0.0.5:40003"), netip.MustParseAddrPort("198.51.100.10:6000")), netip.MustParseAddr("10.0.0.5")},
	}
	for i, w := range want {
		nf := got[i]
		if nf.Key != w.key || nf.Key.Addr(nf.First) != w.first {
			t.Errorf("record %d: key %+v first %v, want %+v first %v", i, nf.Key, nf.Key.Addr(nf.First), w.key, w.first)
		}
		if nf.Time < before-int64(time.Millisecond) || nf.Time > after+int64(time.Millisecond) {
			t.Errorf("record %d: time %d not within [%d, %d]", i, nf.Time, before, after)
		}
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Created != 5 || st.RingDrops != 0 {
		t.Errorf("created %d ring drops %d, want 5 and 0", st.Created, st.RingDrops)
	}
}

func TestNewFlowsICMPRule(t *testing.T) {
	c := loadCounter(t, Options{ServerPorts: []PortKey{{ipproto.ICMPv4, 0}}})
	echo := func(id uint16) []byte {
		return build(t, eth(layers.EthernetTypeIPv4), ip4(cli4, srv4, layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: id})
	}
	c.run(t, echo(1))
	c.run(t, echo(2))
	c.run(t, build(t, eth(layers.EthernetTypeIPv6), ip6(cli6, srv6, layers.IPProtocolICMPv6),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, gopacket.Payload([]byte{0, 3, 0, 1})))
	got := receive(t, c, 1)
	noMore(t, c)
	if got[0].Key.Proto != ipproto.ICMPv6 || got[0].Key.APort != 3 {
		t.Errorf("record %+v, want the ICMPv6 echo (ICMPv4 is covered by the rule)", got[0].Key)
	}
	if _, err := Load(Options{ServerPorts: []PortKey{{ipproto.ICMPv4, 8}}}); err == nil {
		t.Errorf("Load accepted an ICMP rule with a port")
	}
}

// TestRingDropsAreCounted fills a one-page ring buffer while nobody reads
// NewFlows: every uncovered flow is either delivered or counted as dropped.
func TestRingDropsAreCounted(t *testing.T) {
	c := loadCounter(t, Options{RingBytes: 4096})
	const flows = 3000
	for i := range flows {
		c.run(t, udp4(t, cli4, srv4, uint16(10000+i), 9999, ""))
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.RingDrops == 0 {
		t.Fatalf("no ring drops with %d records for a channel of %d and a page of ring", flows, eventBuffer)
	}
	delivered := uint64(0)
	for done := false; !done; {
		select {
		case <-c.NewFlows():
			delivered++
		case <-time.After(200 * time.Millisecond):
			done = true
		}
	}
	if delivered+st.RingDrops != flows || st.Created != flows {
		t.Errorf("delivered %d + dropped %d != %d flows created (%d)", delivered, st.RingDrops, flows, st.Created)
	}
}

// TestEvictionAccounting overfills a small map: the flows the LRU evicted
// are exactly those created and neither live nor swept.
func TestEvictionAccounting(t *testing.T) {
	c := loadCounter(t, Options{MaxFlows: 256})
	const flows = 2000
	for i := range flows {
		c.run(t, udp4(t, cli4, srv4, uint16(10000+i), 9999, ""))
	}
	swept, err := c.Sweep(time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		c.run(t, udp4(t, cli4, srv4, uint16(20000+i), 9999, ""))
	}
	fs, err := c.Flows()
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Created != flows+100 || st.Live != uint64(len(fs)) || st.Swept != uint64(len(swept)) {
		t.Errorf("created %d live %d (flows %d) swept %d (%d)", st.Created, st.Live, len(fs), st.Swept, len(swept))
	}
	if st.Evicted == 0 || st.Evicted+st.Live+st.Swept != st.Created {
		t.Errorf("evicted %d + live %d + swept %d != created %d", st.Evicted, st.Live, st.Swept, st.Created)
	}
	if st.Losses() < st.Evicted {
		t.Errorf("losses %d do not include the %d evictions", st.Losses(), st.Evicted)
	}
}

func TestSweepRemovesIdleFlows(t *testing.T) {
	c := loadCounter(t, Options{})
	old := udp4(t, cli4, srv4, 40000, 2049, "old")
	c.run(t, old)
	c.run(t, old)
	time.Sleep(20 * time.Millisecond)
	cut := time.Now()
	time.Sleep(time.Millisecond)
	c.run(t, udp4(t, cli4, srv4, 40001, 2049, "new"))

	swept, err := c.Sweep(cut)
	if err != nil {
		t.Fatal(err)
	}
	if len(swept) != 1 || swept[0].Key.Port(swept[0].FirstSide) != 40000 || swept[0].Packets[swept[0].FirstSide] != 2 {
		t.Fatalf("swept %+v, want the idle flow with its 2 packets", swept)
	}
	if swept[0].Last >= cut.UnixNano() {
		t.Errorf("swept flow's last packet %d is not before the cut %d", swept[0].Last, cut.UnixNano())
	}
	fs, _ := c.Flows()
	if len(fs) != 1 || fs[0].Key.Port(fs[0].FirstSide) != 40001 {
		t.Errorf("left %+v, want the active flow", fs)
	}
	c.run(t, old) // the swept flow comes back as a new one
	st, _ := c.Stats()
	if st.Swept != 1 || st.Created != 3 || st.Live != 2 || st.Evicted != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFlowTimesAreUnixTime(t *testing.T) {
	c := loadCounter(t, Options{})
	before := time.Now().UnixNano()
	c.run(t, tcp4(t, true, 40000, 443, "S", ""))
	time.Sleep(5 * time.Millisecond)
	c.run(t, tcp4(t, false, 40000, 443, "SA", ""))
	after := time.Now().UnixNano()
	fs, _ := c.Flows()
	f := oneFlow(t, fs)
	slack := int64(time.Millisecond)
	if f.First < before-slack || f.Last > after+slack || f.Last-f.First < int64(4*time.Millisecond) {
		t.Errorf("first %d last %d, want within [%d, %d] and 5ms apart", f.First, f.Last, before, after)
	}
}

func TestAttachMissingInterface(t *testing.T) {
	c := loadCounter(t, Options{})
	err := c.Attach("wc-nosuch0")
	if !errors.Is(err, ErrNoInterface) || err.Error() != "interface wc-nosuch0: no such interface" {
		t.Errorf("Attach = %v, want %q", err, "interface wc-nosuch0: no such interface")
	}
}

func TestClosedCounter(t *testing.T) {
	c := loadCounter(t, Options{})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-c.NewFlows(); ok {
		t.Errorf("NewFlows is open after Close")
	}
	if _, err := c.Flows(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flows after Close: %v", err)
	}
	if err := c.Attach("lo"); !errors.Is(err, ErrClosed) {
		t.Errorf("Attach after Close: %v", err)
	}
}

func TestLoadOptionErrors(t *testing.T) {
	for _, o := range []Options{{RingBytes: 5000}, {RingBytes: 1024}, {MaxFlows: -1}} {
		if _, err := Load(o); err == nil || !strings.Contains(err.Error(), "load flow counter:") {
			t.Errorf("Load(%+v) = %v, want an option error", o, err)
		}
	}
}

func TestLoadErrorSaysWhatToDo(t *testing.T) {
	err := loadError(errors.Join(errors.New("map create"), unix.EPERM))
	// The command line adds the other engine (cmd/wirecheck's advice).
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "run as root or grant CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON") ||
		strings.Contains(err.Error(), "--engine") {
		t.Errorf("loadError(EPERM) = %v", err)
	}
	if err := loadError(errors.New("other")); errors.Is(err, ErrPermission) {
		t.Errorf("loadError(other) = %v", err)
	}
}

// TestMergeFlow checks how per-CPU shares are summed, without the kernel.
func TestMergeFlow(t *testing.T) {
	k := &counter.ProgFlowKey{A: addr16(cli4), B: addr16(srv4), A_port: 40000, B_port: 443, Proto: 6}
	from := addr16(net.IP{192, 0, 2, 1})
	per := []counter.ProgFlowStats{
		{Packets: [2]uint64{1, 2}, Bytes: [2]uint64{60, 120}, Payload: [2]uint64{0, 10}, Flags: [2]uint8{0x10, 0x12},
			FirstNs: 200, LastNs: 900, FirstSide: 1, Unreachable: 1, UnreachNs: 800, UnreachType: 3, UnreachCode: 1, UnreachFrom: from},
		{}, // a CPU that never saw the flow
		{Packets: [2]uint64{3, 0}, Bytes: [2]uint64{180, 0}, Syns: [2]uint32{1, 0}, Flags: [2]uint8{0x02, 0},
			FirstNs: 100, LastNs: 500, FirstSide: 0, Unreachable: 1, UnreachNs: 300, UnreachType: 3, UnreachCode: 3, Fragments: 2},
	}
	f := mergeFlow(k, per, 1000)
	want := flow.Flow{
		Key:     flow.Key{A: k.A, B: k.B, APort: 40000, BPort: 443, Proto: ipproto.TCP},
		Packets: [2]uint64{4, 2}, Bytes: [2]uint64{240, 120}, Payload: [2]uint64{0, 10},
		Flags: [2]uint8{0x12, 0x12}, SYNs: [2]uint32{1, 0},
		First: 1100, Last: 1900, FirstSide: 0, Fragments: 2,
		Unreachable: 2, UnreachableType: 3, UnreachableCode: 1, UnreachableFrom: from,
	}
	if f != want {
		t.Errorf("merged\n %+v\nwant\n %+v", f, want)
	}

	// A flow known only from an ICMP error on one CPU, while another CPU's
	// share is empty.
	icmpOnly := []counter.ProgFlowStats{{}, {FirstNs: 50, LastNs: 50, FirstSide: 1, Unreachable: 1, UnreachNs: 50, UnreachType: 3, UnreachCode: 3}}
	f = mergeFlow(k, icmpOnly, 0)
	if f.First != 50 || f.Last != 50 || f.FirstSide != 1 || f.Unreachable != 1 {
		t.Errorf("icmp-only flow: first %d last %d side %d unreachable %d", f.First, f.Last, f.FirstSide, f.Unreachable)
	}
	// Once a packet is seen, its CPU's first time wins over an earlier ICMP
	// creation on another CPU, as in flow.Table.
	icmpThenPacket := []counter.ProgFlowStats{{FirstNs: 10, LastNs: 10, FirstSide: 1, Unreachable: 1, UnreachNs: 10}, {Packets: [2]uint64{1, 0}, FirstNs: 20, LastNs: 20}}
	f = mergeFlow(k, icmpThenPacket, 0)
	if f.First != 20 || f.FirstSide != 0 || f.Last != 20 {
		t.Errorf("icmp then packet: first %d side %d last %d", f.First, f.FirstSide, f.Last)
	}
}

func TestDecodeNewFlow(t *testing.T) {
	raw := make([]byte, 56)
	raw[15] = 1                // a = ::1
	raw[31] = 2                // b = ::2
	raw[32], raw[33] = 0x50, 0 // a_port 80 (little endian)
	raw[34], raw[35] = 0x90, 0x1f
	raw[36] = 6
	raw[40] = 100 // time
	raw[48] = 1   // first side
	nf, ok := decodeNewFlow(raw, 5)
	if !ok || nf.Key.APort != 80 || nf.Key.BPort != 8080 || nf.Key.Proto != ipproto.TCP || nf.Time != 105 || nf.First != flow.SideB || nf.Key.A[15] != 1 || nf.Key.B[15] != 2 {
		t.Errorf("decoded %+v ok=%v", nf, ok)
	}
	if _, ok := decodeNewFlow(raw[:20], 0); ok {
		t.Errorf("decoded a short record")
	}
}

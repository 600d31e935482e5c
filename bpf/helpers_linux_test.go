//go:build linux && (amd64 || arm64)

package bpf

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/wirecheck/wirecheck/bpf/internal/counter"
	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/internal/frametest"
)

// tcActUnspec is what the program must return for every packet: TC_ACT_UNSPEC
// (TCX_NEXT), as Program.Run reports it.
const tcActUnspec = 0xffffffff

// The frames are made by frametest (gopacket), not by the code under test.
var (
	build    = frametest.Build
	eth      = frametest.Eth
	ip4      = frametest.IPv4
	ip6      = frametest.IPv6
	hopByHop = frametest.HopByHop
	mac1     = frametest.MAC1
	mac2     = frametest.MAC2
	cli4     = net.IP{10, 0, 0, 5}
	srv4     = net.IP{198, 51, 100, 10}
	cli6     = net.ParseIP("fd00::5")
	srv6     = net.ParseIP("fd00::1")
)

// tcp4 is a TCP segment between the IPv4 client and server; fromClient
// picks the direction.
func tcp4(tb testing.TB, fromClient bool, cport, sport uint16, flags string, payload string) []byte {
	tb.Helper()
	src, dst, sp, dp := cli4, srv4, cport, sport
	if !fromClient {
		src, dst, sp, dp = srv4, cli4, sport, cport
	}
	seg := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Window: 1000}
	for _, f := range flags {
		switch f {
		case 'S':
			seg.SYN = true
		case 'A':
			seg.ACK = true
		case 'F':
			seg.FIN = true
		case 'R':
			seg.RST = true
		case 'P':
			seg.PSH = true
		}
	}
	ls := []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), ip4(src, dst, layers.IPProtocolTCP), seg}
	if payload != "" {
		ls = append(ls, gopacket.Payload(payload))
	}
	return build(tb, ls...)
}

// udp4 is a UDP datagram from src:sp to dst:dp.
func udp4(tb testing.TB, src, dst net.IP, sp, dp uint16, payload string) []byte {
	tb.Helper()
	return build(tb, eth(layers.EthernetTypeIPv4), ip4(src, dst, layers.IPProtocolUDP),
		&layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}, gopacket.Payload(payload))
}

// icmpUnreachable4 is an ICMP destination unreachable from `from` quoting
// (cut to the IP header and eight bytes, as routers do) the given frame's
// IP packet.
func icmpUnreachable4(tb testing.TB, from, to net.IP, code uint8, quotedFrame []byte) []byte {
	tb.Helper()
	quoted := quotedFrame[14:min(len(quotedFrame), 14+28)]
	return build(tb, eth(layers.EthernetTypeIPv4), ip4(from, to, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, code)}, gopacket.Payload(quoted))
}

// engines feeds the same frames to the kernel program and to the
// production user-space path, a classify.Classifier (what the pcap engine
// and analyse use), so that the differential tests compare the kernel with
// the code that judges captures and not with a copy of it.
type engines struct {
	tb testing.TB
	c  *Counter
	cl *classify.Classifier
	// fed counts the frames given to both; it is the user-space frames'
	// time, since only the kernel's clock is real.
	fed int64

	// What the classifier counted apart from flows, the user-space
	// counterparts of Stats; feed refreshes them.
	truncated, malformed, other uint64
	// tunnels are the packets of the GRE, ERSPAN and IP-in-IP tunnels
	// classify would decapsulate (packet.Encapsulated), per direction:
	// Counter.Tunnels' counterpart.
	tunnels map[Tunnel][2]uint64 // packets, bytes
}

// loadCounter loads a counter for a test and closes it at the end.
func loadCounter(tb testing.TB, opts Options) *Counter {
	tb.Helper()
	testenv.RequirePrivileged(tb)
	c, err := Load(opts)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return c
}

func newEngines(tb testing.TB, opts Options) *engines {
	return enginesOn(tb, loadCounter(tb, opts))
}

// enginesOn pairs a loaded counter (reset, for one program shared by
// subtests) with a new classifier.
func enginesOn(tb testing.TB, c *Counter) *engines {
	cl := classify.New(16)
	// The kernel counts a tunnel's packets as the outer flow;
	// classify/live's eBPF engine applies the Tunnels rule to those flows
	// afterwards. Compare like with like: no decapsulation.
	cl.SetLimits(classify.Limits{Tunnels: classify.TunnelsOff})
	return &engines{tb: tb, c: c, cl: cl}
}

// run passes one frame through the kernel program.
func (c *Counter) run(tb testing.TB, frame []byte) {
	tb.Helper()
	if err := c.tryRun(frame); err != nil {
		tb.Fatal(err)
	}
}

// errShortIP is tryRun's error for frames BPF_PROG_TEST_RUN refuses: it
// wants the whole IP header of an IPv4 or IPv6 frame in the data.
var errShortIP = errors.New("BPF_PROG_TEST_RUN refuses IP frames shorter than their IP header")

func (c *Counter) tryRun(frame []byte) error {
	ret, err := c.Program().Run(&ebpf.RunOptions{Data: frame})
	if errors.Is(err, unix.EINVAL) && len(frame) < 14+40 {
		return errShortIP
	}
	if err != nil {
		return fmt.Errorf("Program.Run (%d bytes): %w", len(frame), err)
	}
	if ret != tcActUnspec {
		return fmt.Errorf("program returned %#x, want TC_ACT_UNSPEC: it must never drop or redirect", ret)
	}
	return nil
}

// feed passes frames through both engines: the kernel program, and the
// classifier's Add. It returns the number of frames fed: those
// BPF_PROG_TEST_RUN refuses (errShortIP) are given to neither.
func (e *engines) feed(frames ...[]byte) int {
	e.tb.Helper()
	n := 0
	for _, fr := range frames {
		err := e.c.tryRun(fr)
		if errors.Is(err, errShortIP) {
			continue
		}
		if err != nil {
			e.tb.Fatal(err)
		}
		// The kernel sees the whole frame, so its wire length is its
		// length: what the IP header declares beyond it is a lie
		// (packet.Parsed.CheckLength).
		e.cl.Add(&capture.Frame{Data: fr, WireLen: len(fr), Time: e.fed, LinkType: layers.LinkTypeEthernet})
		e.tunnel(fr)
		e.fed++
		n++
	}
	o := e.cl.Observation()
	e.truncated, e.malformed, e.other = o.Malformed.Truncated, o.Malformed.Malformed+o.Malformed.UnknownLink, otherPackets(o)
	return n
}

func otherPackets(o *classify.Observation) (n uint64) {
	for _, oc := range o.Other {
		n += oc.Packets
	}
	return n
}

func otherBytes(o *classify.Observation) (n uint64) {
	for _, oc := range o.Other {
		n += oc.Bytes
	}
	return n
}

// tunnel counts fr in e.tunnels when it is a tunnel packet of a kind the
// kernel counts apart: GRE, ERSPAN and IP-in-IP, which the classifier
// (with tunnels off, as here) counts as other traffic. The kernel leaves
// VXLAN and GENEVE, on UDP, to its flows.
func (e *engines) tunnel(fr []byte) {
	var p packet.Parsed
	if p.CheckLength(p.Decode(layers.LinkTypeEthernet, fr), len(fr), len(fr)) != nil || p.Kind != packet.KindOther || !p.MaybeTunnel() {
		return
	}
	kind, _, inner := p.Encapsulated()
	if kind == packet.TunnelNone || len(inner) == 0 {
		return
	}
	if e.tunnels == nil {
		e.tunnels = map[Tunnel][2]uint64{}
	}
	k := Tunnel{Src: p.Tuple.SrcAddr(), Dst: p.Tuple.DstAddr(), Kind: kind}
	c := e.tunnels[k]
	e.tunnels[k] = [2]uint64{c[0] + 1, c[1] + uint64(len(fr))}
}

// kernelFlows returns the kernel's flows sorted by key.
func (e *engines) kernelFlows() []flow.Flow {
	e.tb.Helper()
	fs, err := e.c.Flows()
	if err != nil {
		e.tb.Fatalf("Flows: %v", err)
	}
	sortFlows(fs)
	return fs
}

// check fails the test unless both engines agree on every flow (all fields
// but the times, and those the kernel leaves to user space) and on the
// totals.
func (e *engines) check() []flow.Flow {
	e.tb.Helper()
	kernel := e.kernelFlows()
	o := e.cl.Observation()
	user := o.Flows
	sortFlows(user)
	for _, fs := range [][]flow.Flow{kernel, user} {
		for i := range fs {
			fs[i].First, fs[i].Last = 0, 0
		}
	}
	// The kernel does not look into payloads: classify/live gives its
	// payload copies to the same inspector, which fills these in.
	for i := range user {
		f := &user[i]
		f.App, f.Says, f.TLSOffer, f.TLSVersion, f.TLSCipher, f.SNI = [2]uint8{}, [2]uint8{}, 0, 0, 0, 0
	}
	if !slices.Equal(kernel, user) {
		e.tb.Errorf("kernel and user-space flows differ:\n%s", diffFlows(kernel, user))
	}
	st, err := e.c.Stats()
	if err != nil {
		e.tb.Fatalf("Stats: %v", err)
	}
	want := Stats{
		Packets: o.Packets, Bytes: o.Bytes, Truncated: o.Malformed.Truncated,
		Malformed:       o.Malformed.Malformed + o.Malformed.UnknownLink,
		UntiedFragments: o.OrphanFragments, OtherPackets: otherPackets(o), OtherBytes: otherBytes(o),
		Created: uint64(len(user)), Live: uint64(len(user)),
	}
	// The tunnels the kernel counted are those classify would decapsulate,
	// with the same packets and bytes, and their sum is in the totals.
	tunnels, err := e.c.Tunnels()
	if err != nil {
		e.tb.Fatalf("Tunnels: %v", err)
	}
	got := st
	gotTun := map[Tunnel][2]uint64{}
	for _, t := range tunnels {
		want.TunnelPackets += t.Packets
		want.TunnelBytes += t.Bytes
		c := [2]uint64{t.Packets, t.Bytes}
		t.Packets, t.Bytes = 0, 0
		gotTun[t] = c
	}
	if !maps.Equal(gotTun, e.tunnels) {
		e.tb.Errorf("tunnels (packets, bytes):\n kernel %v\n user   %v", gotTun, e.tunnels)
	}
	// Ring drops are another test's subject (nobody reads NewFlows here).
	got.RingDrops = 0
	if got != want {
		e.tb.Errorf("stats:\n got %+v\nwant %+v", got, want)
	}
	// Every frame is counted once: to a flow, as other traffic, or as
	// undecodable.
	var inFlows uint64
	for _, f := range kernel {
		p, _ := f.Total()
		inFlows += p
	}
	if sum := inFlows + st.OtherPackets + st.Truncated + st.Malformed + st.Lost; sum != st.Packets {
		e.tb.Errorf("%d frames seen, but flows (%d) + other (%d) + truncated (%d) + malformed (%d) + lost (%d) = %d",
			st.Packets, inFlows, st.OtherPackets, st.Truncated, st.Malformed, st.Lost, sum)
	}
	return kernel
}

func sortFlows(fs []flow.Flow) {
	slices.SortFunc(fs, func(a, b flow.Flow) int { return compareKeys(a.Key, b.Key) })
}

func compareKeys(a, b flow.Key) int {
	return cmp.Or(bytes.Compare(a.A[:], b.A[:]), bytes.Compare(a.B[:], b.B[:]),
		cmp.Compare(a.APort, b.APort), cmp.Compare(a.BPort, b.BPort), cmp.Compare(a.Proto, b.Proto))
}

func diffFlows(kernel, user []flow.Flow) string {
	var b bytes.Buffer
	for i := range max(len(kernel), len(user)) {
		var k, u *flow.Flow
		if i < len(kernel) {
			k = &kernel[i]
		}
		if i < len(user) {
			u = &user[i]
		}
		if k != nil && u != nil && *k == *u {
			continue
		}
		fmt.Fprintf(&b, "  kernel: %s\n  user:   %s\n", describe(k), describe(u))
	}
	return b.String()
}

func describe(f *flow.Flow) string {
	if f == nil {
		return "(none)"
	}
	return fmt.Sprintf("%v %v:%d-%v:%d pkts %v bytes %v payload %v flags %#x/%#x syns %v first-side %d frags %d unreach %d(%d/%d from %v)",
		f.Key.Proto, f.Key.Addr(flow.SideA), f.Key.APort, f.Key.Addr(flow.SideB), f.Key.BPort,
		f.Packets, f.Bytes, f.Payload, f.Flags[0], f.Flags[1], f.SYNs, f.FirstSide, f.Fragments,
		f.Unreachable, f.UnreachableType, f.UnreachableCode, netip.AddrFrom16(f.UnreachableFrom).Unmap())
}

// reset empties the counter's maps and totals, for fuzzing with one loaded
// program.
func (c *Counter) reset() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range []*ebpf.Map{c.objs.Flows, c.objs.Frags, c.objs.Tunnels} {
		var keys [][]byte
		var k []byte
		it := m.Iterate()
		var v []byte
		if m != c.objs.Frags { // per-CPU values
			var pv [][]byte
			for it.Next(&k, &pv) {
				keys = append(keys, slices.Clone(k))
			}
		} else {
			for it.Next(&k, &v) {
				keys = append(keys, slices.Clone(k))
			}
		}
		if err := it.Err(); err != nil {
			return err
		}
		for _, k := range keys {
			if err := m.Delete(k); err != nil {
				return err
			}
		}
	}
	var zero uint32
	if err := c.objs.Stats.Put(&zero, make([]counter.ProgCounters, c.ncpu)); err != nil {
		return err
	}
	c.swept = 0
	return nil
}

// addr16 returns ip as a 16-byte key address.
func addr16(ip net.IP) [16]byte {
	a, _ := netip.AddrFromSlice(ip)
	return a.As16()
}

//go:build linux && (amd64 || arm64)

package bpf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/wirecheck/wirecheck/bpf/internal/counter"
	"github.com/wirecheck/wirecheck/bpf/internal/kernel"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// Counter is a loaded eBPF flow counter. Its methods are safe for
// concurrent use.
type Counter struct {
	objs   counter.ProgObjects
	ncpu   int
	offset int64 // Unix ns = CLOCK_MONOTONIC ns + offset

	ring     *ringbuf.Reader
	events   chan NewFlow
	payRing  *ringbuf.Reader
	payloads chan Payload
	done     chan struct{}
	wg       sync.WaitGroup

	// forceLegacy makes Attach use tc filters even where TCX exists, so that
	// tests can exercise the fallback.
	forceLegacy bool

	mu       sync.Mutex // guards what follows
	closed   bool
	links    []link.Link
	legacy   []*legacyAttachment
	ifaces   map[int]bool // attached interface indexes
	swept    uint64
	batchKey []counter.ProgFlowKey
	batchVal []counter.ProgFlowStats
}

// eventBuffer is the capacity of the NewFlows and Payloads channels.
const eventBuffer = 1024

// Load loads the program and its maps into the kernel without attaching
// them: Program.Run works on the result (see Program). Close releases it.
func Load(opts Options) (*Counter, error) {
	if opts.MaxFlows == 0 {
		opts.MaxFlows = DefaultMaxFlows
	}
	if opts.RingBytes == 0 {
		opts.RingBytes = DefaultRingBytes
	}
	if opts.PayloadRingBytes == 0 {
		opts.PayloadRingBytes = DefaultPayloadRingBytes
	}
	if opts.MaxFlows < 0 || opts.MaxFlows > 1<<26 {
		return nil, fmt.Errorf("load flow counter: MaxFlows %d out of range (1 to %d)", opts.MaxFlows, 1<<26)
	}
	page := unix.Getpagesize()
	for _, r := range []struct {
		name string
		n    int
	}{{"RingBytes", opts.RingBytes}, {"PayloadRingBytes", opts.PayloadRingBytes}} {
		if r.n < page || r.n&(r.n-1) != 0 {
			return nil, fmt.Errorf("load flow counter: %s %d must be a power of two and at least the page size (%d)", r.name, r.n, page)
		}
	}
	for _, pk := range opts.ServerPorts {
		if pk.Proto.IsICMP() && pk.Port != 0 {
			return nil, fmt.Errorf("load flow counter: server port %v/%d: ICMP rules take port 0", pk.Proto, pk.Port)
		}
	}
	if err := checkKernel(); err != nil {
		return nil, fmt.Errorf("load flow counter: %w", err)
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones
	// use memory cgroups and this does nothing.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("load flow counter: %w", loadError(err))
	}

	spec, err := counter.LoadProg()
	if err != nil {
		return nil, fmt.Errorf("load flow counter spec: %w", err)
	}
	spec.Maps[counter.ProgMapFlows].MaxEntries = uint32(opts.MaxFlows)
	spec.Maps[counter.ProgMapNewFlows].MaxEntries = uint32(opts.RingBytes)
	spec.Maps[counter.ProgMapServerPorts].MaxEntries = uint32(max(len(opts.ServerPorts), MaxServerPorts)) // room for SetServerPorts
	payRing := opts.PayloadRingBytes
	if !opts.Payloads {
		payRing = page // unused: keep it small
	}
	spec.Maps[counter.ProgMapPayloads].MaxEntries = uint32(payRing)
	if err := spec.Variables[counter.ProgVarSendPayloads].Set(boolByte(opts.Payloads)); err != nil {
		return nil, fmt.Errorf("load flow counter: %w", err)
	}

	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("load flow counter: %w", err)
	}
	c := &Counter{
		ncpu:     ncpu,
		events:   make(chan NewFlow, eventBuffer),
		payloads: make(chan Payload, eventBuffer),
		done:     make(chan struct{}),
	}
	if err := spec.LoadAndAssign(&c.objs, nil); err != nil {
		return nil, fmt.Errorf("load flow counter: %w", loadError(err))
	}
	for _, pk := range opts.ServerPorts {
		k := counter.ProgPortKey{Proto: uint8(pk.Proto), Port: pk.Port}
		if err := c.objs.ServerPorts.Put(&k, uint8(1)); err != nil {
			c.objs.Close()
			return nil, fmt.Errorf("load flow counter: server port %v/%d: %w", pk.Proto, pk.Port, err)
		}
	}
	c.ring, err = ringbuf.NewReader(c.objs.NewFlows)
	if err != nil {
		c.objs.Close()
		return nil, fmt.Errorf("open new-flow ring buffer: %w", loadError(err))
	}
	c.payRing, err = ringbuf.NewReader(c.objs.Payloads)
	if err != nil {
		c.ring.Close()
		c.objs.Close()
		return nil, fmt.Errorf("open payload ring buffer: %w", loadError(err))
	}
	c.offset = clockOffset()
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		readRing(c.ring, c.events, c.done, func(raw []byte) (NewFlow, bool) { return decodeNewFlow(raw, c.offset) })
	}()
	go func() {
		defer c.wg.Done()
		readRing(c.payRing, c.payloads, c.done, func(raw []byte) (Payload, bool) { return decodePayload(raw, c.offset) })
	}()
	return c, nil
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// checkKernel names the first feature the counter needs that the kernel
// lacks.
func checkKernel() error {
	if v, err := kernel.Version(); err == nil {
		if err := checkVersion(v); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name  string
		probe func() error
	}{
		{"BPF ring buffer (Linux 5.8)", func() error { return features.HaveMapType(ebpf.RingBuf) }},
		{"per-CPU LRU hash maps (Linux 4.10)", func() error { return features.HaveMapType(ebpf.LRUCPUHash) }},
		{"TC (sched_cls) programs", func() error { return features.HaveProgramType(ebpf.SchedCLS) }},
		{"bounded loops (Linux 5.3)", features.HaveBoundedLoops},
	} {
		err := f.probe()
		switch {
		case err == nil:
		case errors.Is(err, ebpf.ErrNotSupported):
			return fmt.Errorf("%w: %s is missing", ErrKernelTooOld, f.name)
		case errors.Is(err, unix.EPERM):
			return fmt.Errorf("%w: %w", unix.EPERM, ErrPermission)
		default:
			return fmt.Errorf("probe %s: %w", f.name, loadError(err))
		}
	}
	return nil
}

// checkVersion names what a kernel of version v lacks that no probe can
// tell: the parser's global functions take pointers to the stack, which the
// verifier accepts since 5.12.
func checkVersion(v [2]int) error {
	if !kernel.AtLeast(v, 5, 12) {
		return fmt.Errorf("%w: BPF global functions with pointer arguments (Linux 5.12) are missing (kernel %d.%d)", ErrKernelTooOld, v[0], v[1])
	}
	return nil
}

// loadError adds what to do to errors that mean missing privileges. The
// verifier's rejections (EACCES with a log) are left as they are.
func loadError(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return err
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%w: %w", err, ErrPermission)
	}
	return err
}

// clockOffset measures the offset from CLOCK_MONOTONIC, which
// bpf_ktime_get_ns reads, to Unix time, taking the reading with the
// narrowest window of a few.
func clockOffset() int64 {
	var best, bestWindow int64 = 0, -1
	for range 5 {
		var r1, m, r2 unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_REALTIME, &r1)
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &m)
		_ = unix.ClockGettime(unix.CLOCK_REALTIME, &r2)
		w := r2.Nano() - r1.Nano()
		if bestWindow < 0 || w < bestWindow {
			best, bestWindow = r1.Nano()+w/2-m.Nano(), w
		}
	}
	return best
}

// Program returns the loaded TC program, so that tests and benchmarks (here
// and in packages built on this one) can feed it frames with Program.Run,
// without an interface. It stays owned by the Counter.
func (c *Counter) Program() *ebpf.Program { return c.objs.WirecheckTc }

// Attach attaches the counter to the ingress and egress of interface
// ifname (the ingress alone of a loopback interface, see hooks) with TCX
// links. The links belong to this process: they are not
// pinned, so they go when the process exits, however it exits. On kernels
// without TCX (before 6.6) it falls back to a clsact qdisc and tc filters,
// which do outlive a killed process; see doc.go.
func (c *Counter) Attach(ifname string) error {
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("interface %s: %w", ifname, ErrNoInterface)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.ifaces[iface.Index] {
		// A second attachment would count every packet twice.
		return fmt.Errorf("interface %s: already attached", ifname)
	}
	if c.ifaces == nil {
		c.ifaces = make(map[int]bool)
	}
	if c.forceLegacy {
		return c.attachLegacy(iface)
	}
	var links []link.Link
	for _, dir := range hooks(iface) {
		l, err := link.AttachTCX(link.TCXOptions{
			Interface: iface.Index,
			Program:   c.objs.WirecheckTc,
			Attach:    dir.attach,
		})
		if errors.Is(err, ebpf.ErrNotSupported) && len(links) == 0 {
			return c.attachLegacy(iface)
		}
		if err != nil {
			for _, l := range links {
				l.Close()
			}
			return fmt.Errorf("attach tcx %s to %s: %w", dir.name, ifname, loadError(err))
		}
		links = append(links, l)
	}
	c.links = append(c.links, links...)
	c.ifaces[iface.Index] = true
	return nil
}

// hook is one TC hook of an interface.
type hook struct {
	name   string
	attach ebpf.AttachType
	parent uint32 // the clsact hook of the tc filter fallback
}

// hooks returns the hooks to count iface's frames on: ingress and egress,
// but only ingress on a loopback interface, where every frame sent is
// received too and both hooks see it (libpcap shows it once).
func hooks(iface *net.Interface) []hook {
	in := hook{"ingress", ebpf.AttachTCXIngress, legacyParents[0]}
	if iface.Flags&net.FlagLoopback != 0 {
		return []hook{in}
	}
	return []hook{in, {"egress", ebpf.AttachTCXEgress, legacyParents[1]}}
}

// attachLegacy attaches with tc filters; c.mu is held.
func (c *Counter) attachLegacy(iface *net.Interface) error {
	a, err := attachLegacy(iface, c.objs.WirecheckTc)
	if err != nil {
		return fmt.Errorf("attach tc filters to %s (no TCX: kernel before 6.6): %w", iface.Name, loadError(err))
	}
	c.legacy = append(c.legacy, a)
	c.ifaces[iface.Index] = true
	return nil
}

// NewFlows returns the channel of flows no server port covers, in the order
// the kernel created them. It is closed by Close. If the channel is not
// drained, records wait in the ring buffer, and once that is full further
// records are dropped and counted in Stats.RingDrops; the flows themselves
// are still counted.
func (c *Counter) NewFlows() <-chan NewFlow { return c.events }

// Payloads returns the channel of payload copies (see Options.Payloads),
// closed by Close. Like NewFlows, records wait in their ring buffer while
// the channel is full and are counted in Stats.PayloadDrops once that is
// full too.
func (c *Counter) Payloads() <-chan Payload { return c.payloads }

// readRing delivers the records of r on out until r is closed or done is;
// then it closes out.
func readRing[T any](r *ringbuf.Reader, out chan<- T, done <-chan struct{}, decode func([]byte) (T, bool)) {
	defer close(out)
	var rec ringbuf.Record
	for {
		if err := r.ReadInto(&rec); err != nil {
			// ErrClosed after Close; no other error is expected from an
			// open reader, and retrying one would spin.
			return
		}
		v, ok := decode(rec.RawSample)
		if !ok {
			continue
		}
		select {
		case out <- v:
		case <-done:
			return
		}
	}
}

// Flows returns every flow in the map now, the CPUs' shares summed.
func (c *Counter) Flows() ([]flow.Flow, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	var out []flow.Flow
	err := c.scan(func(k *counter.ProgFlowKey, v []counter.ProgFlowStats) {
		out = append(out, mergeFlow(k, v, c.offset))
	})
	return out, err
}

// Tunnels returns the GRE, ERSPAN and IP-in-IP tunnels the kernel counted,
// one per direction, the CPUs' shares summed. Packets of a tunnel that found
// the map full (1,024 entries) are in Stats.TunnelPackets alone.
func (c *Counter) Tunnels() ([]Tunnel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	var out []Tunnel
	var k counter.ProgTunnelKey
	v := make([]counter.ProgTunnelStats, c.ncpu)
	it := c.objs.Tunnels.Iterate()
	for it.Next(&k, &v) {
		t := Tunnel{Src: netip.AddrFrom16(k.Src).Unmap(), Dst: netip.AddrFrom16(k.Dst).Unmap(), Kind: packet.Tunnel(k.Kind)}
		for i := range v {
			t.Packets += v[i].Packets
			t.Bytes += v[i].Bytes
		}
		out = append(out, t)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read tunnel map: %w", err)
	}
	return out, nil
}

// Sweep removes the flows whose last packet is older than idleSince and
// returns them. Each flow is removed with one lookup-and-delete, which
// returns its counts as they were at removal: a packet that arrives between
// the scan and the removal is either in the returned flow or starts a new
// one, never lost. Swept flows are counted in Stats.Swept.
func (c *Counter) Sweep(idleSince time.Time) ([]flow.Flow, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	limit := idleSince.UnixNano() - c.offset // in CLOCK_MONOTONIC ns
	var idle []counter.ProgFlowKey
	err := c.scan(func(k *counter.ProgFlowKey, v []counter.ProgFlowStats) {
		if last := lastNs(v); last != 0 && int64(last) < limit {
			idle = append(idle, *k)
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]flow.Flow, 0, len(idle))
	vals := make([]counter.ProgFlowStats, c.ncpu)
	for i := range idle {
		err := c.objs.Flows.LookupAndDelete(&idle[i], &vals)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			continue // evicted meanwhile: Stats counts it as evicted
		}
		if err != nil {
			return out, fmt.Errorf("sweep: %w", err)
		}
		c.swept++
		out = append(out, mergeFlow(&idle[i], vals, c.offset))
	}
	return out, nil
}

// batchSize is the number of flows read per system call.
const batchSize = 1024

// scan calls fn for every flow in the map, with its per-CPU values. The
// slices passed to fn are reused. c.mu is held.
func (c *Counter) scan(fn func(*counter.ProgFlowKey, []counter.ProgFlowStats)) error {
	n := batchSize
	if len(c.batchKey) < n {
		c.batchKey = make([]counter.ProgFlowKey, n)
		c.batchVal = make([]counter.ProgFlowStats, n*c.ncpu)
	}
	var cursor ebpf.MapBatchCursor
	for {
		got, err := c.objs.Flows.BatchLookup(&cursor, c.batchKey, c.batchVal, nil)
		for i := range got {
			fn(&c.batchKey[i], c.batchVal[i*c.ncpu:(i+1)*c.ncpu])
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if errors.Is(err, unix.ENOSPC) && got == 0 && len(c.batchKey) < 1<<20 {
			// A hash bucket holds more keys than the batch: the kernel
			// returned nothing and kept the cursor, so grow and retry.
			n = 2 * len(c.batchKey)
			c.batchKey = make([]counter.ProgFlowKey, n)
			c.batchVal = make([]counter.ProgFlowStats, n*c.ncpu)
			continue
		}
		if errors.Is(err, ebpf.ErrNotSupported) {
			return c.iterate(fn)
		}
		if err != nil {
			return fmt.Errorf("read flow map: %w", err)
		}
	}
}

// iterate is scan for kernels without batch operations (before 5.6).
func (c *Counter) iterate(fn func(*counter.ProgFlowKey, []counter.ProgFlowStats)) error {
	var k counter.ProgFlowKey
	v := make([]counter.ProgFlowStats, c.ncpu)
	it := c.objs.Flows.Iterate()
	for it.Next(&k, &v) {
		fn(&k, v)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read flow map: %w", err)
	}
	return nil
}

// Stats returns the counter's totals, for a map that may never stop
// churning: it reads the counters and the map once, and counts as evicted
// only flows created before the read began (Created - Swept - live flows
// whose first packet came before), so that flows created while the map is
// read are not taken for evicted ones. Evicted then never runs ahead of the
// truth (it may miss an eviction of a flow made in the microseconds between
// reading the counters and the clock), and a metric built on it does not
// jump up and back down under churn. When no flow is created meanwhile (a
// quiet map, the tests), Evicted + Live + Swept = Created exactly.
func (c *Counter) Stats() (Stats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return Stats{}, ErrClosed
	}
	// The counters first, then the clock: every flow Created counts was
	// made before t0, so a flow made between the two reads can only make
	// Evicted smaller, never invent an eviction (an eviction alert that
	// fires on churn alone would teach operators to ignore it).
	s, err := c.totals()
	if err != nil {
		return Stats{}, err
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return Stats{}, fmt.Errorf("read clock: %w", err)
	}
	t0 := uint64(ts.Nano()) // bpf_ktime_get_ns's clock
	var live, before uint64
	err = c.scan(func(_ *counter.ProgFlowKey, v []counter.ProgFlowStats) {
		live++
		first := uint64(0)
		for i := range v {
			if f := v[i].FirstNs; f != 0 && (first == 0 || f < first) {
				first = f
			}
		}
		if first < t0 { // 0: known only from an ICMP error; counted by then
			before++
		}
	})
	if err != nil {
		return Stats{}, err
	}
	s.Live, s.Swept = live, c.swept
	if removed := before + c.swept; s.Created > removed {
		s.Evicted = s.Created - removed
	}
	return s, nil
}

// totals sums the per-CPU counters.
func (c *Counter) totals() (Stats, error) {
	var zero uint32
	per := make([]counter.ProgCounters, c.ncpu)
	if err := c.objs.Stats.Lookup(&zero, &per); err != nil {
		return Stats{}, fmt.Errorf("read counters: %w", err)
	}
	return sumCounters(per), nil
}

// Close detaches the counter from every interface, stops NewFlows and
// Payloads (closing their channels) and releases the kernel objects. It may be called more than
// once.
func (c *Counter) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	var errs []error
	for _, l := range c.links {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach: %w", err))
		}
	}
	for _, a := range c.legacy {
		if err := a.detach(); err != nil {
			errs = append(errs, fmt.Errorf("detach tc filters: %w", err))
		}
	}
	c.links, c.legacy = nil, nil
	c.mu.Unlock()

	close(c.done)
	for _, r := range []*ringbuf.Reader{c.ring, c.payRing} {
		if err := r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close ring buffer: %w", err))
		}
	}
	c.wg.Wait()
	if err := c.objs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close objects: %w", err))
	}
	return errors.Join(errs...)
}

package live

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/related"
)

// Counters are an engine's own counts since it started, for metrics: what
// it created, evicted, dropped and lost. Fields an engine does not have
// stay zero.
type Counters struct {
	Engine string // "ebpf" or "pcap"

	// eBPF: flows created in the kernel map, evicted from it when it was
	// full, packets of new flows the full map refused, ring-buffer records
	// lost (new flows, payload samples), and flows in the map now.
	Created, Evicted, MapFull, RingDrops, PayloadDrops, LiveFlows uint64
	// libpcap: packets dropped because the reader fell behind, and by the
	// interface.
	CaptureDropped, IfDropped uint64
}

// Health is the state of a supervised engine.
type Health struct {
	Counters
	Interface string
	// Up: the interface exists and is up, and the engine is attached to it
	// (or capturing on it).
	Up bool
	// Recoveries counts re-attachments (eBPF) and reopened captures (pcap)
	// after the interface came back.
	Recoveries uint64
	// Swept counts flows moved out of the engine after SuperviseOptions.Idle
	// and folded into Conversations; RollupFull counts those that found the
	// rollup full (their counts are lost, and reported as a loss).
	Swept, RollupFull uint64
	Conversations     int
}

// NoticeKind says what happened to the watched interface or the engine.
type NoticeKind string

const (
	NoticeDown        NoticeKind = "interface_down"    // the interface went down
	NoticeGone        NoticeKind = "interface_gone"    // the interface was deleted
	NoticeUp          NoticeKind = "interface_up"      // it is back and the engine is attached again
	NoticeFailed      NoticeKind = "recovery_failed"   // it is back but the engine could not attach; retried
	NoticeEngineError NoticeKind = "engine_error"      // the engine stopped while the interface looked fine; retried
	NoticeSweepError  NoticeKind = "sweep_error"       // idle flows could not be swept
	NoticeReloadPorts NoticeKind = "server_ports_full" // a reloaded profile's ports did not all fit the kernel map
)

// Notice is one thing an operator should hear about, said once when it
// happens (not again on every retry).
type Notice struct {
	Time      time.Time
	Kind      NoticeKind
	Interface string
	Message   string
}

// SuperviseOptions configure a Supervisor. The zero value supervises the
// interface without sweeping.
type SuperviseOptions struct {
	// Idle: flows with no packet for this long are swept out of engines
	// that hold flows in a bounded table (the eBPF map) and folded into
	// conversations (client port set to 0), so that millions of short flows
	// neither fill the table nor lose their counts. 0 turns sweeping off.
	Idle time.Duration
	// MaxConversations bounds the folded conversations kept; 0 means
	// DefaultMaxConversations.
	MaxConversations int
	// Hints tell a flow's client from its server when folding (the
	// profile's server ports, as match.Matcher.PortHints gives them).
	Hints flow.PortHints
	// Poll is how often the interface is checked; 0 means half a second.
	Poll time.Duration
	// Notify, if set, is called from the Supervisor's goroutine for each
	// Notice.
	Notify func(Notice)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultMaxConversations bounds the rollup of swept flows: at about 300
// bytes each, 65,536 conversations cost about 20 MB.
const DefaultMaxConversations = 1 << 16

// The optional methods an engine offers a Supervisor (engines of this
// package implement them in *_service.go).
type (
	sweeper interface {
		sweepIdle(idleSince time.Time) ([]flow.Flow, []string, error)
	}
	recoverer interface {
		// recover attaches or reopens the engine on its interface.
		recover() error
		// restarts reports whether recover starts the engine's own
		// counters (drops) from zero again.
		restarts() bool
	}
	counterer interface {
		counters() (Counters, error)
	}
	portSetter interface {
		setServerPorts([]bpf.PortKey) error
	}
)

// Supervisor runs an engine for as long as an operator leaves wirecheck
// watching: it notices the interface going down, being deleted and coming
// back, and re-attaches the engine without losing a count; it sweeps idle
// flows out of bounded engine tables into a bounded rollup; and it says
// what it did through SuperviseOptions.Notify. It is itself an Engine whose
// Observation covers the whole run, and its Err is nil: a failed engine is
// retried, not given up on.
//
// Every call into the wrapped engine is serialised by the Supervisor, so
// the engine may be reopened between them. Its methods are safe for
// concurrent use.
type Supervisor struct {
	inner Engine
	iface string
	opts  SuperviseOptions
	stop  chan struct{}
	done  chan struct{}

	mu         sync.Mutex // guards everything below and every call into inner
	closed     bool
	up         bool
	ifindex    int
	state      ifaceState
	lastErr    string
	recoveries uint64
	carried    map[string]uint64 // losses of restarted engines, by Loss.What
	carriedCnt Counters
	roll       rollup
	// The engine's eviction count can run ahead of the truth for one
	// reading while flows churn (bpf.Counter.Stats); Health shows
	// the smaller of the last two readings, never less than it showed.
	evictedRaw, evictedShown uint64
}

type ifaceState uint8

const (
	ifaceUp ifaceState = iota
	ifaceDown
	ifaceGone
)

// Supervise wraps eng, which watches iface, and starts supervising it.
// Close closes eng too.
func Supervise(eng Engine, iface string, opts SuperviseOptions) *Supervisor {
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.MaxConversations <= 0 {
		opts.MaxConversations = DefaultMaxConversations
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Supervisor{
		inner: eng, iface: iface, opts: opts, up: true,
		stop: make(chan struct{}), done: make(chan struct{}),
		carried: map[string]uint64{},
		roll:    rollup{max: opts.MaxConversations, flows: map[flow.Key]*flow.Flow{}, sni: map[flow.Key]string{}, hints: opts.Hints},
	}
	if ifi, err := net.InterfaceByName(iface); err == nil {
		s.ifindex = ifi.Index
		if ifi.Flags&net.FlagUp == 0 {
			s.up, s.state = false, ifaceDown
		}
	}
	go s.run()
	return s
}

func (s *Supervisor) run() {
	defer close(s.done)
	poll := time.NewTicker(s.opts.Poll)
	defer poll.Stop()
	var sweep <-chan time.Time
	if _, ok := s.inner.(sweeper); ok && s.opts.Idle > 0 {
		t := time.NewTicker(min(max(s.opts.Idle/2, 250*time.Millisecond), 30*time.Second))
		defer t.Stop()
		sweep = t.C
	}
	for {
		select {
		case <-s.stop:
			return
		case <-poll.C:
			s.check()
		case <-sweep:
			s.mu.Lock()
			err := s.sweepLocked()
			s.mu.Unlock()
			if err != nil {
				s.notifyOnce(NoticeSweepError, err.Error())
			}
		}
	}
}

// check compares the interface with what it was, says what changed, and
// brings the engine back when it can.
func (s *Supervisor) check() {
	ifi, err := net.InterfaceByName(s.iface)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	prev := s.state
	switch {
	case err != nil:
		s.state, s.up = ifaceGone, false
		if prev != ifaceGone {
			s.notify(NoticeGone, fmt.Sprintf("interface %s was deleted: counts so far are kept; waiting for it to come back", s.iface))
		}
		return
	case ifi.Index != s.ifindex && prev != ifaceGone:
		// Deleted and re-created between two checks.
		s.notify(NoticeGone, fmt.Sprintf("interface %s was deleted and re-created", s.iface))
		prev = ifaceGone
	case ifi.Flags&net.FlagUp == 0:
		s.ifindex = ifi.Index
		s.state, s.up = ifaceDown, false
		if prev == ifaceUp {
			s.notify(NoticeDown, fmt.Sprintf("interface %s is down: no traffic until it comes back up", s.iface))
		}
		return
	}
	s.ifindex = ifi.Index
	failed := s.inner.Err()
	if prev == ifaceUp && failed == nil {
		return
	}
	if prev == ifaceUp && failed != nil {
		s.notifyOnce(NoticeEngineError, fmt.Sprintf("%v: reopening", failed))
	}
	if err := s.recoverLocked(); err != nil {
		s.up = false
		s.notifyOnce(NoticeFailed, fmt.Sprintf("interface %s is back but the engine could not attach: %v (retrying)", s.iface, err))
		return
	}
	s.state, s.up, s.lastErr = ifaceUp, true, ""
	if prev != ifaceUp || failed != nil {
		s.recoveries++
		s.notify(NoticeUp, fmt.Sprintf("interface %s is up: watching again", s.iface))
	}
}

// recoverLocked re-attaches or reopens the engine, carrying over the counts
// of an engine that restarts them.
func (s *Supervisor) recoverLocked() error {
	r, ok := s.inner.(recoverer)
	if !ok {
		if err := s.inner.Err(); err != nil {
			return fmt.Errorf("%w (this engine cannot be reopened)", err)
		}
		return nil
	}
	// Read the counts the restart will zero before they go.
	var before *classify.Observation
	var cnt Counters
	if r.restarts() {
		before, _ = s.inner.Observation()
		if c, ok := s.inner.(counterer); ok {
			cnt, _ = c.counters()
		}
	}
	if err := r.recover(); err != nil {
		return err
	}
	if r.restarts() {
		if before != nil {
			for _, l := range before.Losses {
				s.carried[l.What] += l.Count
			}
		}
		s.carriedCnt.CaptureDropped += cnt.CaptureDropped
		s.carriedCnt.IfDropped += cnt.IfDropped
	}
	return nil
}

func (s *Supervisor) notify(kind NoticeKind, msg string) {
	if s.opts.Notify != nil {
		s.opts.Notify(Notice{Time: s.opts.Now(), Kind: kind, Interface: s.iface, Message: msg})
	}
}

// notifyOnce says msg unless it was the last thing said of a failure, so
// that a retry every poll does not flood the log.
func (s *Supervisor) notifyOnce(kind NoticeKind, msg string) {
	if msg == s.lastErr {
		return
	}
	s.lastErr = msg
	s.notify(kind, msg)
}

// sweepLocked moves idle flows into the rollup.
func (s *Supervisor) sweepLocked() error {
	sw, ok := s.inner.(sweeper)
	if !ok || s.opts.Idle <= 0 || s.closed {
		return nil
	}
	flows, sni, err := sw.sweepIdle(s.opts.Now().Add(-s.opts.Idle))
	for i := range flows {
		s.roll.fold(&flows[i], sni[i])
	}
	return err
}

// Observation returns the engine's flows and the conversations swept out of
// it, with the engine's losses (and those of earlier incarnations of an
// engine that was reopened). A failure to read libpcap's statistics after
// the interface went away does not lose the flows: the observation is
// returned with the error noted as a loss.
func (s *Supervisor) Observation() (*classify.Observation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.sweepLocked(); err != nil {
		s.notifyOnce(NoticeSweepError, err.Error())
	}
	obs, err := s.inner.Observation()
	if obs == nil {
		return nil, err
	}
	if err != nil {
		s.notifyOnce(NoticeEngineError, err.Error())
	}
	for what, n := range s.carried {
		found := false
		for i := range obs.Losses {
			if obs.Losses[i].What == what {
				obs.Losses[i].Count += n
				found = true
			}
		}
		if !found {
			obs.Losses = append(obs.Losses, classify.Loss{What: what, Count: n})
		}
	}
	s.roll.addTo(obs)
	return obs, nil
}

// String names the engine and its interface, for messages.
func (s *Supervisor) String() string { return fmt.Sprint(s.inner) }

// Fresh passes on the engine's new flows.
func (s *Supervisor) Fresh() []flow.Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.Fresh()
}

// Related passes on the engine's announcements of related flows (nil
// when the engine learns none).
func (s *Supervisor) Related() []related.Announcement {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.inner.(interface{ Related() []related.Announcement }); ok {
		return r.Related()
	}
	return nil
}

// Err is always nil: the Supervisor retries a failed engine as long as it
// runs, and says so in notices and in Health.
func (s *Supervisor) Err() error { return nil }

// Health returns the interface's state and the engine's counters.
func (s *Supervisor) Health() (Health, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := Health{Interface: s.iface, Up: s.up, Recoveries: s.recoveries,
		Swept: s.roll.swept, RollupFull: s.roll.fullFlows, Conversations: len(s.roll.flows)}
	var err error
	if c, ok := s.inner.(counterer); ok {
		h.Counters, err = c.counters()
		if err == nil {
			raw := h.Evicted
			s.evictedShown = max(s.evictedShown, min(raw, s.evictedRaw))
			s.evictedRaw = raw
		}
		h.Evicted = s.evictedShown
	}
	h.CaptureDropped += s.carriedCnt.CaptureDropped
	h.IfDropped += s.carriedCnt.IfDropped
	return h, err
}

// Up reports whether the engine is watching the interface now. It takes no
// engine call, so a scrape of metrics can ask it at any time.
func (s *Supervisor) Up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

// Recoveries returns how often the engine came back, without an engine
// call, as Up.
func (s *Supervisor) Recoveries() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recoveries
}

// Reload takes a reloaded profile's server ports (for the kernel's choice
// of which new flows to announce) and port hints (for folding). The flows
// and counts are untouched.
func (s *Supervisor) Reload(ports []bpf.PortKey, hints flow.PortHints) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roll.hints = hints
	if ps, ok := s.inner.(portSetter); ok {
		if err := ps.setServerPorts(ports); err != nil && !errors.Is(err, bpf.ErrClosed) {
			return err
		}
	}
	return nil
}

// Close stops supervising and closes the engine.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.Close()
}

// rollup folds swept flows into conversations: the same client address,
// server address, server port and protocol, the client's port set to 0 (for
// ICMP echo, both identifiers). It holds at most max conversations.
type rollup struct {
	max       int
	hints     flow.PortHints
	flows     map[flow.Key]*flow.Flow
	sni       map[flow.Key]string
	swept     uint64 // flows folded in
	fullFlows uint64 // flows that found the rollup full
	fullPkts  uint64
}

func (r *rollup) fold(f *flow.Flow, sni string) {
	r.swept++
	client, _ := f.Client(r.hints)
	server := client.Other()
	k := f.Key
	var key flow.Key
	if k.Proto.IsICMP() {
		key = flow.MakeKey(k.Proto, netip.AddrPortFrom(k.Addr(client), 0), netip.AddrPortFrom(k.Addr(server), 0))
	} else {
		key = flow.MakeKey(k.Proto, netip.AddrPortFrom(k.Addr(client), 0), netip.AddrPortFrom(k.Addr(server), k.Port(server)))
	}
	// The side the client takes in the conversation's key.
	cs := flow.SideB
	if key.Addr(flow.SideA) == k.Addr(client) && key.Port(flow.SideA) == 0 {
		cs = flow.SideA
	}
	side := func(s flow.Side) flow.Side { // f's side to the conversation's
		if s == client {
			return cs
		}
		return cs.Other()
	}
	c := r.flows[key]
	if c == nil {
		if len(r.flows) >= r.max {
			p, _ := f.Total()
			r.fullFlows++
			r.fullPkts += p
			return
		}
		c = &flow.Flow{Key: key, First: f.First, FirstSide: side(f.FirstSide)}
		r.flows[key] = c
	}
	for _, s := range []flow.Side{flow.SideA, flow.SideB} {
		d := side(s)
		c.Packets[d] += f.Packets[s]
		c.Bytes[d] += f.Bytes[s]
		c.Payload[d] += f.Payload[s]
		c.Flags[d] |= f.Flags[s]
		c.SYNs[d] += f.SYNs[s]
		if c.App[d] == 0 {
			c.App[d], c.Says[d] = f.App[s], f.Says[s]
		}
	}
	if f.First != 0 && (c.First == 0 || f.First < c.First) {
		c.First, c.FirstSide = f.First, side(f.FirstSide)
	}
	latest := f.Last >= c.Last
	c.Last = max(c.Last, f.Last)
	c.Fragments += f.Fragments
	if f.Unreachable > 0 {
		c.Unreachable += f.Unreachable
		if latest || c.UnreachableFrom == [16]byte{} {
			c.UnreachableType, c.UnreachableCode, c.UnreachableFrom = f.UnreachableType, f.UnreachableCode, f.UnreachableFrom
		}
	}
	if f.TLSVersion != 0 && (latest || c.TLSVersion == 0) {
		c.TLSVersion, c.TLSCipher = f.TLSVersion, f.TLSCipher
	}
	if f.TLSOffer != 0 && (latest || c.TLSOffer == 0) {
		c.TLSOffer = f.TLSOffer
	}
	if sni != "" {
		r.sni[key] = sni
	}
}

// addTo appends copies of the conversations to obs.
func (r *rollup) addTo(obs *classify.Observation) {
	if r.swept == 0 {
		return
	}
	// The conversations' server names join the observation's list; the
	// handles of the engine that swept them may be gone (a restarted one).
	var handles map[string]uint32
	if len(r.sni) > 0 {
		handles = make(map[string]uint32, len(obs.ServerNames)+len(r.sni))
		for i, n := range obs.ServerNames {
			handles[n] = uint32(i + 1)
		}
		obs.ServerNames = slices.Clip(obs.ServerNames) // appends must not write into the engine's list
	}
	for key, c := range r.flows {
		obs.Flows = append(obs.Flows, *c)
		f := &obs.Flows[len(obs.Flows)-1]
		f.SNI = 0 // a conversation's name is in r.sni, in no engine's list
		if name, ok := r.sni[key]; ok {
			h, ok := handles[name]
			if !ok {
				obs.ServerNames = append(obs.ServerNames, name)
				h = uint32(len(obs.ServerNames))
				handles[name] = h
			}
			f.SNI = h
		}
		if c.First != 0 && (obs.First == 0 || c.First < obs.First) {
			obs.First = c.First
		}
		obs.Last = max(obs.Last, c.Last)
	}
	if r.fullFlows > 0 {
		obs.Losses = append(obs.Losses, classify.Loss{
			What:  fmt.Sprintf("idle flows not kept: the rollup of %d conversations was full (%d packets)", r.max, r.fullPkts),
			Count: r.fullFlows,
		})
	}
}

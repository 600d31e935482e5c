package live

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/related"
)

// EBPF is the kernel engine: the bpf counter aggregates flows on the hot
// path; user space only reads the map, hears of flows no profile port covers
// through a ring buffer, and inspects the payload samples the program copies
// (DNS answers, first payloads) to learn names and protocols.
type EBPF struct {
	c     *bpf.Counter
	iface string
	opts  EBPFOptions
	done  sync.WaitGroup
	once  sync.Once

	mu     sync.Mutex
	in     *classify.Inspector
	shadow map[flow.Key]*flow.Flow // what payloads taught about each flow (App, TLS)
	fresh  []flow.Flow
}

// EBPFOptions size the kernel engine.
type EBPFOptions struct {
	// ServerPorts are the ports the profile serves: flows on them are not
	// sent to user space at once.
	ServerPorts []bpf.PortKey
	MaxFlows    int
	// Host and Tunnels are classify.Limits' (its Tunnels rule): the kernel
	// program does not decapsulate, so the packets of the tunnels the rule
	// would decapsulate are reported as a loss: VXLAN and GENEVE are not
	// judged as the outer flow they are counted in, GRE, ERSPAN and
	// IP-in-IP (which the kernel counts apart) not as other traffic.
	Host    []netip.Prefix
	Tunnels classify.Tunnels
}

// OpenEBPF loads the counter and attaches it to iface.
func OpenEBPF(iface string, opts EBPFOptions) (*EBPF, error) {
	// A missing interface is the likelier mistake, and loading first would
	// report missing privileges or an old kernel instead.
	if _, err := net.InterfaceByName(iface); err != nil {
		return nil, fmt.Errorf("interface %s: %w (list them with: ip link)", iface, bpf.ErrNoInterface)
	}
	c, err := bpf.Load(bpf.Options{ServerPorts: opts.ServerPorts, MaxFlows: opts.MaxFlows, Payloads: true})
	if err != nil {
		return nil, err
	}
	if err := c.Attach(iface); err != nil {
		c.Close()
		return nil, err
	}
	e := &EBPF{c: c, iface: iface, in: classify.NewInspector(), shadow: map[flow.Key]*flow.Flow{}, opts: opts}
	e.done.Add(2)
	go e.newFlows()
	go e.payloads()
	return e, nil
}

func (e *EBPF) newFlows() {
	defer e.done.Done()
	for nf := range e.c.NewFlows() {
		f := nf.Flow()
		e.mu.Lock()
		e.fresh = append(e.fresh, f)
		e.mu.Unlock()
	}
}

// maxShadow bounds the per-flow payload facts kept in user space; past it,
// new flows are not inspected (names still are).
const maxShadow = 1 << 20

func (e *EBPF) payloads() {
	defer e.done.Done()
	for p := range e.c.Payloads() {
		t := p.Key.From(p.Side)
		e.mu.Lock()
		sh := e.shadow[p.Key]
		if sh == nil && len(e.shadow) < maxShadow {
			sh = &flow.Flow{Key: p.Key}
			e.shadow[p.Key] = sh
		}
		if sh == nil {
			sh = &flow.Flow{Key: p.Key}
		}
		e.in.Payload(sh, p.Side, &t, p.Data)
		// Control flows' payloads (FTP, portmapper, endpoint mapper) are
		// all copied, so the announcements they carry are learned as
		// analyse learns them.
		e.in.Announce(sh, p.Side, &t, p.Time, p.Data)
		e.mu.Unlock()
	}
}

// Observation reads the kernel's flows and counters.
func (e *EBPF) Observation() (*classify.Observation, error) {
	flows, err := e.c.Flows()
	if err != nil {
		return nil, fmt.Errorf("read flows: %w", err)
	}
	st, err := e.c.Stats() // flows created during the read are not counted as evicted
	if err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	obs := &classify.Observation{
		Flows:           flows,
		Packets:         st.Packets,
		Bytes:           st.Bytes,
		Malformed:       classify.Malformed{Truncated: st.Truncated, Malformed: st.Malformed},
		OrphanFragments: st.UntiedFragments,
		Inputs:          []classify.Input{{Name: e.iface + " (ebpf)", Packets: st.Packets}},
		Losses: []classify.Loss{
			{What: "flows evicted from the full kernel flow map", Count: st.Evicted},
			{What: "packets of new flows the full kernel flow map refused", Count: st.Lost},
			{What: "new-flow notices lost from the ring buffer (alerts wait for the next interval)", Count: st.RingDrops, Degraded: true},
			{What: "payload samples lost (names or protocols may be missing)", Count: st.PayloadDrops, Degraded: true},
		},
	}
	// GRE, ERSPAN and IP-in-IP packets are in the kernel's other traffic;
	// those of tunnels the Tunnels rule would decapsulate are taken out of
	// it and named as not judged below.
	tunP, tunB, tunKinds, err := e.hiddenTunnels(st)
	if err != nil {
		return nil, err
	}
	if p := st.OtherPackets - tunP; p > 0 {
		obs.Other = []classify.OtherCount{{Label: "not port flows (ARP, ICMP errors, neighbour discovery, other protocols)", Packets: p, Bytes: st.OtherBytes - tunB}}
	}
	e.mu.Lock()
	for i := range obs.Flows {
		f := &obs.Flows[i]
		if sh := e.shadow[f.Key]; sh != nil {
			f.App, f.Says, f.TLSVersion, f.TLSCipher, f.TLSOffer, f.SNI = sh.App, sh.Says, sh.TLSVersion, sh.TLSCipher, sh.TLSOffer, sh.SNI
		}
	}
	obs.ServerNames, obs.Names = e.in.Snapshot()
	ann, dropped := e.in.Related()
	e.mu.Unlock()
	classify.AddRelated(obs, ann, dropped)
	for i := range obs.Flows {
		f := &obs.Flows[i]
		if f.Packets[0]+f.Packets[1] == 0 {
			continue
		}
		if obs.First == 0 || f.First < obs.First {
			obs.First = f.First
		}
		obs.Last = max(obs.Last, f.Last)
	}
	var n uint64
	obs.Flows, n = e.dropTunnels(obs.Flows)
	if n > 0 {
		obs.Losses = append(obs.Losses, classify.Loss{What: "packets of VXLAN or GENEVE tunnels, not decapsulated by the eBPF engine (the flows inside are not judged: use --engine pcap, or --tunnels off to judge the outer flows)", Count: n})
	}
	if tunP > 0 {
		obs.Losses = append(obs.Losses, classify.Loss{What: "packets of " + tunKinds + " tunnels, not decapsulated by the eBPF engine (the flows inside are not judged: use --engine pcap, or --tunnels off to count them as other traffic)", Count: tunP})
	}
	return obs, nil
}

// hiddenTunnels returns the packets and bytes of the GRE, ERSPAN and
// IP-in-IP tunnels the kernel counted (as other traffic) that the Tunnels
// rule would decapsulate, and their kinds in words ("gre or ip-in-ip").
// Packets the kernel could not key to a tunnel (its map was full) are among
// them: whether the host is their end is unknown.
func (e *EBPF) hiddenTunnels(st bpf.Stats) (packets, bytes uint64, kinds string, err error) {
	if e.opts.Tunnels == classify.TunnelsOff || st.TunnelPackets == 0 {
		return 0, 0, "", nil
	}
	ts, err := e.c.Tunnels()
	if err != nil {
		return 0, 0, "", fmt.Errorf("read tunnels: %w", err)
	}
	packets, bytes = st.TunnelPackets, st.TunnelBytes
	var names []string
	for _, t := range ts {
		if slices.ContainsFunc(e.opts.Host, func(h netip.Prefix) bool { return h.Contains(t.Src) || h.Contains(t.Dst) }) {
			// The host is a tunnel end: the outer packets are its traffic.
			// The map is read after the totals, so it may hold packets
			// they do not yet count.
			packets -= min(packets, t.Packets)
			bytes -= min(bytes, t.Bytes)
		} else if k := t.Kind.String(); !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		names = []string{"gre, erspan or ip-in-ip"} // only unkeyed packets
	}
	slices.Sort(names)
	return packets, bytes, strings.Join(names, " or "), nil
}

// dropTunnels takes out of flows those on the VXLAN and GENEVE ports that
// the Tunnels rule would decapsulate, which the kernel counts as their
// outer UDP flow: judged, such a flow would be a false alarm on a mirror
// target. It returns the flows left and the packets taken out.
func (e *EBPF) dropTunnels(flows []flow.Flow) ([]flow.Flow, uint64) {
	if e.opts.Tunnels == classify.TunnelsOff {
		return flows, 0
	}
	var n uint64
	kept := flows[:0]
	for i := range flows {
		k := &flows[i].Key
		if k.Proto == ipproto.UDP && (k.APort == 4789 || k.BPort == 4789 || k.APort == 6081 || k.BPort == 6081) {
			a, b := netip.AddrFrom16(k.A).Unmap(), netip.AddrFrom16(k.B).Unmap()
			if !slices.ContainsFunc(e.opts.Host, func(h netip.Prefix) bool { return h.Contains(a) || h.Contains(b) }) {
				p, _ := flows[i].Total()
				n += p
				continue
			}
			// The host is a tunnel end: the outer flow is its traffic.
		}
		kept = append(kept, flows[i])
	}
	return kept, n
}

// Related returns the announcements of related flows learned so far.
func (e *EBPF) Related() []related.Announcement {
	e.mu.Lock()
	defer e.mu.Unlock()
	ann, _ := e.in.Related()
	return ann
}

// Fresh returns the flows the kernel reported because no profile port
// covers them. Each carries only its key, first sender and time.
func (e *EBPF) Fresh() []flow.Flow {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.fresh
	e.fresh = nil
	return f
}

// String names the interface and the engine, for messages.
func (e *EBPF) String() string { return e.iface + " (ebpf engine)" }

// Err is always nil: the kernel program cannot stop on its own.
func (e *EBPF) Err() error { return nil }

// Close detaches the program and waits for the readers.
func (e *EBPF) Close() error {
	var err error
	e.once.Do(func() {
		err = e.c.Close()
		e.done.Wait()
	})
	return err
}

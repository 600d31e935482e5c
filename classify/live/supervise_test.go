package live

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// sweepEngine is an engine that holds flows in a table and lets the
// Supervisor sweep them, as the eBPF engine does.
type sweepEngine struct {
	mu     sync.Mutex
	flows  []flow.Flow
	sni    map[flow.Key]string
	losses []classify.Loss
	total  uint64
}

func (e *sweepEngine) add(f flow.Flow) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flows = append(e.flows, f)
	p, _ := f.Total()
	e.total += p
}

func (e *sweepEngine) Observation() (*classify.Observation, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &classify.Observation{Flows: slices.Clone(e.flows), Packets: e.total, Losses: slices.Clone(e.losses)}, nil
}
func (e *sweepEngine) Fresh() []flow.Flow { return nil }
func (e *sweepEngine) Err() error         { return nil }
func (e *sweepEngine) Close() error       { return nil }

func (e *sweepEngine) sweepIdle(idleSince time.Time) ([]flow.Flow, []string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []flow.Flow
	var sni []string
	keep := e.flows[:0]
	for _, f := range e.flows {
		if f.Last < idleSince.UnixNano() {
			out = append(out, f)
			sni = append(sni, e.sni[f.Key])
		} else {
			keep = append(keep, f)
		}
	}
	e.flows = keep
	return out, sni, nil
}

// tcpFlow is one short TCP connection from client:cport to server:sport,
// with the client's SYN, at time t (Unix ns).
func tcpFlow(client string, cport uint16, server string, sport uint16, t int64, cp, sp uint64) flow.Flow {
	k := flow.MakeKey(ipproto.TCP, netip.AddrPortFrom(netip.MustParseAddr(client), cport), netip.AddrPortFrom(netip.MustParseAddr(server), sport))
	cs := flow.SideA
	if k.Addr(flow.SideA) != netip.MustParseAddr(client) || k.Port(flow.SideA) != cport {
		cs = flow.SideB
	}
	f := flow.Flow{Key: k, First: t, Last: t + 1000, FirstSide: cs}
	f.Packets[cs], f.Bytes[cs], f.SYNs[cs], f.Flags[cs] = cp, cp*60, 1, 0x02|0x10
	f.Packets[cs.Other()], f.Bytes[cs.Other()], f.Flags[cs.Other()] = sp, sp*100, 0x12
	return f
}

// TestSupervisorFoldsSweptFlows churns many short flows through a table
// the Supervisor sweeps, and holds the result to exact totals: every packet
// is in the observation once, the flows fold into one conversation per
// client, server and port with the client's side kept, and the rollup does
// not grow with the number of flows.
func TestSupervisorFoldsSweptFlows(t *testing.T) {
	eng := &sweepEngine{sni: map[flow.Key]string{}}
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	s := Supervise(eng, "lo", SuperviseOptions{Idle: time.Second, Poll: time.Hour, Now: clock})
	defer s.Close()

	const perRound, rounds = 1000, 20
	var want uint64
	for r := range rounds {
		base := now.UnixNano()
		for i := range perRound {
			// Half the clients use the high address, so that the client
			// is side B of some keys and side A of others.
			client := "10.0.0.9"
			if i%2 == 1 {
				client = "10.0.0.200"
			}
			f := tcpFlow(client, uint16(20000+r*perRound/2+i/2), "10.0.0.5", 2049, base, 3, 2)
			eng.add(f)
			want += 5
		}
		if r == 3 {
			k := tcpFlow("10.0.0.9", 20000+3*perRound/2, "10.0.0.5", 2049, base, 3, 2).Key
			eng.mu.Lock()
			eng.sni[k] = "nfs.example"
			eng.mu.Unlock()
		}
		now = now.Add(2 * time.Second) // every flow of this round is now idle
		if _, err := s.Observation(); err != nil {
			t.Fatal(err)
		}
	}
	obs, err := s.Observation()
	if err != nil {
		t.Fatal(err)
	}
	var got uint64
	for _, f := range obs.Flows {
		p, _ := f.Total()
		got += p
	}
	if got != want {
		t.Errorf("packets in flows %d, want %d (exact: nothing lost between sweeps)", got, want)
	}
	if len(obs.Flows) != 2 {
		t.Fatalf("%d flows, want 2 conversations: %+v", len(obs.Flows), obs.Flows)
	}
	for _, c := range obs.Flows {
		client, _ := c.Client(flow.PortHints{})
		if c.Key.Port(client) != 0 || c.Key.Port(client.Other()) != 2049 {
			t.Errorf("conversation %v: client port %d, server port %d; want 0 and 2049", c.Key, c.Key.Port(client), c.Key.Port(client.Other()))
		}
		if c.Packets[client] != 3*perRound*rounds/2 || c.Packets[client.Other()] != 2*perRound*rounds/2 {
			t.Errorf("conversation from %v: client sent %d, server %d; want %d and %d", c.Key.Addr(client),
				c.Packets[client], c.Packets[client.Other()], 3*perRound*rounds/2, 2*perRound*rounds/2)
		}
		if c.SYNs[client] != perRound*rounds/2 || c.FirstSide != client {
			t.Errorf("conversation from %v: %d SYNs, first side %v", c.Key.Addr(client), c.SYNs[client], c.FirstSide)
		}
	}
	var named []string
	for i := range obs.Flows {
		if n := obs.SNI(&obs.Flows[i]); n != "" {
			named = append(named, n)
		}
	}
	if !slices.Equal(named, []string{"nfs.example"}) {
		t.Errorf("server names of conversations %q (list %q), want the one carried over to its conversation", named, obs.ServerNames)
	}
	h, err := s.Health()
	if err != nil {
		t.Fatal(err)
	}
	if h.Swept != perRound*rounds || h.Conversations != 2 || h.RollupFull != 0 {
		t.Errorf("health %+v: want %d swept into 2 conversations", h, perRound*rounds)
	}
}

// TestSupervisorRollupBounded: past MaxConversations, swept flows are
// counted as a loss, never kept.
func TestSupervisorRollupBounded(t *testing.T) {
	eng := &sweepEngine{sni: map[flow.Key]string{}}
	now := time.Unix(1_700_000_000, 0)
	s := Supervise(eng, "lo", SuperviseOptions{Idle: time.Second, Poll: time.Hour, MaxConversations: 10, Now: func() time.Time { return now }})
	defer s.Close()
	for i := range 25 {
		eng.add(tcpFlow(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}).String(), 30000, "10.0.0.5", 443, now.UnixNano(), 1, 1))
	}
	now = now.Add(time.Minute)
	obs, err := s.Observation()
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Flows) != 10 {
		t.Errorf("%d conversations, want the bound of 10", len(obs.Flows))
	}
	var loss *classify.Loss
	for i := range obs.Losses {
		if strings.Contains(obs.Losses[i].What, "rollup") {
			loss = &obs.Losses[i]
		}
	}
	if loss == nil || loss.Count != 15 || loss.Degraded {
		t.Fatalf("losses %+v: want 15 flows lost to the full rollup, making the observation incomplete", obs.Losses)
	}
	if obs.Complete() {
		t.Error("observation complete despite lost flows")
	}
}

// TestSupervisorInterfaceGone: a supervised engine on an interface that
// does not exist says so once, reports itself down, and still observes.
func TestSupervisorInterfaceGone(t *testing.T) {
	eng := &sweepEngine{}
	var mu sync.Mutex
	var notices []Notice
	s := Supervise(eng, "wc7-nonexistent", SuperviseOptions{Poll: 10 * time.Millisecond, Notify: func(n Notice) {
		mu.Lock()
		notices = append(notices, n)
		mu.Unlock()
	}})
	deadline := time.Now().Add(5 * time.Second)
	for s.Up() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several more polls: no repeated notice
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Up() {
		t.Fatal("still up with no interface")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notices) != 1 || notices[0].Kind != NoticeGone || !strings.Contains(notices[0].Message, "wc7-nonexistent") {
		t.Errorf("notices %+v, want one interface_gone", notices)
	}
	if _, err := s.Observation(); err != nil {
		t.Errorf("observation after the interface went: %v", err)
	}
}

// countEngine reports a scripted sequence of eviction counts.
type countEngine struct {
	sweepEngine
	evicted []uint64
}

func (e *countEngine) counters() (Counters, error) {
	v := e.evicted[0]
	e.evicted = e.evicted[1:]
	return Counters{Engine: "ebpf", Evicted: v}, nil
}

// TestHealthEvictionsNeverGoDown: a reading that runs ahead of the truth
// for one evaluation (flows created while the map was read) is not shown;
// an eviction count that stays is shown one reading late; and what was
// shown never goes down, as a Prometheus counter must not.
func TestHealthEvictionsNeverGoDown(t *testing.T) {
	eng := &countEngine{evicted: []uint64{0, 7, 0, 5, 6, 6, 4}}
	s := Supervise(eng, "lo", SuperviseOptions{Poll: time.Hour})
	defer s.Close()
	var got []uint64
	for range 7 {
		h, err := s.Health()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Evicted)
	}
	if want := []uint64{0, 0, 0, 0, 5, 6, 6}; !slices.Equal(got, want) {
		t.Errorf("evictions shown %v, want %v", got, want)
	}
}

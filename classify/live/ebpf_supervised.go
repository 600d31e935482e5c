package live

import (
	"fmt"
	"time"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/classify/flow"
)

// The methods that let a Supervisor keep the kernel engine running for
// weeks: sweep idle flows out of the bounded kernel map, re-attach after the
// interface was re-created, take a reloaded profile's ports.

// sweepIdle removes the flows idle since before idleSince from the kernel
// map and returns them with what payloads taught about each (application,
// TLS, server name), forgetting that in user space too: the kernel map and
// the user-space shadow then both stay bounded by the flows still active.
func (e *EBPF) sweepIdle(idleSince time.Time) ([]flow.Flow, []string, error) {
	flows, err := e.c.Sweep(idleSince)
	if err != nil {
		return nil, nil, fmt.Errorf("sweep idle flows: %w", err)
	}
	sni := make([]string, len(flows))
	e.mu.Lock()
	for i := range flows {
		f := &flows[i]
		if sh := e.shadow[f.Key]; sh != nil {
			f.App, f.Says, f.TLSVersion, f.TLSCipher, f.TLSOffer = sh.App, sh.Says, sh.TLSVersion, sh.TLSCipher, sh.TLSOffer
			sni[i] = e.in.ServerName(sh.SNI)
			delete(e.shadow, f.Key)
		}
	}
	e.mu.Unlock()
	return flows, sni, nil
}

// recover attaches the program again; the maps, and so the counts, are
// kept. Nothing restarts.
func (e *EBPF) recover() error { return e.c.Reattach(e.iface) }

func (e *EBPF) restarts() bool { return false }

func (e *EBPF) setServerPorts(ports []bpf.PortKey) error { return e.c.SetServerPorts(ports) }

func (e *EBPF) counters() (Counters, error) {
	st, err := e.c.Stats() // one read of the map, and an eviction count that does not jump under churn
	if err != nil {
		return Counters{}, fmt.Errorf("read counters: %w", err)
	}
	return Counters{
		Engine:       "ebpf",
		Created:      st.Created,
		Evicted:      st.Evicted,
		MapFull:      st.Lost,
		RingDrops:    st.RingDrops,
		PayloadDrops: st.PayloadDrops,
		LiveFlows:    st.Live,
	}, nil
}

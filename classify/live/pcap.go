package live

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/related"
)

// readTimeout bounds how long the reader waits in libpcap, and so how long
// Close waits for it.
const readTimeout = 200 * time.Millisecond

// Pcap is the libpcap engine: packets are read in user space and classified
// exactly as a capture file would be.
type Pcap struct {
	src   *capture.Live
	iface string
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	filter string // to reopen with (pcap_supervised.go)

	mu   sync.Mutex
	c    *classify.Classifier
	seen int // flows already handed out by Fresh
	err  error
}

// OpenPcap starts capturing on iface with an optional tcpdump-syntax filter;
// lim bounds the flows kept, so that weeks of traffic fit in memory.
func OpenPcap(iface, filter string, lim classify.Limits) (*Pcap, error) {
	src, err := capture.OpenLive(iface, filter, readTimeout)
	if err != nil {
		return nil, err
	}
	p := &Pcap{src: src, iface: iface, filter: filter, c: classify.New(1 << 12), stop: make(chan struct{}), done: make(chan struct{})}
	p.c.SetLimits(lim)
	go p.run()
	return p, nil
}

func (p *Pcap) run() {
	defer close(p.done)
	var fr capture.Frame
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		err := p.src.Next(&fr)
		if errors.Is(err, capture.ErrTimeout) {
			continue
		}
		if err != nil {
			p.mu.Lock()
			p.err = fmt.Errorf("capture on %s: %w", p.iface, err)
			p.mu.Unlock()
			return
		}
		// Uncontended, the lock costs far less than libpcap's own per-packet
		// work, and it lets snapshots be taken while packets flow.
		p.mu.Lock()
		p.c.Add(&fr)
		p.mu.Unlock()
	}
}

// Observation returns the flows so far, with libpcap's drop counts as losses.
func (p *Pcap) Observation() (*classify.Observation, error) {
	st, err := p.src.Stats()
	p.mu.Lock()
	obs := p.c.Observation()
	p.mu.Unlock()
	obs.Inputs = []classify.Input{{Name: p.iface + " (pcap)", Packets: obs.Packets}}
	obs.Filter = p.filter // filtered in the kernel: what it excluded is not counted
	if err != nil {
		return obs, fmt.Errorf("capture statistics on %s: %w", p.iface, err)
	}
	obs.Losses = append([]classify.Loss{
		{What: "packets dropped by libpcap (the reader fell behind)", Count: st.Dropped},
		{What: "packets dropped by the interface", Count: st.IfDropped},
	}, obs.Losses...) // the classifier's own (announcements not kept)
	return obs, nil
}

// Related returns the announcements of related flows learned so far.
func (p *Pcap) Related() []related.Announcement {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.c.Related()
}

// Fresh returns every flow created since the last call: in user space each
// new flow is judged in full at once.
func (p *Pcap) Fresh() []flow.Flow {
	p.mu.Lock()
	defer p.mu.Unlock()
	flows := p.c.FlowsSince(p.seen)
	p.seen += len(flows)
	return flows
}

// String names the interface and the engine, for messages.
func (p *Pcap) String() string { return p.iface + " (pcap engine)" }

// Err returns the error that stopped capturing, if any.
func (p *Pcap) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close stops the reader (within one read timeout) and the capture.
func (p *Pcap) Close() error {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		p.src.Close()
	})
	return nil
}

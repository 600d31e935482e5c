package live

import (
	"fmt"

	"github.com/wirecheck/wirecheck/capture"
)

// recover reopens the capture after libpcap stopped (the interface went
// down or was deleted), keeping the classifier and so every flow. libpcap's
// drop counts start again from zero with the new handle (restarts), so
// the Supervisor carries the old ones over. The Supervisor serialises recover
// with every other call.
func (p *Pcap) recover() error {
	p.mu.Lock()
	failed := p.err != nil
	p.mu.Unlock()
	if !failed {
		return nil // still reading
	}
	<-p.done // run stopped right after it set p.err
	src, err := capture.OpenLive(p.iface, p.filter, readTimeout)
	if err != nil {
		return err
	}
	old := p.src
	p.src = src
	p.done = make(chan struct{})
	p.mu.Lock()
	p.err = nil
	p.mu.Unlock()
	old.Close()
	go p.run()
	return nil
}

func (p *Pcap) restarts() bool { return true }

func (p *Pcap) counters() (Counters, error) {
	st, err := p.src.Stats()
	if err != nil {
		return Counters{Engine: "pcap"}, fmt.Errorf("capture statistics on %s: %w", p.iface, err)
	}
	return Counters{Engine: "pcap", CaptureDropped: st.Dropped, IfDropped: st.IfDropped}, nil
}

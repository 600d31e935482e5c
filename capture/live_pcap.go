//go:build cgo

package capture

import (
	"fmt"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// LiveAvailable says whether this build can capture with libpcap.
const LiveAvailable = true

// Live is a Source capturing from a network interface with libpcap.
type Live struct {
	h    *pcap.Handle
	link layers.LinkType
}

// OpenLive starts capturing on iface (not promiscuous: wirecheck watches the
// host's own traffic), with an optional tcpdump-syntax filter. Next returns
// ErrTimeout every readTimeout while the interface is quiet.
func OpenLive(iface, filter string, readTimeout time.Duration) (*Live, error) {
	if err := checkInterface(iface); err != nil {
		return nil, err
	}
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, fmt.Errorf("capture on %s: %w", iface, err)
	}
	defer in.CleanUp()
	for _, set := range []func() error{
		func() error { return in.SetSnapLen(262144) },
		func() error { return in.SetPromisc(false) },
		func() error { return in.SetTimeout(readTimeout) },
		// Packets reach the flow table as they arrive rather than when a
		// kernel block fills or times out: alerts come at once, and the
		// final report at SIGINT misses nothing still waiting in a block.
		func() error { return in.SetImmediateMode(true) },
		func() error { return in.SetBufferSize(16 << 20) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("capture on %s: %w", iface, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		msg := err.Error()
		if strings.Contains(strings.ToLower(msg), "permission") || strings.Contains(msg, "not permitted") {
			return nil, fmt.Errorf("capture on %s: permission denied: run as root or grant CAP_NET_RAW (setcap cap_net_raw+ep on the binary)", iface)
		}
		return nil, fmt.Errorf("capture on %s: %s", iface, msg)
	}
	if filter != "" {
		if err := h.SetBPFFilter(filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("filter %q: %w", filter, err)
		}
	}
	return &Live{h: h, link: h.LinkType()}, nil
}

// Next reads the next packet, or returns ErrTimeout.
func (l *Live) Next(f *Frame) error {
	data, ci, err := l.h.ZeroCopyReadPacketData()
	switch {
	case err == pcap.NextErrorTimeoutExpired:
		return ErrTimeout
	case err != nil:
		return err
	}
	f.Data, f.WireLen, f.Time, f.LinkType = data, max(ci.Length, len(data)), ci.Timestamp.UnixNano(), l.link
	return nil
}

// Stats returns libpcap's counters: packets the kernel dropped because the
// reader was too slow, and drops by the interface.
func (l *Live) Stats() (LiveStats, error) {
	s, err := l.h.Stats()
	if err != nil {
		return LiveStats{}, err
	}
	return LiveStats{uint64(s.PacketsReceived), uint64(s.PacketsDropped), uint64(s.PacketsIfDropped)}, nil
}

// Close stops the capture.
func (l *Live) Close() error {
	l.h.Close()
	return nil
}

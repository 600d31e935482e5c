//go:build cgo

package capture

import (
	"fmt"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// maxSnaplen is libpcap's largest snap length: filters compiled with it see
// whole frames.
const maxSnaplen = 262144

type pcapFilter struct{ bpf *pcap.BPF }

func compileFilter(link layers.LinkType, expr string) (matcher, error) {
	bpf, err := pcap.NewBPF(link, maxSnaplen, expr)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	return pcapFilter{bpf}, nil
}

func (p pcapFilter) match(f *Frame) bool {
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, f.Time), CaptureLength: len(f.Data), Length: f.WireLen}
	return p.bpf.Matches(ci, f.Data)
}

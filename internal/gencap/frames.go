package gencap

import (
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/wirecheck/wirecheck/capture"
)

// Frames returns the capture cfg describes as frames in memory, their data
// packed one after another in a single buffer as a reader's buffer holds
// them, for benchmarks of what comes after reading.
func Frames(cfg Config) ([]capture.Frame, error) {
	var arena []byte
	type span struct {
		off, n int
		ts     int64
	}
	spans := make([]span, 0, cfg.Packets)
	_, err := Each(cfg, func(ts time.Time, frame []byte) error {
		spans = append(spans, span{len(arena), len(frame), ts.UnixNano()})
		arena = append(arena, frame...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	frames := make([]capture.Frame, len(spans))
	for i, s := range spans {
		frames[i] = capture.Frame{
			Data: arena[s.off : s.off+s.n : s.off+s.n], WireLen: s.n, Time: s.ts,
			LinkType: layers.LinkTypeEthernet,
		}
	}
	return frames, nil
}

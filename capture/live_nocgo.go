//go:build !cgo

package capture

import "time"

// LiveAvailable says whether this build can capture with libpcap.
const LiveAvailable = false

// Live is a live capture; without cgo there is no libpcap to provide it.
type Live struct{}

// OpenLive reports ErrNoLive in builds without cgo.
func OpenLive(iface, filter string, readTimeout time.Duration) (*Live, error) {
	if err := checkInterface(iface); err != nil {
		return nil, err
	}
	return nil, ErrNoLive
}

func (*Live) Next(*Frame) error         { return ErrNoLive }
func (*Live) Stats() (LiveStats, error) { return LiveStats{}, ErrNoLive }
func (*Live) Close() error              { return nil }

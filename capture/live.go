package capture

import (
	"errors"
	"fmt"
	"net"
)

// ErrTimeout is returned by Live.Next when no packet arrived within the read
// timeout, so that a reader can check for cancellation between packets.
var ErrTimeout = errors.New("read timeout")

// ErrNoLive is returned by OpenLive in builds without libpcap. It says what
// is missing; the command line adds which engine to use instead.
var ErrNoLive = errors.New("live capture needs libpcap: this wirecheck was built without cgo")

// LiveStats are libpcap's counts for a live capture.
type LiveStats struct {
	Received, Dropped, IfDropped uint64
}

// checkInterface gives the one-line error for an interface that does not
// exist, before libpcap gives a vaguer one.
func checkInterface(name string) error {
	if _, err := net.InterfaceByName(name); err != nil {
		return fmt.Errorf("interface %s: no such interface (list them with: ip link)", name)
	}
	return nil
}

package capture

import (
	"errors"
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// Frame is one captured packet.
type Frame struct {
	// Data is the captured bytes, valid until the next call to Next.
	Data []byte
	// WireLen is the packet's length on the wire, which exceeds len(Data)
	// when the capture was cut by a snap length.
	WireLen int
	// Time is the capture time in Unix nanoseconds.
	Time int64
	// LinkType is the link-layer header type of Data.
	LinkType layers.LinkType
}

// Source delivers captured packets. Next returns io.EOF after the last one.
type Source interface {
	Next(f *Frame) error
	Close() error
}

// ReadError says where reading a capture stopped early.
type ReadError struct {
	Name string // the file, or "-" for standard input
	// Packets is the number of packets read before the damage: they were
	// delivered and are part of the observation.
	Packets uint64
	Err     error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("%s: reading stopped after packet %d: %v", e.Name, e.Packets, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// ErrNoFilter is returned when a filter expression is given to a build of
// wirecheck without libpcap, which is what compiles tcpdump-syntax filters.
var ErrNoFilter = errors.New("filter expressions need libpcap: this wirecheck was built without cgo (build with CGO_ENABLED=1 and libpcap-dev)")

//go:build !(linux && (amd64 || arm64))

package bpf

import (
	"time"

	"github.com/wirecheck/wirecheck/classify/flow"
)

// Counter is the eBPF flow counter; on this platform Load always fails with
// ErrUnsupported.
type Counter struct{}

// Load returns ErrUnsupported on this platform.
func Load(Options) (*Counter, error) { return nil, ErrUnsupported }

// Attach returns ErrUnsupported.
func (*Counter) Attach(string) error { return ErrUnsupported }

// Flows returns ErrUnsupported.
func (*Counter) Flows() ([]flow.Flow, error) { return nil, ErrUnsupported }

// Sweep returns ErrUnsupported.
func (*Counter) Sweep(time.Time) ([]flow.Flow, error) { return nil, ErrUnsupported }

// NewFlows returns a nil channel.
func (*Counter) NewFlows() <-chan NewFlow { return nil }

// Payloads returns a nil channel.
func (*Counter) Payloads() <-chan Payload { return nil }

// Tunnels returns ErrUnsupported.
func (*Counter) Tunnels() ([]Tunnel, error) { return nil, ErrUnsupported }

// Stats returns ErrUnsupported.
func (*Counter) Stats() (Stats, error) { return Stats{}, ErrUnsupported }

// Close does nothing.
func (*Counter) Close() error { return nil }

// Reattach returns ErrUnsupported.
func (*Counter) Reattach(string) error { return ErrUnsupported }

// SetServerPorts returns ErrUnsupported.
func (*Counter) SetServerPorts([]PortKey) error { return ErrUnsupported }

// TCXPrograms returns ErrUnsupported.
func TCXPrograms(int) ([]string, error) { return nil, ErrUnsupported }

//go:build !(linux && (amd64 || arm64))

package bpf

// Reattach returns ErrUnsupported.
func (*Counter) Reattach(string) error { return ErrUnsupported }

// SetServerPorts returns ErrUnsupported.
func (*Counter) SetServerPorts([]PortKey) error { return ErrUnsupported }

// StableStats returns ErrUnsupported.
func (*Counter) StableStats() (Stats, error) { return Stats{}, ErrUnsupported }

// TCXPrograms returns ErrUnsupported.
func TCXPrograms(int) ([]string, error) { return nil, ErrUnsupported }

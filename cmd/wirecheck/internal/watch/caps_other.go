//go:build !linux

package watch

type capability struct {
	n    uint
	name string
}

var ebpfCaps, pcapCaps []capability

// missingCaps knows no capabilities outside Linux: the engines' own errors
// say what is wrong.
func missingCaps([]capability) ([]string, error) { return nil, nil }

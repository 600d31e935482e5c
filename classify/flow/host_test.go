package flow

import (
	"net/netip"
	"slices"
	"testing"
)

func TestInferHost(t *testing.T) {
	key := func(a, b string) Flow {
		return Flow{Key: Key{A: netip.MustParseAddr(a).As16(), B: netip.MustParseAddr(b).As16()}}
	}
	tests := []struct {
		name  string
		flows []Flow
		want  []string
	}{
		{"none", nil, nil},
		{"most flows", []Flow{key("10.0.0.5", "192.0.2.1"), key("10.0.0.5", "192.0.2.2"), key("192.0.2.1", "192.0.2.3")}, []string{"10.0.0.5"}},
		{"lowest of equals", []Flow{key("10.0.0.9", "10.0.0.5")}, []string{"10.0.0.5"}},
		{"dual stack", []Flow{key("10.0.0.5", "192.0.2.1"), key("10.0.0.5", "192.0.2.2"), key("fd00::5", "fd00::1"), key("fd00::5", "fd00::2")}, []string{"10.0.0.5", "fd00::5"}},
		{"the more frequent family first", []Flow{key("10.0.0.5", "192.0.2.1"), key("10.0.0.5", "192.0.2.2"), key("fd00::5", "fd00::1"), key("fd00::5", "fd00::2"), key("fd00::5", "fd00::3")}, []string{"fd00::5", "10.0.0.5"}},
		// Tied in its own family, the second address is a guess too far.
		{"tie in the other family", []Flow{key("10.0.0.5", "192.0.2.1"), key("10.0.0.5", "192.0.2.2"), key("fd00::5", "fd00::1")}, []string{"10.0.0.5"}},
		{"a flow to itself counts once", []Flow{key("10.0.0.7", "10.0.0.7"), key("10.0.0.7", "10.0.0.1"), key("10.0.0.1", "10.0.0.2"), key("10.0.0.1", "10.0.0.3")}, []string{"10.0.0.1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range InferHost(tc.flows) {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("InferHost = %v, want %v", got, tc.want)
			}
		})
	}
}

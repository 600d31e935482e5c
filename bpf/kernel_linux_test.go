//go:build linux && (amd64 || arm64)

package bpf

import (
	"errors"
	"fmt"
	"testing"
)

// TestKernelTooOldSaysWhatIsMissing: the check no feature probe can make
// (the verifier's acceptance of pointer arguments to global functions)
// names the feature, the kernel's version and the alternative, in the words
// watch prints.
func TestKernelTooOldSaysWhatIsMissing(t *testing.T) {
	for _, tc := range []struct {
		v    [2]int
		want string
	}{
		{[2]int{5, 10}, "load flow counter: kernel too old for the eBPF engine: BPF global functions with pointer arguments (Linux 5.12) are missing (kernel 5.10)"},
		{[2]int{4, 19}, "load flow counter: kernel too old for the eBPF engine: BPF global functions with pointer arguments (Linux 5.12) are missing (kernel 4.19)"},
		{[2]int{5, 12}, ""},
		{[2]int{6, 1}, ""},
	} {
		err := checkVersion(tc.v)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%d.%d: %v, want no error", tc.v[0], tc.v[1], err)
			}
			continue
		}
		if !errors.Is(err, ErrKernelTooOld) {
			t.Errorf("%d.%d: %v is not ErrKernelTooOld", tc.v[0], tc.v[1], err)
		}
		// Load wraps it so.
		if got := fmt.Errorf("load flow counter: %w", err).Error(); got != tc.want {
			t.Errorf("%d.%d:\n got %s\nwant %s", tc.v[0], tc.v[1], got, tc.want)
		}
	}
}

package testenv

import "testing"

// TestRequirePrivilegedInCI checks the rule that matters most: with CI=true
// an unprivileged run fails instead of skipping.
func TestRequirePrivilegedInCI(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		r := &recorder{}
		func() {
			defer func() { recover() }() // Fatalf/Skipf stop the goroutine
			requirePrivileged(r, 1000)
		}()
		if ci == "true" && !r.failed {
			t.Errorf("CI=true, not root: did not fail")
		}
		if ci == "" && (!r.skipped || r.failed) {
			t.Errorf("CI unset, not root: skipped=%v failed=%v, want a skip", r.skipped, r.failed)
		}
		r = &recorder{}
		requirePrivileged(r, 0)
		if r.failed || r.skipped {
			t.Errorf("root: failed=%v skipped=%v", r.failed, r.skipped)
		}
	}
}

// recorder is a testing.TB that records instead of stopping.
type recorder struct {
	testing.TB
	failed, skipped bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic("fatal") }
func (r *recorder) Skipf(string, ...any)  { r.skipped = true; panic("skip") }

// TestRequireKernelConfig: a kernel whose config says an option is not set
// skips; one that says it is set, or says nothing, fails.
func TestRequireKernelConfig(t *testing.T) {
	if _, known := kernelConfig("CONFIG_NET"); !known {
		t.Skip("no /proc/config.gz on this kernel")
	}
	for _, c := range []struct {
		option       string
		skip, failed bool
	}{
		{"CONFIG_NET", false, true},               // every kernel that runs these tests has networking
		{"CONFIG_WIRECHECK_NO_SUCH", false, true}, // not in the file: unknown
	} {
		r := &recorder{}
		func() {
			defer func() { recover() }()
			RequireKernelConfig(r, c.option, "why")
		}()
		if r.skipped != c.skip || r.failed != c.failed {
			t.Errorf("%s: skipped=%v failed=%v, want %v %v", c.option, r.skipped, r.failed, c.skip, c.failed)
		}
	}
	if set, known := kernelConfig("CONFIG_NET"); !set || !known {
		t.Errorf("CONFIG_NET: set=%v known=%v", set, known)
	}
}

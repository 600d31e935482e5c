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

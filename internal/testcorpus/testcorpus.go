// Package testcorpus finds the shared corpus of real, often malformed
// captures (tcpdump's test suite and protocol samples) for tests.
//
// The corpus is not part of the repository: it lives beside the checkout at
// ../shared/corpus, or wherever WIRECHECK_CORPUS points. Tests that need it
// skip on a developer machine without it and fail in CI (CI=true), where the
// corpus test is a requirement, not a nicety.
package testcorpus

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the corpus directory, or the sub-directory sub of it.
func Dir(t testing.TB, sub ...string) string {
	t.Helper()
	root := os.Getenv("WIRECHECK_CORPUS")
	if root == "" {
		// This file is <module>/internal/testcorpus/testcorpus.go; the corpus
		// is <module>/../shared/corpus, whatever the test's working directory.
		_, self, _, _ := runtime.Caller(0)
		root = filepath.Join(filepath.Dir(self), "..", "..", "..", "shared", "corpus")
	}
	dir := filepath.Join(append([]string{root}, sub...)...)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("capture corpus missing in CI: %v (put it at ../shared/corpus beside the checkout or set WIRECHECK_CORPUS)", err)
		}
		t.Skipf("capture corpus not available (%v); expected at ../shared/corpus beside the checkout or in WIRECHECK_CORPUS", err)
	}
	return dir
}

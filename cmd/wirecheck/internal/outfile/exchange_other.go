//go:build !linux

package outfile

// exchange has no atomic swap to use outside Linux: replace renames.
func exchange(tmp, dest string) bool { return false }

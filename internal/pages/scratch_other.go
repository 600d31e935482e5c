//go:build !linux

package pages

// Scratch returns n zero values of T and a release that does nothing: only
// Linux maps scratch memory of its own (scratch_linux.go).
func Scratch[T any](n int) (s []T, release func()) { return make([]T, n), func() {} }

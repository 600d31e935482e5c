package pages

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Scratch returns n zero values of T in memory mapped for them alone,
// outside the Go heap and backed at once (Prefault), and release, which
// unmaps it. It is for large arrays needed for a moment: unmapped, their
// pages leave the process at once, where a dead heap array stays resident
// until a collection lets the heap reuse it: on a million-flow capture the
// radix sort's keys on the heap raised the run's peak memory. T must hold no pointers, as the collector does not look into this
// memory; nothing may use s after release. Where mapping fails, s is on
// the heap and release does nothing.
func Scratch[T any](n int) (s []T, release func()) {
	size := n * int(unsafe.Sizeof(*new(T)))
	if size < minPrefault {
		return make([]T, n), func() {}
	}
	m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		s = make([]T, n)
		Prefault(s)
		return s, func() {}
	}
	s = unsafe.Slice((*T)(unsafe.Pointer(&m[0])), n)
	Prefault(s)
	return s, func() { _ = unix.Munmap(m) }
}

package pages

import (
	"runtime"
	"unsafe"
)

const (
	// hugePage is the size of an x86-64 and arm64 transparent huge page.
	hugePage = 2 << 20
	// page is the base page size of those platforms. A larger one (arm64
	// with 16 or 64 KiB pages) only makes the kernel refuse an unaligned
	// range, which leaves those pages to fault in as before.
	page = 4 << 10
	// minPrefault is the smallest array Prefault backs: below it the
	// system call saves a few faults at most.
	minPrefault = 64 << 10
)

// Huge asks for transparent huge pages under the backing array of s (its
// capacity), before its pages are first touched: pages already faulted in
// stay small until the kernel's background collapse. Only the whole
// aligned huge pages inside the array can be huge, so arrays under 4 MiB
// are left alone.
func Huge[T any](s []T) {
	p, size := span(s)
	if size < 2*hugePage {
		return // no whole aligned huge page inside, or too small to matter
	}
	start := (p + hugePage - 1) &^ (hugePage - 1)
	end := (p + size) &^ (hugePage - 1)
	if end > start {
		madvise(start, end-start, adviseHuge)
	}
	runtime.KeepAlive(s)
}

// Prefault backs the pages under s's backing array (its capacity) with
// memory in one system call, as writing each would, for an array about to
// be filled; whole huge pages inside it are huge (Huge). Its contents do
// not change: pages already there are left as they are, and a new page is
// zero, as its first touch would have found it. Arrays under 64 KiB are
// left to fault.
func Prefault[T any](s []T) {
	Huge(s)
	prefault(s, adviseWrite)
}

// PrefaultRead maps the pages under s for reading, as reading each would:
// for a large array (a table in a package's variables) that is read but
// mostly never written, whose untouched pages stay the shared zero page.
func PrefaultRead[T any](s []T) { prefault(s, adviseRead) }

func prefault[T any](s []T, advice int) {
	p, size := span(s)
	if size < minPrefault {
		return
	}
	// The pages that hold the array's first and last bytes also hold
	// other memory of the same mapping, which backing leaves unchanged.
	start := p &^ (page - 1)
	end := (p + size + page - 1) &^ (page - 1)
	madvise(start, end-start, advice)
	runtime.KeepAlive(s)
}

// span returns the address and size in bytes of s's backing array.
func span[T any](s []T) (uintptr, uintptr) {
	if cap(s) == 0 {
		return 0, 0
	}
	var zero T
	return uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(cap(s)) * unsafe.Sizeof(zero)
}

package hugemem

import "unsafe"

// hugePage is the size of an x86-64 and arm64 transparent huge page.
const hugePage = 2 << 20

// Advise asks for huge pages under the backing array of s (its capacity),
// before its pages are first touched: pages already faulted in stay small
// until the kernel's background collapse. It is advice: where huge pages
// are unavailable (another OS, THP disabled) it does nothing.
func Advise[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	var zero T
	size := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if size < 2*hugePage {
		return // no whole aligned huge page inside, or too small to matter
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	start := (p + hugePage - 1) &^ (hugePage - 1)
	end := (p + size) &^ (hugePage - 1)
	if end > start {
		advise(unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), start-p), end-start)
	}
}

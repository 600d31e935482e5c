package pages

import "golang.org/x/sys/unix"

const (
	adviseHuge  = unix.MADV_HUGEPAGE
	adviseWrite = unix.MADV_POPULATE_WRITE
	adviseRead  = unix.MADV_POPULATE_READ
)

// madvise gives advice on the n bytes at start. The range is passed as
// integers, not as a pointer: it may begin in the page before an array, in
// memory the collector must not be shown a pointer to.
//
// The error is dropped: EINVAL (a kernel without THP or without
// MADV_POPULATE_*) and the like only mean the pages fault in as usual, and
// ENOMEM from populating means memory is short, which touching the pages
// would meet too.
func madvise(start, n uintptr, advice int) {
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, start, n, uintptr(advice))
}

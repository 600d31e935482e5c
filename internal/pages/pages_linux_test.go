package pages

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestHugeGivesHugePages: an advised array, once touched, is backed by
// at least one huge page wherever the kernel offers them on request.
func TestHugeGivesHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages are off here (%q, %v): nothing to test", mode, err)
	}
	// Memory fresh from the kernel, as a large Go allocation early in a
	// run is: pages the runtime touched before stay small whatever the
	// advice, which would make a test on the Go heap depend on its history.
	m := fresh(t, 8<<20)
	s := unsafe.Slice((*uint64)(unsafe.Pointer(&m[0])), len(m)/8)
	Huge(s)
	for i := 0; i < len(s); i += 512 {
		s[i] = 1
	}
	kb := anonHugeKB(t, uintptr(unsafe.Pointer(&s[0])))
	if kb < 2048 {
		t.Errorf("the advised 8 MiB array's mapping has %d kB of huge pages, want at least 2048 (one huge page)", kb)
	}
}

// anonHugeKB returns AnonHugePages of the mapping that holds addr.
func anonHugeKB(t *testing.T, addr uintptr) int {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && !strings.HasSuffix(fields[0], ":") {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uint64(addr) >= a && uint64(addr) < b
			continue
		}
		if in && fields[0] == "AnonHugePages:" {
			kb, _ := strconv.Atoi(fields[1])
			return kb
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return 0
}

// fresh returns n bytes of anonymous memory straight from the kernel, none
// of it touched yet.
func fresh(t *testing.T, n int) []byte {
	t.Helper()
	m, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	return m
}

// resident counts the pages of m that are backed (mincore).
func resident(t *testing.T, m []byte) int {
	t.Helper()
	vec := make([]byte, (len(m)+page-1)/page)
	// x/sys/unix has no wrapper for mincore.
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestPrefaultBacksEveryPage: every page under the array, including those
// its unaligned first and last bytes share with the rest of the mapping,
// is backed after Prefault, and none outside them.
func TestPrefaultBacksEveryPage(t *testing.T) {
	if !populateSupported(t) {
		t.Skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14): Prefault is advice it ignores")
	}
	m := fresh(t, 1<<20)
	if n := resident(t, m); n != 0 {
		t.Fatalf("fresh memory has %d pages backed, want 0", n)
	}
	// From 100 bytes into page 1 to 100 bytes short of page 51's end.
	s := unsafe.Slice((*uint32)(unsafe.Pointer(&m[page+100])), (50*page-200)/4)
	Prefault(s)
	if n := resident(t, m[page:51*page]); n != 50 {
		t.Errorf("%d of the 50 pages under the array are backed, want all", n)
	}
	if n := resident(t, m) - resident(t, m[page:51*page]); n != 0 {
		t.Errorf("%d pages outside the array are backed, want none", n)
	}
	for i, v := range s {
		if v != 0 {
			t.Fatalf("element %d of fresh memory is %d after Prefault, want 0", i, v)
		}
	}
}

// TestPrefaultKeepsContents: pages already written keep what they hold.
func TestPrefaultKeepsContents(t *testing.T) {
	s := make([]uint64, 1<<15) // 256 KiB
	for i := range s {
		s[i] = uint64(i) * 0x9e3779b97f4a7c15
	}
	Prefault(s)
	PrefaultRead(s)
	for i, v := range s {
		if want := uint64(i) * 0x9e3779b97f4a7c15; v != want {
			t.Fatalf("element %d is %#x after Prefault, want %#x", i, v, want)
		}
	}
}

// TestPrefaultLeavesSmallArrays: an array under minPrefault is left to
// fault in, which costs less than the system call would save.
func TestPrefaultLeavesSmallArrays(t *testing.T) {
	m := fresh(t, 1<<20)
	Prefault(m[: minPrefault-1 : minPrefault-1]) // Prefault covers the capacity
	if n := resident(t, m); n != 0 {
		t.Errorf("%d pages backed after Prefault of %d bytes, want 0", n, minPrefault-1)
	}
}

// populateSupported reports whether the kernel knows MADV_POPULATE_WRITE,
// by asking it of one page.
func populateSupported(t *testing.T) bool {
	m := fresh(t, page)
	return unix.Madvise(m, unix.MADV_POPULATE_WRITE) == nil
}

// TestScratchLeavesWithRelease: scratch memory is backed when it comes,
// zero, writable, and gone from the process once released.
func TestScratchLeavesWithRelease(t *testing.T) {
	const n = 4 << 20 / 8
	s, release := Scratch[uint64](n)
	if len(s) != n {
		t.Fatalf("%d values, want %d", len(s), n)
	}
	addr := uintptr(unsafe.Pointer(&s[0]))
	if populateSupported(t) {
		if r := resident(t, unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 8*n)); r != 8*n/page {
			t.Errorf("%d of the scratch's %d pages are backed before it is touched, want all", r, 8*n/page)
		}
	}
	for i := range s {
		if s[i] != 0 {
			t.Fatalf("value %d is %d, want zero", i, s[i])
		}
		s[i] = uint64(i)
	}
	release()
	// Gone: the range is unmapped (mincore fails with ENOMEM), or, should
	// the kernel have mapped something else there since, none of its pages
	// is resident.
	vec := make([]byte, 8*n/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, addr, 8*n, uintptr(unsafe.Pointer(&vec[0])))
	switch errno {
	case unix.ENOMEM:
	case 0:
		for i, v := range vec {
			if v&1 != 0 {
				t.Fatalf("page %d of the released scratch is still resident", i)
			}
		}
	default:
		t.Fatalf("mincore: %v", errno)
	}
	small, releaseSmall := Scratch[byte](100)
	small[99] = 1 // a heap array: nothing to unmap
	releaseSmall()
}

package hugemem

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestAdviseGivesHugePages: an advised array, once touched, is backed by
// at least one huge page wherever the kernel offers them on request.
func TestAdviseGivesHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages are off here (%q, %v): nothing to test", mode, err)
	}
	// Memory fresh from the kernel, as a large Go allocation early in a
	// run is: pages the runtime touched before stay small whatever the
	// advice, which would make a test on the Go heap depend on its history.
	m, err := unix.Mmap(-1, 0, 8<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	s := unsafe.Slice((*uint64)(unsafe.Pointer(&m[0])), len(m)/8)
	Advise(s)
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

// Package kernel reads the running kernel's version, for the few checks no
// feature probe can make. It has no state and is safe for concurrent use.
package kernel

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Version returns the running kernel's major and minor version.
func Version() ([2]int, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return [2]int{}, fmt.Errorf("uname: %w", err)
	}
	return ParseRelease(unix.ByteSliceToString(u.Release[:]))
}

// AtLeast reports whether version v is major.minor or later.
func AtLeast(v [2]int, major, minor int) bool {
	return v[0] > major || (v[0] == major && v[1] >= minor)
}

// ParseRelease reads a release string such as "6.18.44-fc" as [6, 18].
func ParseRelease(rel string) ([2]int, error) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return [2]int{}, fmt.Errorf("kernel release %q: want major.minor", rel)
	}
	var v [2]int
	for i := range v {
		s := parts[i]
		if j := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
			s = s[:j]
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return [2]int{}, fmt.Errorf("kernel release %q: %w", rel, err)
		}
		v[i] = n
	}
	return v, nil
}

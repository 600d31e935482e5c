package textout

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
)

// Printer buffers a writer's output. bufio.Writer keeps the first write
// error and returns it from Flush, so writers print freely and check once.
type Printer struct{ *bufio.Writer }

// Printf formats to the buffer; errors show at Flush.
func (p Printer) Printf(format string, args ...any) { fmt.Fprintf(p, format, args...) }

// Plural returns one when n is 1, else many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Count writes "1 packet" and "3 packets": the lines are read by people.
func Count(n uint64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatUint(n, 10) + " " + word + "s"
}

// Prefix writes a single address without its /32 or /128.
func Prefix(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// Prefixes writes each of ps as Prefix does.
func Prefixes(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = Prefix(p)
	}
	return out
}

// NonNil makes an empty list encode as [] rather than null, so that
// consumers of the JSON need not tell the two apart.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

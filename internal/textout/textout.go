package textout

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
	"unicode"
	"unicode/utf8"
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

// Wire makes text taken from a capture (a DNS name, a TLS server name)
// safe to print in any report as one token: control characters, DEL,
// invalid UTF-8, spaces and Unicode characters that are not printable or
// that reorder or hide text (U+202E, zero-width joiners) are written as Go
// escapes (\x1b, \u202e), and a backslash as \\. The result names the
// original exactly and holds no line break, no terminal control sequence
// and nothing a terminal draws over other text. Text that needs none of
// this (every real host name) is returned as it is, without allocating.
//
// It is the one place wire text is escaped: names.Table applies it to
// every name it learns, so the report writers receive printable names and
// escape only their own syntax (Markdown, HTML, XML, JSON, YAML, nft).
func Wire(s string) string {
	i := 0
	for i < len(s) && s[i] > ' ' && s[i] < 0x7f && s[i] != '\\' {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	b = append(b, s[:i]...)
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\':
			b = append(b, `\\`...)
		case r == utf8.RuneError && size == 1, r <= ' ', r == 0x7f:
			b = append(b, `\x`...)
			b = append(b, hexDigits[s[i]>>4], hexDigits[s[i]&0xf])
		case r < utf8.RuneSelf:
			b = append(b, byte(r))
		case !unicode.IsPrint(r) || unicode.Is(unicode.Cf, r):
			q := strconv.QuoteRuneToASCII(r) // '\u202e', quotes dropped
			b = append(b, q[1:len(q)-1]...)
		default:
			b = utf8.AppendRune(b, r)
		}
		i += size
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

// Printable is Wire for text read back from a report: a name that needs
// no escaping, or that Wire already escaped (a report of this wirecheck),
// is returned as it is, so its backslashes are not doubled; anything else
// (a report written by hand, or by a version before Wire) is escaped.
func Printable(s string) string {
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == utf8.RuneError || (r >= utf8.RuneSelf && (!unicode.IsPrint(r) || unicode.Is(unicode.Cf, r))) {
			return Wire(s)
		}
	}
	return s
}

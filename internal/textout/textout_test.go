package textout

import (
	"net/netip"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestWords(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Plural(1, "flow", "flows"), "flow"},
		{Plural(0, "flow", "flows"), "flows"},
		{Count(1, "packet"), "1 packet"},
		{Count(3, "packet"), "3 packets"},
		{Prefix(netip.MustParsePrefix("10.0.0.5/32")), "10.0.0.5"},
		{Prefix(netip.MustParsePrefix("fd00::1/128")), "fd00::1"},
		{Prefix(netip.MustParsePrefix("10.0.0.0/8")), "10.0.0.0/8"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if NonNil([]int(nil)) == nil || len(NonNil([]int{1})) != 1 {
		t.Error("NonNil")
	}
}

func TestWire(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"s3.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"},
		{"evil\x1b[2J\nNOT CONFORMANT: 0 problems", `evil\x1b[2J\x0aNOT\x20CONFORMANT:\x200\x20problems`},
		{"a\\x1b", `a\\x1b`},
		{"\xff\xfe.example", `\xff\xfe.example`},
		{"bad\u202egnp.exe", `bad\u202egnp.exe`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"c1\u0085x\x7f", `c1\u0085x\x7f`},
		{"bücher.de", "bücher.de"},
		{"", ""},
	} {
		if got := Wire(c.in); got != c.want {
			t.Errorf("Wire(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Wire("storagegateway.us-east-1.amazonaws.com") }); n != 0 {
		t.Errorf("a host name allocates %v times", n)
	}
}

// FuzzWire: the result is printable, one token, and names the input: two
// inputs never give one output (backslashes are escaped too).
func FuzzWire(f *testing.F) {
	f.Add("evil\x1b[31m\n", "evil\\x1b[31m\\n")
	f.Add("\u202e", "\\u202e")
	f.Fuzz(func(t *testing.T, a, b string) {
		wa, wb := Wire(a), Wire(b)
		if a != b && wa == wb {
			t.Fatalf("%q and %q both give %q", a, b, wa)
		}
		if !utf8.ValidString(wa) {
			t.Fatalf("%q is not UTF-8", wa)
		}
		for _, r := range wa {
			if r <= ' ' || r == 0x7f || !unicode.IsPrint(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("Wire(%q) = %q holds %U", a, wa, r)
			}
		}
	})
}

func TestPrintable(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"s3.amazonaws.com", "s3.amazonaws.com"},
		{`evil\x1b[2j.example`, `evil\x1b[2j.example`}, // escaped already: kept
		{"evil\x1b[2J\n.example", `evil\x1b[2J\x0a.example`},
		{"a\\b\x00", `a\\b\x00`},
	} {
		if got := Printable(c.in); got != c.want {
			t.Errorf("Printable(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

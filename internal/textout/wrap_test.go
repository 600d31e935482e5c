package textout

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendWrapped(t *testing.T) {
	for _, tc := range []struct {
		line  string
		width int
		want  string
	}{
		{"short", 20, "short\n"},
		{"traffic: 104 packets, 16422 bytes, 14 flows", 24, "traffic: 104 packets,\n  16422 bytes, 14 flows\n"},
		{"  3. unexpected: inbound TCP 23 from 10.0.0.66", 24, "  3. unexpected: inbound\n     TCP 23 from\n     10.0.0.66\n"},
		{"  - warning: a b c d e f g h", 20, "  - warning: a b c d\n    e f g h\n"},
		{"  [2] note: a b c d e f g h", 20, "  [2] note: a b c d\n      e f g h\n"},
		{"  expected     tcp 10.0.0.5:1 -> 10.0.0.6:2 (name.example)", 40, "  expected     tcp 10.0.0.5:1 ->\n               10.0.0.6:2 (name.example)\n"},
		{"x verylongwordthatdoesnotfit", 20, "x verylongwordthatdo\n  esnotfit\n"},
		{"héllo wörld ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓", 20, "héllo wörld ✓ ✓ ✓ ✓\n  ✓ ✓ ✓ ✓ ✓\n"},
	} {
		got := string(AppendWrapped(nil, []byte(tc.line), tc.width))
		if got != tc.want {
			t.Errorf("%q at %d:\ngot  %q\nwant %q", tc.line, tc.width, got, tc.want)
		}
		for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			if utf8.RuneCountInString(l) > tc.width {
				t.Errorf("%q at %d: line %q is too long", tc.line, tc.width, l)
			}
		}
		if strings.Join(strings.Fields(got), "") != strings.Join(strings.Fields(tc.line), "") {
			t.Errorf("%q at %d: text lost or changed: %q", tc.line, tc.width, got)
		}
	}
}

func TestWrapperKeepsLinesAndTail(t *testing.T) {
	var b strings.Builder
	w := &Wrapper{W: &b, Width: 20}
	w.Write([]byte("one two three four five six\nsec"))
	w.Write([]byte("ond\nlast without newline"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "one two three four\n  five six\nsecond\nlast without newline"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

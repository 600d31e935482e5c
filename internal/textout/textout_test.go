package textout

import (
	"net/netip"
	"testing"
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

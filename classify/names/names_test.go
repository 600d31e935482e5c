package names

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestAddKeepsNamesSorted: names are stored in order as they are added, so
// Lookup, which judging calls from several goroutines at once, only reads.
// A Lookup that sorted in place on first use let two goroutines sort one
// list together.
func TestAddKeepsNamesSorted(t *testing.T) {
	tab := New()
	a := netip.MustParseAddr("192.0.2.7")
	for _, h := range []string{"c.example", "A.example.", "b.example", "a.example", "d.example"} {
		tab.Add(a, h, FromDNS)
	}
	tab.Add(netip.MustParseAddr("::ffff:192.0.2.7"), "b.example", FromSNI) // the same address, mapped
	stored := tab.m[a]
	hosts := make([]string, len(stored))
	for i, n := range stored {
		hosts[i] = n.Host
	}
	if want := []string{"a.example", "b.example", "c.example", "d.example"}; !slices.Equal(hosts, want) {
		t.Fatalf("stored %q, want %q (sorted, normalised, without duplicates)", hosts, want)
	}
	if stored[1].Source != FromDNS|FromSNI {
		t.Errorf("b.example's sources are %v, want dns+sni", stored[1].Source)
	}
	if got := tab.Hosts(a); !slices.Equal(got, hosts) {
		t.Errorf("Hosts = %q, want %q", got, hosts)
	}
}

// TestAddBounds: an address keeps at most maxNamesPerAddr names; the rest
// are counted as dropped.
func TestAddBounds(t *testing.T) {
	tab := New()
	a := netip.MustParseAddr("2001:db8::1")
	for i := range maxNamesPerAddr + 3 {
		tab.Add(a, strings.Repeat("x", i+1)+".example", FromDNS)
	}
	if n := len(tab.Lookup(a)); n != maxNamesPerAddr {
		t.Errorf("%d names kept, want %d", n, maxNamesPerAddr)
	}
	if tab.Dropped != 3 {
		t.Errorf("Dropped = %d, want 3", tab.Dropped)
	}
}

// TestLookupListsDoNotChange: a list Lookup returned keeps what it held
// when later names of the same address are added.
func TestLookupListsDoNotChange(t *testing.T) {
	tab := New()
	a := netip.MustParseAddr("192.0.2.9")
	// Each name goes before all the others, so every insertion moves the
	// names already there, whatever room the list has grown.
	hosts := []string{"h.example", "g.example", "f.example", "e.example", "d.example", "c.example", "b.example", "a.example"}
	for n, h := range hosts {
		before := tab.Lookup(a)
		held := slices.Clone(before)
		tab.Add(a, h, FromDNS)
		if !slices.Equal(before, held) {
			t.Fatalf("adding %s changed a list handed out before it to %v, want %v", h, before, held)
		}
		if got := len(tab.Lookup(a)); got != n+1 {
			t.Fatalf("%d names after adding %s, want %d", got, h, n+1)
		}
	}
}

// TestNamesEscapedOnce: a name from the wire is stored escaped, and
// merging tables (several inputs, a live engine's sweeps) keeps it as it
// is rather than escaping its backslashes again.
func TestNamesEscapedOnce(t *testing.T) {
	a := netip.MustParseAddr("198.51.100.99")
	t1 := New()
	t1.Add(a, "Evil\x1b[2J\n.Example.", FromDNS)
	const want = `evil\x1b[2j\x0a.example`
	if got := t1.Hosts(a); len(got) != 1 || got[0] != want {
		t.Fatalf("stored %q, want %q", got, want)
	}
	t2 := New()
	t2.Merge(t1)
	t2.Merge(t1)
	if got := t2.Hosts(a); len(got) != 1 || got[0] != want {
		t.Errorf("after Merge %q, want %q", got, want)
	}
}

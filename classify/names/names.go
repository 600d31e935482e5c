package names

import (
	"iter"
	"net/netip"
	"slices"
	"strings"

	"github.com/wirecheck/wirecheck/internal/textout"
)

// Source says how a name was learned.
type Source uint8

const (
	FromDNS Source = 1 << iota // an A/AAAA answer in the capture
	FromSNI                    // the server name a TLS client asked for
)

func (s Source) String() string {
	switch s {
	case FromDNS:
		return "dns"
	case FromSNI:
		return "sni"
	case FromDNS | FromSNI:
		return "dns+sni"
	}
	return ""
}

// Name is one hostname of an address.
type Name struct {
	Host   string
	Source Source
}

// Limits keep a hostile capture from growing the table without bound.
const (
	maxAddrs        = 1 << 20
	maxNamesPerAddr = 16
)

// Table maps addresses to the names they were known by.
type Table struct {
	m map[netip.Addr][]Name
	// Dropped counts names not stored because a limit was reached.
	Dropped uint64
}

// New returns an empty Table.
func New() *Table { return &Table{m: make(map[netip.Addr][]Name)} }

// Add records that addr was known as host. Host names are compared
// case-insensitively and stored lower-case without a trailing dot. Add keeps
// a copy of host, never host itself.
func (t *Table) Add(addr netip.Addr, host string, src Source) {
	t.add(addr, Normalize(host), src)
}

// add is Add of a host already normalized: Normalize escapes backslashes,
// so normalizing twice would double them.
func (t *Table) add(addr netip.Addr, host string, src Source) {
	if host == "" || !addr.IsValid() {
		return
	}
	addr = addr.Unmap()
	names, ok := t.m[addr]
	if !ok && len(t.m) >= maxAddrs {
		t.Dropped++
		return
	}
	// Kept sorted here, so that Lookup only reads: judging looks names
	// up from several goroutines at once, and a lookup that sorted in
	// place let two of them sort one list together.
	i, found := slices.BinarySearchFunc(names, host, func(n Name, h string) int { return strings.Compare(n.Host, h) })
	if found {
		names[i].Source |= src
		return
	}
	if len(names) >= maxNamesPerAddr {
		t.Dropped++
		return
	}
	// A copy: host may alias a buffer its caller reuses (service.DNSReader).
	// Inserted into a new array (Clip), so that a list Lookup handed out
	// never changes under its holder.
	t.m[addr] = slices.Insert(slices.Clip(names), i, Name{Host: strings.Clone(host), Source: src})
}

// Lookup returns the names of addr, sorted by host name. The slice must not
// be modified. It only reads the table, so goroutines may look up at once.
func (t *Table) Lookup(addr netip.Addr) []Name { return t.m[addr.Unmap()] }

// Hosts returns just the host names of addr, sorted.
func (t *Table) Hosts(addr netip.Addr) []string {
	names := t.Lookup(addr)
	if len(names) == 0 {
		return nil
	}
	hosts := make([]string, len(names))
	for i, n := range names {
		hosts[i] = n.Host
	}
	return hosts
}

// Len returns the number of addresses with names.
func (t *Table) Len() int { return len(t.m) }

// Addrs yields every address with names, in no particular order (as
// Lookup finds them: unmapped). It only reads the table.
func (t *Table) Addrs() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		for a := range t.m {
			if !yield(a) {
				return
			}
		}
	}
}

// Merge adds every name of o to t.
func (t *Table) Merge(o *Table) {
	for addr, names := range o.m {
		for _, n := range names {
			t.add(addr, n.Host, n.Source) // normalized when o learned it
		}
	}
	t.Dropped += o.Dropped
}

// Normalize lower-cases a host name, strips a trailing dot and escapes
// what is not printable (textout.Wire): names come from the wire, and a
// DNS answer may hold any bytes, a terminal's escape sequences and line
// breaks included. Every report then receives printable names.
func Normalize(host string) string {
	return textout.Wire(strings.ToLower(strings.TrimSuffix(host, ".")))
}

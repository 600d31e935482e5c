package flow

import (
	"math/rand/v2"
	"testing"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// TestIndexAgreesWithMap puts keys that differ in every field, and many
// that differ in one bit only, into a table that starts small and grows,
// and checks every lookup against a Go map.
func TestIndexAgreesWithMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tab := NewTable(1)
	ref := map[Key]int{}
	var p packet.Parsed
	p.Kind = packet.KindTransport
	for n := range 60_000 {
		tu := &p.Tuple
		switch n % 3 {
		case 0: // random everything
			for i := range tu.Src {
				tu.Src[i], tu.Dst[i] = byte(r.Uint32()), byte(r.Uint32())
			}
			tu.SrcPort, tu.DstPort = uint16(r.Uint32()), uint16(r.Uint32())
			tu.Proto = ipproto.Proto(r.IntN(3) * 11) // 0, 11, 22
		case 1: // one bit of an address flipped
			tu.Src[r.IntN(16)] ^= 1 << r.IntN(8)
		case 2: // another port
			tu.DstPort++
		}
		k, _ := KeyOf(*tu)
		i, side, isNew := tab.Packet(&p, int64(n), 60)
		want, seen := ref[k]
		if !seen {
			want = len(ref)
			ref[k] = want
		}
		if i != want || isNew == seen {
			t.Fatalf("packet %d: flow %d new %v, want %d new %v", n, i, isNew, want, !seen)
		}
		if tab.Flow(i).Key != k || tab.Flow(i).Packets[side] == 0 {
			t.Fatalf("packet %d: flow %d holds %v", n, i, tab.Flow(i).Key)
		}
	}
	if tab.Len() != len(ref) {
		t.Fatalf("%d flows, want %d", tab.Len(), len(ref))
	}
	for k, want := range ref {
		if got := tab.Lookup(k); got != want {
			t.Fatalf("Lookup(%v) = %d, want %d", k, got, want)
		}
		k.APort ^= 0x8000
		if _, ok := ref[k]; !ok && tab.Lookup(k) != -1 {
			t.Fatalf("Lookup of absent %v = %d", k, tab.Lookup(k))
		}
	}
}

// TestRecentAgreesWithMap: once the index is large enough for the recent
// entries (recentFrom), packets of flows already in the table, in random
// order and from three times as many flows as there are entries (so most
// entries are shared and overwritten), each land in their own flow.
func TestRecentAgreesWithMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tab := NewTable(1)
	var keys []Key
	var p packet.Parsed
	p.Kind = packet.KindTransport
	for n := range 3 * recentSlots {
		tu := &p.Tuple
		tu.Src, tu.Dst = [16]byte{15: byte(n)}, [16]byte{14: byte(n >> 8), 15: byte(n >> 16)}
		tu.SrcPort, tu.DstPort, tu.Proto = uint16(n), 443, ipproto.TCP
		k, _ := KeyOf(*tu)
		keys = append(keys, k)
		if i, _, isNew := tab.Packet(&p, int64(n), 60); i != n || !isNew {
			t.Fatalf("flow %d: index %d new %v", n, i, isNew)
		}
	}
	if tab.recent == nil {
		t.Fatalf("%d flows in %d slots and no recent entries: the test checks nothing", tab.Len(), len(tab.index.slots))
	}
	want := make([]uint64, len(keys))
	for range 200_000 {
		// Mostly a few hundred flows at a time, as in a capture, with
		// some from anywhere.
		n := r.IntN(300) + len(keys)/2
		if r.IntN(4) == 0 {
			n = r.IntN(len(keys))
		}
		u := Packet{Key: keys[n], Hash: tab.Hash(&keys[n]), WireLen: 60}
		if i, isNew := tab.Add(&u); i != n || isNew {
			t.Fatalf("packet of flow %d counted in %d (new %v)", n, i, isNew)
		}
		want[n]++
	}
	for n := range keys {
		if got := tab.Flow(n).Packets[SideA] + tab.Flow(n).Packets[SideB]; got != want[n]+1 {
			t.Fatalf("flow %d: %d packets, want %d", n, got, want[n]+1)
		}
	}
}

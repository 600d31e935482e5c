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

package flow

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// TestKeyOfOrder holds KeyOf to its definition: A is the lower address in
// bytes.Compare's order, then the lower port; both directions of a tuple
// give one Key, and From gives the tuple back.
func TestKeyOfOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	addr := func() (a [16]byte) {
		// Few distinct bytes, so that addresses often share long
		// prefixes or are equal.
		for i := range a {
			a[i] = byte(rng.IntN(3))
		}
		return a
	}
	for range 100_000 {
		tu := packet.Tuple{Src: addr(), Dst: addr(), SrcPort: uint16(rng.IntN(3)), DstPort: uint16(rng.IntN(3)), Proto: ipproto.UDP}
		k, s := KeyOf(tu)
		c := bytes.Compare(tu.Src[:], tu.Dst[:])
		wantA := c < 0 || (c == 0 && tu.SrcPort <= tu.DstPort)
		if (s == SideA) != wantA {
			t.Fatalf("KeyOf(%v) side %d, want A: %v", tu, s, wantA)
		}
		if k.From(s) != tu {
			t.Fatalf("KeyOf(%v).From(%d) = %v", tu, s, k.From(s))
		}
		back, bs := KeyOf(k.From(s.Other()))
		if back != k || (bs != s.Other() && k.From(s) != k.From(s.Other())) {
			t.Fatalf("reverse of %v: key %v side %d, want %v side %d", tu, back, bs, k, s.Other())
		}
	}
}

func BenchmarkKeyOf(b *testing.B) {
	ts := make([]packet.Tuple, 1024)
	for i := range ts {
		ts[i].Src[15], ts[i].Dst[15] = byte(i), byte(i>>2)
		ts[i].Src[10], ts[i].Dst[10] = 0xff, 0xff
		ts[i].SrcPort, ts[i].DstPort = uint16(i), 443
	}
	var sink Side
	for i := 0; b.Loop(); i++ {
		_, s := KeyOf(ts[i%len(ts)])
		sink += s
	}
	_ = sink
}

// TestFlowSize: Flow's fields stay without padding between them (see Flow).
func TestFlowSize(t *testing.T) {
	if n := unsafe.Sizeof(Flow{}); n > 152 {
		t.Errorf("Flow is %d bytes, want at most 152: reorder its fields so that none needs padding", n)
	}
}

// TestTouchReachesEveryLine: the fields Touch reads are at most 64 bytes
// apart from the struct's start to its end, so wherever a Flow starts in a
// cache line, each line it spans holds one of them.
func TestTouchReachesEveryLine(t *testing.T) {
	var f Flow
	at := []uintptr{
		unsafe.Offsetof(f.Key) + unsafe.Offsetof(f.Key.A),
		unsafe.Offsetof(f.Bytes),
		unsafe.Offsetof(f.Last),
		unsafe.Offsetof(f.SNI),
		unsafe.Sizeof(f) - 1,
	}
	for i := 1; i < len(at); i++ {
		if at[i]-at[i-1] > 64 {
			t.Errorf("Touch's reads at offsets %v leave %d bytes between %d and %d: a cache line could be missed", at[:len(at)-1], at[i]-at[i-1], at[i-1], at[i])
		}
	}
}

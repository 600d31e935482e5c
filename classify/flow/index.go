package flow

import (
	"hash/maphash"
	"unsafe"

	"github.com/wirecheck/wirecheck/internal/pages"
)

// index finds a Key's position in Table.flows. It is an open-addressing hash
// table with linear probing over 8-byte slots, kept at most half full: the
// slots of 100,000 flows take 2 MB, where a Go map of Key to position takes
// about 6 MB, and a lookup touches one slot (usually in cache) and then the
// flow itself, whose Key is compared in place. The flow table is the cost of
// classifying a packet (shared/PERF-FACTS.md), so this is worth its fifty
// lines.
//
// The hash is the runtime's map hash (maphash) with a seed drawn
// per index, so a crafted capture cannot aim its keys at one chain.
type index struct {
	seed  maphash.Seed
	slots []slot
	mask  uint64
}

type slot struct {
	tag uint32 // the hash's high half, to skip most other keys unread
	pos uint32 // the flow's position in flows plus one; 0 marks a free slot
}

// maxLoad is the inverse of the highest fill ratio: slots ≥ maxLoad × flows.
const maxLoad = 2

func newIndex(hint int) index {
	n := 16
	for n < maxLoad*hint {
		n <<= 1
	}
	x := index{seed: maphash.MakeSeed(), mask: uint64(n - 1)}
	x.slots = newSlots(n)
	return x
}

// hash hashes the bytes of k's fields (all but the trailing padding) with
// maphash.Bytes, which measured a third of the cost of
// maphash.Comparable(x.seed, *k): that hashes the fields one by one after
// two copies of the key.
func (x *index) hash(k *Key) uint64 {
	return maphash.Bytes(x.seed, unsafe.Slice((*byte)(unsafe.Pointer(k)), keyBytes))
}

// keyBytes is the extent of Key's fields, which are laid out without gaps.
const keyBytes = unsafe.Offsetof(Key{}.Proto) + unsafe.Sizeof(Key{}.Proto)

// Key must have no padding between its fields, for hash to see them all.
var _ [0]struct{} = [keyBytes - (2*16 + 2*2 + 1)]struct{}{}

// find returns the position of k (whose hash is h) in flows, or -1 and the
// free slot where k would go.
func (x *index) find(k *Key, h uint64, flows []Flow) (pos int, free uint64) {
	tag := uint32(h >> 32)
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s.pos == 0 {
			return -1, i
		}
		if s.tag == tag && flows[s.pos-1].Key.equal(k) {
			return int(s.pos - 1), i
		}
	}
}

// add records that the key with hash h is at pos, in the free slot that
// find returned. It reports whether the index must grow before the next add.
func (x *index) add(free, h uint64, pos int) (full bool) {
	x.slots[free] = slot{tag: uint32(h >> 32), pos: uint32(pos + 1)}
	return maxLoad*(pos+2) > len(x.slots)
}

// grow doubles the slots and places every flow again.
func (x *index) grow(flows []Flow) {
	n := 2 * len(x.slots)
	x.slots, x.mask = newSlots(n), uint64(n-1)
	for pos := range flows {
		h := x.hash(&flows[pos].Key)
		i := h & x.mask
		for x.slots[i].pos != 0 {
			i = (i + 1) & x.mask
		}
		x.slots[i] = slot{tag: uint32(h >> 32), pos: uint32(pos + 1)}
	}
}

// newSlots returns n free slots with their pages backed: flows land in
// slots at random, so every page of a grown index is written at once, and
// faulting its pages in one at a time cost more than filling them
// (BenchmarkTableGrow in `make bench`).
func newSlots(n int) []slot {
	s := make([]slot, n)
	pages.Prefault(s)
	return s
}

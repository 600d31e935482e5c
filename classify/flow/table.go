package flow

import (
	"unsafe"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/internal/pages"
)

// Table accumulates flows from decoded packets. The zero value is not usable;
// call NewTable.
type Table struct {
	index index
	// recent remembers where the flows of recent packets are, by hash:
	// made once the index outgrows the caches (recentFrom).
	recent *[recentSlots]uint64
	flows  []Flow
	// backed is how many flows of the flows array's capacity have their
	// pages backed (pages.Prefault): the array fills one flow at a time,
	// and its pages are backed ahead of it in steps rather than faulted
	// in one by one.
	backed int
	// frags ties later IP fragments to the flow of their first fragment.
	frags map[fragKey]fragVal

	// OrphanFragments counts later fragments whose first fragment was not
	// seen (or was forgotten): they are in no flow.
	OrphanFragments uint64

	max int // the most flows the table takes; 0: no limit
}

// SetMax makes the table take no new flow once it holds n (0: no limit).
// Packets of flows it holds are still counted; Add, Packet and ICMPError
// return -1 for a packet that would start one more.
func (t *Table) SetMax(n int) { t.max = n }

type fragVal struct {
	flow int32
	side Side
}

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    ipproto.Proto
}

// maxFrags bounds the fragment map; when it fills, the oldest datagrams are
// forgotten all at once, which only costs fragments of datagrams still open.
const maxFrags = 1 << 14

// NewTable returns an empty table sized for about hint flows.
func NewTable(hint int) *Table {
	t := &Table{
		index: newIndex(hint),
		frags: make(map[fragKey]fragVal),
	}
	t.replace(make([]Flow, 0, hint))
	return t
}

// Reserve makes room for n flows without growing again: the array is
// allocated at its final capacity, and the kernel backs its pages only as
// flows fill them, so an unused tail costs address space, not memory. A
// table that grows by doubling holds the old array and the new one at
// once, and keeps each outgrown array until the collector returns it: at a
// million flows that was most of the peak memory. For one-shot reading
// with a known flow limit; a long-lived table should not reserve, as the
// collector paces itself by the reserved size.
func (t *Table) Reserve(n int) {
	if n <= cap(t.flows) {
		return
	}
	t.replace(make([]Flow, 0, n))
}

// backStep is how many flows' pages Table backs at a time: 256 KiB, so a
// small capture backs little it does not use.
const backStep = 256 << 10 / int(unsafe.Sizeof(Flow{}))

// replace moves the flows into flows, an empty array of larger capacity.
// Only what they fill is backed now; the rest as flows arrive (getHashed).
func (t *Table) replace(flows []Flow) {
	pages.Huge(flows)
	old := t.flows
	t.flows, t.backed = flows, 0
	t.back(len(old))
	t.flows = append(t.flows, old...)
}

// back backs the pages of the flows array up to at least n flows, or its
// capacity.
func (t *Table) back(n int) {
	if n <= t.backed {
		return
	}
	end := min(cap(t.flows), max(n, t.backed+backStep))
	pages.Prefault(t.flows[t.backed:end:end])
	t.backed = end
}

// Len returns the number of flows.
func (t *Table) Len() int { return len(t.flows) }

// Flow returns flow i. The pointer is valid until the next call that adds a
// flow.
func (t *Table) Flow(i int) *Flow { return &t.flows[i] }

// Flows returns the flows in the order they appeared. The slice aliases the
// table.
func (t *Table) Flows() []Flow { return t.flows }

// Lookup returns the index of the flow with key k, or -1.
func (t *Table) Lookup(k Key) int {
	i, _ := t.index.find(&k, t.index.hash(&k), t.flows)
	return i
}

func (t *Table) get(k Key) (int, bool) { return t.getHashed(k, t.index.hash(&k)) }

func (t *Table) getHashed(k Key, h uint64) (int, bool) {
	var r *uint64
	if t.recent != nil {
		r = &t.recent[(h>>32)%recentSlots]
		if e := *r; e>>recentPosBits == h>>recentPosBits && e&recentPos != 0 {
			// The key decides, as in the index: the entry may be
			// another flow's whose hash shares these bits.
			if i := int(e&recentPos) - 1; t.flows[i].Key.equal(&k) {
				return i, false
			}
		}
	}
	i, free := t.index.find(&k, h, t.flows)
	if i >= 0 {
		if r != nil {
			*r = remember(h, i)
		}
		return i, false
	}
	if t.max > 0 && len(t.flows) >= t.max {
		return -1, false // full: the one lookup a packet costs also says so
	}
	i = len(t.flows)
	if i == cap(t.flows) {
		// Double, rather than append's quarter steps for large slices:
		// each step copies every flow into memory the kernel must fault
		// in, and that, not the copy, dominated a 100k-flow file.
		// Huge pages and backing ahead: on the VMs measured, touching
		// the flows of a 100k-flow file page by page took longer than
		// counting its packets (internal/pages; BenchmarkTableGrow).
		t.replace(make([]Flow, 0, max(2*i, 64)))
	}
	t.back(i + 1)
	t.flows = append(t.flows, Flow{Key: k})
	if r != nil {
		*r = remember(h, i)
	}
	if t.index.add(free, h, i) {
		t.index.grow(t.flows)
		if t.recent == nil && len(t.index.slots) >= recentFrom {
			t.recent = new([recentSlots]uint64)
		}
	}
	return i, true
}

// The recent entries: a table of recentSlots entries, each the top
// 64-recentPosBits bits of a hash and its flow's position plus one (0:
// none), at the entry chosen by bits 32 and up of the hash. A packet whose
// flow's entry holds it reads that flow and not the index: on a file of
// 100,000 flows the index's slot was a miss in every cache for most
// packets, as its 2 MiB are visited at random, and a capture's packets
// come from far fewer flows at a time (a few thousand in the benchmark
// mix), whose entries fit in 128 KiB. A table under recentFrom slots
// fits in the caches itself and goes without.
const (
	recentSlots   = 1 << 14
	recentPosBits = 48
	recentPos     = 1<<recentPosBits - 1
	recentFrom    = 1 << 16
)

func remember(h uint64, i int) uint64 {
	return h&^recentPos | uint64(i+1)
}

// Packet counts a decoded packet of KindTransport, captured at ts (Unix ns)
// with wireLen bytes on the wire. It returns the flow's index, the side that
// sent the packet and whether the flow is new.
func (t *Table) Packet(p *packet.Parsed, ts int64, wireLen int) (i int, s Side, isNew bool) {
	var u Packet
	u.Set(t, p, ts, wireLen)
	i, isNew = t.Add(&u)
	if p.FirstFragment && i >= 0 {
		t.FirstFragment(p, i, u.Side)
	}
	return i, u.Side, isNew
}

// Hash returns the hash under which the table files k. It reads only the
// table's seed, which never changes, so a goroutine that decodes packets
// for the table's owner may call it while the table is in use.
func (t *Table) Hash(k *Key) uint64 { return t.index.hash(k) }

// Add counts p, whose Hash is set, in its flow. It returns the flow's index
// and whether the flow is new. A first fragment must then be recorded with
// FirstFragment, for its later fragments.
func (t *Table) Add(p *Packet) (i int, isNew bool) {
	i, isNew = t.getHashed(p.Key, p.Hash)
	if i < 0 {
		return -1, false
	}
	t.flows[i].count(p.Side, p.Time, int(p.WireLen), int(p.PayloadLen), p.TCPFlags, p.ICMPType)
	return i, isNew
}

// FirstFragment ties the later fragments of p, a first fragment counted in
// flow i by side s, to that flow.
func (t *Table) FirstFragment(p *packet.Parsed, i int, s Side) {
	if len(t.frags) >= maxFrags {
		clear(t.frags)
	}
	t.frags[fragKey{p.Tuple.Src, p.Tuple.Dst, p.FragID, p.Tuple.Proto}] = fragVal{int32(i), s}
}

// Fragment counts a later IP fragment (KindFragment) to the flow of its first
// fragment. It returns the flow's index, or -1 when the fragment could not be
// tied to a flow (and was counted in OrphanFragments).
func (t *Table) Fragment(p *packet.Parsed, ts int64, wireLen int) int {
	v, ok := t.frags[fragKey{p.Tuple.Src, p.Tuple.Dst, p.FragID, p.Tuple.Proto}]
	if !ok {
		t.OrphanFragments++
		return -1
	}
	f := &t.flows[v.flow]
	f.Count(v.side, ts, wireLen, p)
	f.Fragments++
	return int(v.flow)
}

// ICMPError records an ICMP destination unreachable (KindICMPError) against
// the flow it quotes, creating that flow if the quoted packet itself was not
// captured: the quote is proof of the attempt. It returns the flow's index, or
// -1 for other ICMP errors, which are not tied to flows.
func (t *Table) ICMPError(p *packet.Parsed, ts int64) int {
	if !packet.IsUnreachable(p.Tuple.Proto, p.ICMPType) {
		return -1
	}
	k, s := KeyOf(p.Quoted)
	i, isNew := t.get(k)
	if i < 0 {
		return -1
	}
	f := &t.flows[i]
	if isNew {
		f.First, f.Last, f.FirstSide = ts, ts, s
	}
	f.Unreachable++
	f.UnreachableType, f.UnreachableCode = p.ICMPType, p.ICMPCode
	f.UnreachableFrom = p.Tuple.Src
	return i
}

package classify

import (
	"io"
	"runtime"
	"sync"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/internal/pages"
)

// Read splits the work of a file between two goroutines when there are two
// CPUs to run them. Frames are read in batches (system calls,
// decompression, the filter), decoded (each frame's flow key and hash),
// then counted in the frames' order (flow table, payload inspection,
// counts) by the caller's goroutine, so the Observation is the one Add
// would build frame by frame. A helper goroutine reads and decodes ahead;
// the counting goroutine never waits for it while there is work it can do
// itself (readAhead).
//
// Frames travel in batches of up to batchFrames. A capture.BatchSource (a
// capture file) reads them straight into the batch's buffer; other sources
// hand out frames valid only until their next one, so capture.Batched
// copies their bytes into it. A few batches circulate between the two goroutines, so after the
// first ones neither side allocates.
const (
	batchFrames = 1024
	batchBytes  = 1 << 20
	batches     = 4
)

type batch struct {
	frames [batchFrames]capture.Frame
	d      [batchFrames]decoded
	n      int // frames in frames (and in d when decoded)
	// decoded is set when the helper filled d; otherwise the counting
	// goroutine decodes the frames itself.
	decoded bool
	read    uint64 // frames read from the source, those the filter refused included
	buf     []byte // the frames' bytes
	err     error  // the source's error (io.EOF at its end) after the frames of this batch
}

// Read classifies every frame of src that keep accepts (every frame when keep
// is nil) and records src as an input named name. Damage to src does not
// lose what was read before it: the frames up to the damage are classified,
// the input is marked as stopped, and the error is returned for the caller
// to report. A clean end returns nil.
//
// With more than one CPU (GOMAXPROCS), a helper goroutine reads src (and
// calls keep) too, one goroutine at a time.
func (c *Classifier) Read(name string, src capture.Source, keep func(*capture.Frame) bool) error {
	if runtime.GOMAXPROCS(0) < 2 {
		return c.readSerial(name, src, keep)
	}
	_, err := c.readShared(name, src, keep)
	return err
}

// readShared is Read on two goroutines. It also returns how many batches
// the counting goroutine read itself, for tests.
func (c *Classifier) readShared(name string, src capture.Source, keep func(*capture.Frame) bool) (own int, err error) {
	r := &reader{
		src:  capture.Batched(src),
		keep: keep,
		tab:  c.table,
		full: make(chan *batch, batches),
		free: make(chan *batch, batches),
		stop: make(chan struct{}),
	}
	defer close(r.stop) // the helper may be waiting for a free batch
	var ob *batch       // the batch this goroutine reads into itself
	var n uint64
	for started := false; ; {
		b := r.next(&ob)
		if b == ob {
			own++
		}
		if !started && b.err == nil {
			// Only a file longer than a batch gets the helper: a small
			// one is read without its goroutine and its batches.
			go r.readAhead()
			started = true
		}
		if !b.decoded {
			b.decode(c.table, &c.p)
		}
		for i := range b.n {
			if d := &b.d[i]; d.u.Key.Proto != 0 {
				c.addTransport(d, &b.frames[i])
				continue
			}
			fr := &b.frames[i]
			err := c.p.CheckLength(c.p.Decode(fr.LinkType, fr.Data), len(fr.Data), fr.WireLen)
			c.addParsed(&c.p, err, fr)
		}
		n += b.read
		if b.err != nil {
			return own, c.endInput(name, src, n, b.err)
		}
		if b != ob {
			r.free <- b // never blocks: at most batches of them circulate
		}
	}
}

// reader is the reading side of Read, shared by its two goroutines. Either
// may read the next batch, one at a time (mu), so the batches of full are
// in the file's order and a batch read by the counting goroutine itself
// (when full is empty) is the next one.
//
// The helper goroutine (readAhead) reads batches from free into full,
// decoding them too while the counting goroutine has batches queued. When
// nothing is queued, the counting goroutine reads the next batch itself
// rather than wait for the helper: on a machine whose other tenants keep
// a CPU busy the helper may not run for milliseconds, and handing every
// batch over cost more in wake-ups than it saved (each side of the older
// design, a reader and a counter with a queue between them, waited about
// a third of the reading phase).
type reader struct {
	mu   sync.Mutex // held while reading from src and queueing on full
	src  capture.BatchSource
	keep func(*capture.Frame) bool
	tab  *flow.Table
	done bool // under mu: the batch with src's error was read
	full chan *batch
	free chan *batch
	stop chan struct{} // closed when the counting goroutine is done
}

// next returns the next batch in the file's order: one the helper queued, or,
// when none is queued and the helper is not reading one, a batch this
// goroutine reads itself into *own (made at first use).
func (r *reader) next(own **batch) *batch {
	select {
	case b := <-r.full:
		return b
	default:
	}
	if !r.mu.TryLock() {
		return <-r.full // the helper is reading the next batch
	}
	if len(r.full) > 0 { // queued between the two checks
		r.mu.Unlock()
		return <-r.full
	}
	if *own == nil {
		// Twice the smallest buffer ReadFrames takes: a source without
		// ReadFrames of its own (pcapng) fills a buffer only while a
		// frame of MaxCaptureLength still fits, so this holds a
		// quarter megabyte of its frames, and a small file is read in
		// this one batch. This goroutine reads only while the helper
		// lags, and a buffer it reuses itself stays in its cache.
		*own = newBatch(2 * capture.FramesBufferMin)
	}
	b := *own
	r.fill(b)
	r.mu.Unlock()
	return b
}

// readAhead is the helper goroutine: it reads batches into full, the
// last one with the error that ended reading (unless the counting
// goroutine read that one itself).
func (r *reader) readAhead() {
	var p packet.Parsed
	made := 0
	for {
		// Batches are made as the helper gets ahead, up to batches of
		// them, with buffers from the smallest ReadFrames takes up to
		// batchBytes: a small file costs little memory.
		var b *batch
		select {
		case b = <-r.free:
		case <-r.stop:
			return
		default:
			if made < batches {
				b = newBatch(min(batchBytes, capture.FramesBufferMin<<made))
				made++
			} else {
				select {
				case b = <-r.free:
				case <-r.stop:
					return
				}
			}
		}
		r.mu.Lock()
		if r.done {
			r.mu.Unlock()
			return
		}
		r.fill(b)
		// Decoding is shared too: the helper decodes while the counting
		// goroutine has batches queued, and leaves it to the counting
		// goroutine when that one would wait. Under mu, so that full
		// stays in the file's order; the counting goroutine has queued
		// batches to count meanwhile.
		if len(r.full) > 0 {
			b.decoded = true
			b.decode(r.tab, &p)
		}
		r.full <- b // never blocks: at most batches of them circulate
		done := r.done
		r.mu.Unlock()
		if done {
			return
		}
	}
}

// fill reads the next frames of src into b, keeping those keep accepts.
// r.mu is held.
func (r *reader) fill(b *batch) {
	m, err := r.src.ReadFrames(b.buf, b.frames[:])
	b.n, b.read, b.err, b.decoded = 0, uint64(m), err, false
	r.done = err != nil
	for i := range m {
		fr := &b.frames[i]
		if r.keep != nil && !r.keep(fr) {
			continue
		}
		if b.n != i {
			b.frames[b.n] = *fr
		}
		b.n++
	}
}

// decode fills d from frames, decoding each into p. Whichever goroutine
// decodes a batch that circulates, its memory was last used on the other
// CPU: its frames' bytes were read into it there, or its d was read there
// in the previous round. Both are claimed first, in loops that do nothing else and so keep
// many cache lines in flight: clear takes d's lines for writing, and
// warmFrames loads the line of each frame that decoding reads first.
// Decoding frame by frame without them waited for those lines one at a
// time, and a store waiting for its line held up every store behind it and
// every load that must read one of those (decoding assembles addresses on
// the stack and copies them into the key). The two loops pay most when
// the machine's other tenants keep its caches busy (BenchmarkRead in
// `make bench`).
func (b *batch) decode(tab *flow.Table, p *packet.Parsed) {
	clear(b.d[:b.n])
	warmFrames(b.frames[:b.n])
	var d decoded
	for i := range b.n {
		fr := &b.frames[i]
		err := p.CheckLength(p.Decode(fr.LinkType, fr.Data), len(fr.Data), fr.WireLen)
		// d is made on the stack and stored in one go: hashing the key
		// reads it back, and from the stack that does not wait on the
		// batch's stores.
		d.set(tab, p, err, fr)
		b.d[i] = d
	}
}

// warmFrames reads each frame's byte 12 (an Ethernet frame's EtherType, the
// first byte decoding reads) and returns a sum for the caller to discard.
//
//go:noinline
func warmFrames(fs []capture.Frame) (sum byte) {
	for i := range fs {
		if len(fs[i].Data) > 12 {
			sum += fs[i].Data[12]
		}
	}
	return sum
}

// newBatch returns a batch with a buffer of size bytes, its pages backed:
// it is filled at once, and faulting the four batches in page by page was
// a visible share of the reader's time (internal/pages).
func newBatch(size int) *batch {
	b := make([]batch, 1) // a slice, for pages.Prefault
	b[0].buf = make([]byte, size)
	pages.Prefault(b)
	pages.Prefault(b[0].buf)
	return &b[0]
}

// readSerial is Read on one goroutine.
func (c *Classifier) readSerial(name string, src capture.Source, keep func(*capture.Frame) bool) error {
	var fr capture.Frame
	var n uint64
	for {
		if err := src.Next(&fr); err != nil {
			return c.endInput(name, src, n, err)
		}
		n++
		if keep == nil || keep(&fr) {
			c.Add(&fr)
		}
	}
}

// endInput records the input src that ended with err after n frames.
func (c *Classifier) endInput(name string, src capture.Source, n uint64, err error) error {
	in := Input{Name: name, Packets: n}
	if s, ok := src.(interface{ Skipped() capture.Skipped }); ok {
		in.Skipped = s.Skipped()
	}
	if err == io.EOF {
		c.AddInput(in)
		return nil
	}
	in.Stopped = err
	c.AddInput(in)
	return err
}

// Finish returns what Observation returns, but hands the Observation the
// flow table's own flows, SNI and names instead of copies: the last call of
// a classifier whose reading is done, which saves a copy of every flow
// (152 MB for a million). The Classifier must not be used afterwards.
func (c *Classifier) Finish() *Observation {
	o := c.observation(c.table.Flows(), c.in.sni, c.in.names)
	AddRelated(o, c.in.ann, c.in.annDropped)
	c.table, c.in = nil, nil
	return o
}

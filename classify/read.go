package classify

import (
	"io"
	"runtime"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/internal/pages"
)

// Read splits the work of a file between two goroutines when there are two
// CPUs to run them. The reader reads frames (system calls, decompression)
// and applies the filter; the caller's goroutine does the rest in the
// frames' order (flow table, payload inspection, counts), so the
// Observation is the one Add would build frame by frame. Decoding a frame
// and computing its flow key and hash is done by whichever goroutine would
// otherwise wait (readBatches).
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
	// decoded is set when the reader filled d; otherwise the counting
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
// With more than one CPU (GOMAXPROCS), Read runs src and keep on a goroutine
// of its own.
func (c *Classifier) Read(name string, src capture.Source, keep func(*capture.Frame) bool) error {
	if runtime.GOMAXPROCS(0) < 2 {
		return c.readSerial(name, src, keep)
	}
	full := make(chan *batch, batches)
	free := make(chan *batch, batches)
	go readBatches(src, keep, c.table, free, full)
	var n uint64
	for b := range full {
		if !b.decoded { // the reader left the decoding to this goroutine
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
			return c.endInput(name, src, n, b.err)
		}
		free <- b
	}
	panic("classify: reader stopped without an error") // readBatches always ends with one
}

// readBatches reads src into batches from free and sends them to full, the
// last one with the error that ended reading.
func readBatches(src capture.Source, keep func(*capture.Frame) bool, tab *flow.Table, free <-chan *batch, full chan<- *batch) {
	bs := capture.Batched(src)
	var p packet.Parsed
	made := 0
	for {
		// Batches are made as the reader gets ahead, up to batches of
		// them, with buffers from the smallest ReadFrames takes up to
		// batchBytes: a small file costs little memory.
		var b *batch
		select {
		case b = <-free:
		default:
			if made < batches {
				b = newBatch(min(batchBytes, capture.FramesBufferMin<<made))
				made++
			} else {
				b = <-free
			}
		}
		m, err := bs.ReadFrames(b.buf, b.frames[:])
		b.n, b.read, b.err = 0, uint64(m), err
		// Decoding is the work the two goroutines share: the reader
		// decodes while the counting goroutine has batches queued, and
		// leaves it to the counting goroutine when that one would wait
		// (reading the file alone keeps this goroutine about as busy as
		// counting keeps the other).
		b.decoded = len(full) > 0
		for i := range m {
			fr := &b.frames[i]
			if keep != nil && !keep(fr) {
				continue
			}
			if b.n != i {
				b.frames[b.n] = *fr
			}
			b.n++
		}
		if b.decoded {
			b.decode(tab, &p)
		}
		full <- b
		if b.err != nil {
			return
		}
	}
}

// decode fills d from frames, decoding each into p. Whichever goroutine
// decodes, the batch's memory was last used on the other CPU: its frames'
// bytes were read into it there, or its d was read there in the previous
// round. Both are claimed first, in loops that do nothing else and so keep
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

package classify

import (
	"io"
	"runtime"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
)

// Read splits the work of a file between two goroutines when there are two
// CPUs to run them. The reader reads frames (system calls, decompression,
// the pcap reader's copy), applies the filter, decodes each frame and
// computes its flow key and hash; the caller's goroutine does the rest in
// the frames' order (flow table, payload inspection, counts), so the
// Observation is the one Add would build frame by frame.
//
// Frames travel in batches of up to batchFrames, their bytes copied into
// the batch's arena, because a Source's frame is valid only until its next
// frame is read. A few batches circulate between the two goroutines, so
// after the first ones neither side allocates.
const (
	batchFrames = 256
	batchBytes  = 1 << 20 // a batch ends early once its frames hold this much
	batches     = 4
)

type batch struct {
	d     [batchFrames]decoded
	n     int    // frames in d
	read  uint64 // frames read from the source, those the filter refused included
	arena []byte
	err   error // the source's error (io.EOF at its end) after the frames of this batch
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
	for range batches {
		free <- &batch{}
	}
	go readBatches(src, keep, c.table, free, full)
	var n uint64
	for b := range full {
		for i := range b.n {
			c.add(&b.d[i])
		}
		n += b.read
		if b.err != nil {
			return c.endInput(name, n, b.err)
		}
		free <- b
	}
	panic("classify: reader stopped without an error") // readBatches always ends with one
}

// readBatches reads src into batches from free and sends them to full, the
// last one with the error that ended reading.
func readBatches(src capture.Source, keep func(*capture.Frame) bool, tab *flow.Table, free <-chan *batch, full chan<- *batch) {
	var fr capture.Frame
	for b := range free {
		b.n, b.read, b.arena = 0, 0, b.arena[:0]
		for b.n < batchFrames && len(b.arena) < batchBytes {
			if b.err = src.Next(&fr); b.err != nil {
				full <- b
				return
			}
			b.read++
			if keep != nil && !keep(&fr) {
				continue
			}
			// Growing the arena leaves earlier frames of the batch in the
			// old array, which they keep alive: they stay valid.
			off := len(b.arena)
			b.arena = append(b.arena, fr.Data...)
			b.d[b.n].decode(tab, &fr, b.arena[off:len(b.arena):len(b.arena)])
			b.n++
		}
		full <- b
	}
}

// readSerial is Read on one goroutine.
func (c *Classifier) readSerial(name string, src capture.Source, keep func(*capture.Frame) bool) error {
	var fr capture.Frame
	var n uint64
	for {
		if err := src.Next(&fr); err != nil {
			return c.endInput(name, n, err)
		}
		n++
		if keep == nil || keep(&fr) {
			c.Add(&fr)
		}
	}
}

// endInput records the input that ended with err after n frames.
func (c *Classifier) endInput(name string, n uint64, err error) error {
	if err == io.EOF {
		c.AddInput(Input{Name: name, Packets: n})
		return nil
	}
	c.AddInput(Input{Name: name, Packets: n, Stopped: err})
	return err
}

// Finish returns what Observation returns, but hands the Observation the
// flow table's own flows instead of a copy: the last call of a classifier
// whose reading is done, which saves a copy of every flow (160 MB for a
// million). The Classifier must not be used afterwards.
func (c *Classifier) Finish() *Observation {
	o := c.observation(c.table.Flows())
	c.table = nil
	return o
}

package classify

import (
	"errors"

	"github.com/wirecheck/wirecheck/capture"
)

// DefaultMaxFlows is the flow cap wirecheck analyse and conformtest apply
// unless told otherwise: it keeps a hostile or enormous capture from
// exhausting memory (a million flows cost about 250 MB in the table and
// more in the report, which no one reads flow by flow anyway). A run that
// reaches it folds the rest (Limits.MaxFlows) and its verdict says so.
const DefaultMaxFlows = 1_000_000

// ReadOptions say how ReadFiles reads. The zero value keeps every frame and
// every flow, decapsulates tunnels (TunnelsAuto) and shows no progress.
type ReadOptions struct {
	// Limits bound what is kept: the flow cap, the host (which gives folded
	// services their direction and tells its own tunnels from mirrored
	// traffic), which tunnels to open.
	Limits Limits
	// Filter keeps only the frames matching this tcpdump-syntax expression
	// (capture.NewFilter); "" keeps every frame. The frames it leaves out
	// are counted in the Observation (FilterExcluded).
	Filter string
	// FlowHint sizes the flow table for about this many flows; 0 means 4096.
	FlowHint int
	// ReserveFlows reserves the flow table at Limits.MaxFlows before the
	// first frame (Classifier.ReserveFlows): no growth copies and no
	// outgrown arrays left behind, at the price of address space taken at
	// once. For a process that reads once and then judges (the CLI), not
	// for a library called many times in one test binary.
	ReserveFlows bool
	// Progress, when not nil, is called once every file is ready and before
	// the first frame is read; the function it returns is called when the
	// last file has been read. The files' Progress methods may be polled
	// from another goroutine in between (a progress display).
	Progress func(files []*capture.File) (done func())
}

// ReadFiles classifies the files, in order, into one Observation, applying
// opts; the caller opens them first (so that a missing file is reported
// before minutes of reading the others) and closes them after.
//
// A file damaged part way does not lose what was read before: the frames up
// to the damage are classified, its Input records where it stopped, and the
// others are still read. Then ReadFiles returns the Observation together
// with an error joining one error per damaged file (errors.Join; unwrap it
// to report them one by one). A filter that does not compile returns only
// an error.
func ReadFiles(files []*capture.File, opts ReadOptions) (*Observation, error) {
	var keep func(*capture.Frame) bool
	var excluded uint64 // frames the filter left out: keep runs on one goroutine at a time
	if opts.Filter != "" {
		f, err := capture.NewFilter(opts.Filter)
		if err != nil {
			return nil, err // it names the filter
		}
		keep = func(fr *capture.Frame) bool {
			if f.Match(fr) {
				return true
			}
			excluded++
			return false
		}
	}
	hint := opts.FlowHint
	if hint <= 0 {
		hint = 1 << 12
	}
	c := New(hint)
	c.SetLimits(opts.Limits)
	if opts.ReserveFlows {
		c.ReserveFlows()
	}
	done := func() {}
	if opts.Progress != nil {
		if d := opts.Progress(files); d != nil {
			done = d
		}
	}
	var damage []error
	for _, f := range files {
		if err := c.Read(f.Name(), f, keep); err != nil {
			damage = append(damage, err)
		}
	}
	done()
	obs := c.Finish() // c is done: its flows need no copy
	obs.Filter, obs.FilterExcluded, obs.FilterCounted = opts.Filter, excluded, true
	return obs, errors.Join(damage...)
}

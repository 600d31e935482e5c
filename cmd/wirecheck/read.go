package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
)

// readCaptures reads the named captures (- for standard input) into one
// observation, for analyse and suggest. Every file is opened first, so a
// typo in the last name is reported before minutes of reading the first.
// A damaged file is reported on standard error and what was read before
// the damage is kept; the observation records where reading stopped.
// setup, when not nil, configures the classifier (limits) before reading.
func readCaptures(cmd *cobra.Command, names []string, filter string, quiet bool, setup func(*classify.Classifier) error) (*classify.Observation, error) {
	var keep func(*capture.Frame) bool
	var excluded uint64 // frames the filter left out: keep runs on one goroutine at a time
	if filter != "" {
		f, err := capture.NewFilter(filter)
		if err != nil {
			return nil, err
		}
		keep = func(fr *capture.Frame) bool {
			if f.Match(fr) {
				return true
			}
			excluded++
			return false
		}
	}
	var files []*capture.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, name := range names {
		f, err := openCapture(cmd, name)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	c := classify.New(1 << 12)
	if setup != nil {
		if err := setup(c); err != nil {
			return nil, err
		}
	}
	// Read once: the flow array is reserved at the flow limit, and memory
	// is used only as flows arrive (no growth copies, no outgrown arrays
	// left behind). The collector counts the reservation as live heap,
	// so at the default GOGC garbage could grow to its size before a
	// collection: 25% keeps the peak near what is live (lower at a million
	// flows, and no slower: bench/run reports the peak); a GOGC the user
	// set wins.
	c.ReserveFlows()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	var readErrs []error
	prog := startProgress(quiet, cmd.ErrOrStderr(), progressSources(files))
	for _, f := range files {
		if err := c.Read(f.Name(), f, keep); err != nil {
			readErrs = append(readErrs, err)
		}
	}
	prog.finish()
	for _, err := range readErrs {
		fmt.Fprintf(cmd.ErrOrStderr(), "wirecheck: %v (what was read before it is kept)\n", err)
	}
	obs := c.Finish() // c is done: its flows need no copy
	obs.Filter, obs.FilterExcluded, obs.FilterCounted = filter, excluded, true
	// Reading leaves garbage (the flow index's outgrown arrays, the
	// inspector's grown maps): collected now, judging reuses it instead of
	// faulting in new pages, which cost more here than the collection.
	runtime.GC()
	return obs, nil
}

// progressSources lists the files for the progress display.
func progressSources(files []*capture.File) []progressSource {
	out := make([]progressSource, len(files))
	for i, f := range files {
		out[i] = f
	}
	return out
}

func openCapture(cmd *cobra.Command, name string) (*capture.File, error) {
	if name == "-" {
		return capture.NewReader("-", cmd.InOrStdin())
	}
	return capture.Open(name)
}

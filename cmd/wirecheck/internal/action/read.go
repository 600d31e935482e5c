package action

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/progress"
)

// readCaptures reads the named captures (- for standard input) into one
// observation, for analyse and suggest (classify.ReadFiles, with the
// progress display unless quiet). Every file is opened first, so a typo in
// the last name is reported before minutes of reading the first. A damaged
// file is reported on standard error and what was read before the damage
// is kept; the observation records where reading stopped.
func readCaptures(s Streams, names []string, filter string, quiet bool, lim classify.Limits) (*classify.Observation, error) {
	var files []*capture.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, name := range names {
		f, err := openCapture(s.In, name)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	// Read once: the flow array is reserved at the flow limit, and memory
	// is used only as flows arrive (no growth copies, no outgrown arrays
	// left behind). The collector counts the reservation as live heap,
	// so at the default GOGC garbage could grow to its size before a
	// collection: 25% keeps the peak near what is live (bench/run reports
	// the peak); a GOGC the user set wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	obs, err := classify.ReadFiles(files, classify.ReadOptions{
		Limits:       lim,
		Filter:       filter,
		ReserveFlows: true,
		Progress: func(files []*capture.File) func() {
			return progress.Start(quiet, s.Err, progressSources(files)).Finish
		},
	})
	if obs == nil {
		return nil, err
	}
	for _, err := range unjoin(err) {
		fmt.Fprintf(s.Err, "wirecheck: %v (what was read before it is kept)\n", err)
	}
	// Reading leaves garbage (the flow index's outgrown arrays, the
	// inspector's grown maps): collected now, judging reuses it instead of
	// faulting in new pages, which cost more here than the collection.
	runtime.GC()
	return obs, nil
}

// unjoin lists the errors errors.Join joined into err: none for nil.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// progressSources lists the files for the progress display.
func progressSources(files []*capture.File) []progress.Source {
	out := make([]progress.Source, len(files))
	for i, f := range files {
		out[i] = f
	}
	return out
}

// openCapture opens the capture file name, or reads stdin for "-".
func openCapture(stdin io.Reader, name string) (*capture.File, error) {
	if name == "-" {
		return capture.NewReader("-", stdin)
	}
	return capture.Open(name)
}

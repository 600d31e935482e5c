package action

import (
	"fmt"

	"github.com/wirecheck/wirecheck/classify/drift"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/outfile"
)

// DiffOptions are one diff run.
type DiffOptions struct {
	// Old and New are JSON reports of analyse, the older first.
	Old, New string
	// Format is one of drift.Formats; Output the file to write the diff
	// to, "" (or "-") for Streams.Out.
	Format, Output string
}

// Diff compares two reports and writes what changed: Fail when something
// got worse, else Pass.
func Diff(o DiffOptions, s Streams) (Outcome, error) {
	if err := checkFormat(o.Format, drift.CheckFormat, drift.Formats()); err != nil {
		return 0, err
	}
	inputs := []string{o.Old, o.New}
	if err := outfile.CheckOutput(o.Output, inputs); err != nil {
		return 0, err
	}
	old, err := drift.ReadReport(o.Old)
	if err != nil {
		return 0, err
	}
	cur, err := drift.ReadReport(o.New)
	if err != nil {
		return 0, err
	}
	d := drift.Compare(o.Old, old, o.New, cur)
	out, err := outfile.Open(s.Out, o.Output, inputs)
	if err != nil {
		return 0, err
	}
	if err := out.Commit(drift.Write(out, o.Format, d)); err != nil {
		return 0, fmt.Errorf("write diff: %w", err)
	}
	if d.Worse {
		return Fail, nil
	}
	return Pass, nil
}

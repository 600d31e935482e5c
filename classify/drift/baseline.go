package drift

import (
	"fmt"
	"io"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/report"
)

// Baseline is an earlier report a run is compared with (analyse
// --baseline), read before the run so that a bad file is reported before
// minutes of reading captures.
type Baseline struct {
	name string
	rep  *report.Report
}

// LoadBaseline reads the report name; its errors are ReadReport's, which
// name the file.
func LoadBaseline(name string) (*Baseline, error) {
	rep, err := ReadReport(name)
	if err != nil {
		return nil, err
	}
	return &Baseline{name, rep}, nil
}

// Compare writes what changed from the baseline to res (label names the
// run's inputs) to w, and says whether something got worse: with a
// baseline, a run fails when it is worse than the baseline, not when it is
// merely not conformant.
func (b *Baseline) Compare(w io.Writer, res *match.Result, label string) (worse bool, err error) {
	d := Compare(b.name, b.rep, label, report.Build(res))
	fmt.Fprintf(w, "\nCompared with the baseline %s:\n", b.name)
	if err := d.Text(w); err != nil {
		return false, fmt.Errorf("write diff: %w", err)
	}
	return d.Worse, nil
}

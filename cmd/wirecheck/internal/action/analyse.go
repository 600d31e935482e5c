package action

import (
	"fmt"
	"io"
	"strings"

	"github.com/wirecheck/wirecheck/classify/drift"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// AnalyseOptions are one analyse run.
type AnalyseOptions struct {
	Judge
	// Captures are the files to read, "-" for Streams.In.
	Captures []string
	// Filter keeps only the packets matching this tcpdump-syntax
	// expression; Quiet leaves out the progress line.
	Filter string
	Quiet  bool
	// MaxFlows keeps at most this many flows (0: no limit); Tunnels is
	// "auto" or "off" (classify.ParseTunnels).
	MaxFlows int
	Tunnels  string
	// Baseline is an earlier JSON report to compare with ("": none): the
	// comparison goes to Streams.Err, and the run fails only when it is
	// worse than the baseline.
	Baseline string
}

// Analyse reads the captures, judges them, warns on Streams.Err about a
// host that cannot be right, and writes the report. Everything it is
// given is checked before a capture is read: the files, the profiles and
// bindings, the baseline, the limits.
func Analyse(o AnalyseOptions, s Streams) (Outcome, error) {
	inputs, err := checkFiles(o.Output, o.Captures, o.Profiles, o.Baseline)
	if err != nil {
		return 0, err
	}
	m, err := o.Matcher()
	if err != nil {
		return 0, err
	}
	var base *drift.Baseline
	if o.Baseline != "" {
		if base, err = drift.LoadBaseline(o.Baseline); err != nil {
			return 0, &OptionError{"Baseline", o.Baseline, err}
		}
	}
	lim, err := limits(o.MaxFlows, o.Tunnels, o.Host)
	if err != nil {
		return 0, err
	}
	obs, err := readCaptures(s, o.Captures, o.Filter, o.Quiet, lim)
	if err != nil {
		return 0, err
	}
	res := m.Evaluate(obs)
	warnHost(s.Err, res, o.Captures)
	outcome, err := o.writeReport(s, res, inputs)
	if base == nil || err != nil {
		return outcome, err
	}
	worse, err := base.Compare(s.Err, res, strings.Join(o.Captures, ", "))
	switch {
	case err != nil:
		return 0, err
	case worse:
		return Fail, nil
	}
	return Pass, nil
}

// warnHost says on standard error, where a script's log keeps it, why a
// run without a host cannot be decided, and that a host in no flow is
// probably a typo; the report's header says the same.
func warnHost(w io.Writer, res *match.Result, inputs []string) {
	switch {
	case len(res.Host) == 0:
		fmt.Fprintf(w, "wirecheck: %s: no flow to infer the host from, so required rules cannot be judged: set --host\n", strings.Join(inputs, ", "))
	case res.HostAbsent:
		fmt.Fprintf(w, "wirecheck: warning: --host %s is an endpoint of no flow in %s: check the address\n", strings.Join(textout.Prefixes(res.Host), ", "), strings.Join(inputs, ", "))
	}
}

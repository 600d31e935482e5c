package action

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/outfile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// Streams are a command's standard input, output and error.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Outcome is what a run concluded, which the command turns into its exit
// status. An action that returns an error concluded nothing.
type Outcome int

const (
	// Pass: conformant; compared with a baseline or in a diff, nothing
	// got worse.
	Pass Outcome = iota
	// Fail: not conformant; compared with a baseline or in a diff,
	// something got worse.
	Fail
	// Undecided: the capture could not decide (match.Inconclusive).
	Undecided
)

// ErrNoProfile is a run that judges captures without a profile to judge
// them against.
var ErrNoProfile = errors.New("no profile")

// ErrBindingsNeedProfile is a draft given peers, a phase or a Region but no
// profile for them to bind.
var ErrBindingsNeedProfile = errors.New("peers, a phase and a Region need a profile")

// An OptionError is an option an action cannot use.
type OptionError struct {
	Option string // the options struct's field, e.g. "MaxFlows"
	Value  any    // what it held
	Err    error  // why it cannot be used
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }

func (e *OptionError) Unwrap() error { return e.Err }

// A FormatError is a format the action's writer does not take.
type FormatError struct {
	Format  string
	Formats []string // the ones it takes, in the order to list them
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("no format %q: use one of %s", e.Format, strings.Join(e.Formats, ", "))
}

// checkFormat is a *FormatError unless check takes format.
func checkFormat(format string, check func(string) error, formats []string) error {
	if check(format) != nil {
		return &FormatError{format, formats}
	}
	return nil
}

// Match names the profiles to judge against and the user's bindings for
// them.
type Match struct {
	// Profiles are built-in profile names or YAML files, composed.
	Profiles []string
	// Host lists the agent host's addresses or CIDRs; none: inferred from
	// the traffic.
	Host []string
	// Peers bind peer groups to addresses, each NAME=ADDR|CIDR[,...].
	Peers []string
	// Region binds {region} in host name patterns; Phase checks one phase
	// only; Strict fails flows a rule accepts only because a peer group is
	// unbound.
	Region, Phase string
	Strict        bool
}

// Compile loads the profiles and compiles the bindings. Its errors are
// the libraries': profile's, a *match.BindingError, a *match.OptionError.
func (m *Match) Compile() (*match.Matcher, error) {
	set, err := profile.Load(m.Profiles...)
	if err != nil {
		return nil, err
	}
	opts := match.Options{Region: m.Region, Phase: m.Phase, Strict: m.Strict}
	if opts.Host, err = match.ParseHost(m.Host); err != nil {
		return nil, err
	}
	if opts.Peers, err = match.ParsePeers(m.Peers); err != nil {
		return nil, err
	}
	return match.New(set, opts)
}

// Judge is what analyse and watch share: the profiles and bindings, and
// the report they write at the end.
type Judge struct {
	Match
	// Format is one of report.Formats; Output the file to write the
	// report to, "" (or "-") for Streams.Out.
	Format, Output string
}

// Matcher is the matcher of a run that ends in a report: ErrNoProfile
// without a profile, a *FormatError for a format report.Write does not
// take, else Compile's.
func (j *Judge) Matcher() (*match.Matcher, error) {
	if len(j.Profiles) == 0 {
		return nil, ErrNoProfile
	}
	if err := checkFormat(j.Format, report.CheckFormat, report.Formats()); err != nil {
		return nil, err
	}
	return j.Compile()
}

// writeReport writes res as j says and turns its verdict into the
// outcome; inputs are the files the run read, which the output must not
// be.
func (j *Judge) writeReport(s Streams, res *match.Result, inputs []string) (Outcome, error) {
	out, err := outfile.Open(s.Out, j.Output, inputs)
	if err != nil {
		return 0, err
	}
	// A person at a terminal gets lines that fit it.
	err = report.Write(out, j.Format, res, textout.TerminalWidth(out.Writer()))
	if err = out.Commit(err); err != nil {
		return 0, fmt.Errorf("write report: %w", err)
	}
	switch res.Verdict {
	case match.NotConformant:
		return Fail, nil
	case match.Inconclusive:
		return Undecided, nil
	}
	return Pass, nil
}

// checkFiles is called before any reading: it refuses captures named twice
// and an output that is one of the inputs (captures, profile files, and
// the extra files: a baseline, the events file), and returns the inputs
// for the output to be checked against again at the moment it is written.
func checkFiles(output string, captures, profiles []string, extra ...string) ([]string, error) {
	if err := outfile.CheckDistinct(captures); err != nil {
		return nil, err
	}
	inputs := append(append(append([]string(nil), captures...), profiles...), extra...)
	return inputs, outfile.CheckOutput(output, inputs)
}

// limits are the classifier's limits for at most maxFlows flows (0: no
// limit) with tunnels as classify.ParseTunnels takes it, on a host with
// the given addresses (which give folded services their direction and
// tell the host's own tunnels).
func limits(maxFlows int, tunnels string, hosts []string) (classify.Limits, error) {
	if maxFlows < 0 {
		return classify.Limits{}, &OptionError{"MaxFlows", maxFlows, fmt.Errorf("%d is negative", maxFlows)}
	}
	tun, err := classify.ParseTunnels(tunnels)
	if err != nil {
		return classify.Limits{}, &OptionError{"Tunnels", tunnels, err}
	}
	host, err := match.ParseHost(hosts)
	if err != nil {
		return classify.Limits{}, err
	}
	return classify.Limits{MaxFlows: maxFlows, Host: host, Tunnels: tun}, nil
}

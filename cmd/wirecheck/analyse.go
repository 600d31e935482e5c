package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/classify/drift"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/outfile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// matchFlags are the flags analyse and watch share: which profiles, and the
// user's bindings for them.
type matchFlags struct {
	profiles []string
	hosts    []string
	peers    []string
	region   string
	phase    string
	format   string
	output   string
	inputs   []string // every file the run reads, which -o must not name
	strict   bool
}

// checkFiles is called before any reading: it refuses captures named twice
// and an output that is one of the inputs (captures, profile files, and
// the extra files: a baseline, reports), remembering the inputs for
// writeReport to check again at the moment it writes.
func (m *matchFlags) checkFiles(captures []string, extra ...string) error {
	if err := outfile.CheckDistinct(captures); err != nil {
		return err
	}
	m.inputs = append(append(append([]string(nil), captures...), m.profiles...), extra...)
	return outfile.CheckOutput(m.output, m.inputs)
}

func (m *matchFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVarP(&m.profiles, "profile", "p", nil, "profile to check against: a built-in `NAME` (list them with: wirecheck profiles) or a YAML file; repeat to compose")
	f.StringArrayVar(&m.hosts, "host", nil, "address or CIDR of the agent host (repeatable); default: inferred from the traffic (watch: the interface's own addresses)")
	f.StringArrayVar(&m.peers, "peer", nil, "bind a peer group to addresses, NAME=ADDR|CIDR[,...] (repeatable)")
	f.StringVar(&m.region, "region", "", "AWS Region for {region} in host name patterns (default: any region)")
	f.StringVar(&m.phase, "phase", "", "check one phase only, e.g. activation or operation (default: all phases, phased rules only allowed)")
	f.BoolVar(&m.strict, "strict", false, "fail flows that a rule accepts only because a peer group is unbound (matches any address) instead of warning")
	f.StringVar(&m.format, "format", "text", "report format: "+strings.Join(report.Formats(), ", "))
	f.StringVarP(&m.output, "output", "o", "", "write the report to this file instead of standard output")
}

// matcher loads the profiles and compiles the bindings, for a report in
// --format.
func (m *matchFlags) matcher() (*match.Matcher, error) {
	if len(m.profiles) == 0 {
		return nil, errors.New("no profile: name one with -p (list them with: wirecheck profiles)")
	}
	if report.CheckFormat(m.format) != nil {
		return nil, fmt.Errorf("--format %s: use one of %s", m.format, strings.Join(report.Formats(), ", "))
	}
	return m.compile()
}

// compile is matcher without the report format (suggest writes drafts):
// it loads the profiles and compiles the bindings.
func (m *matchFlags) compile() (*match.Matcher, error) {
	set, err := profile.Load(m.profiles...)
	if err != nil {
		return nil, err
	}
	opts := match.Options{Region: m.region, Phase: m.phase, Strict: m.strict}
	if opts.Host, err = match.ParseHost(m.hosts); err != nil {
		return nil, bindingFlagError(err)
	}
	if opts.Peers, err = match.ParsePeers(m.peers); err != nil {
		return nil, bindingFlagError(err)
	}
	return newMatcher(set, opts)
}

// bindingFlagError words a binding match refused as the flag that gave
// it, with the advice the library leaves to the CLI.
func bindingFlagError(err error) error {
	var be *match.BindingError
	switch {
	case !errors.As(err, &be):
		return err
	case be.Form:
		return fmt.Errorf("--peer %q: use NAME=ADDR|CIDR[,ADDR|CIDR...]", be.Peer)
	case be.Peer == "":
		return fmt.Errorf("--host: %v", be.Err)
	}
	return fmt.Errorf("--peer %s: %v", be.Peer, be.Err)
}

// writeReport writes res in the chosen format and turns the verdict into
// the exit status.
func (m *matchFlags) writeReport(cmd *cobra.Command, res *match.Result) error {
	out, err := outfile.Open(cmd.OutOrStdout(), m.output, m.inputs)
	if err != nil {
		return err
	}
	// A person at a terminal gets lines that fit it.
	err = report.Write(out, m.format, res, textout.TerminalWidth(out.Writer()))
	if err = out.Commit(err); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	switch res.Verdict {
	case match.NotConformant:
		return exitStatus{exitNotConformant}
	case match.Inconclusive:
		return exitStatus{exitError}
	}
	return nil
}

// warnHost says on standard error, where a script's log keeps it, why a
// run without a host cannot be decided, and that a --host in no flow is
// probably a typo; the report's header says the same.
func warnHost(w io.Writer, res *match.Result, inputs []string) {
	switch {
	case len(res.Host) == 0:
		fmt.Fprintf(w, "wirecheck: %s: no flow to infer the host from, so required rules cannot be judged: set --host\n", strings.Join(inputs, ", "))
	case res.HostAbsent:
		fmt.Fprintf(w, "wirecheck: warning: --host %s is an endpoint of no flow in %s: check the address\n", strings.Join(textout.Prefixes(res.Host), ", "), strings.Join(inputs, ", "))
	}
}

func newAnalyse() *cobra.Command {
	var mf matchFlags
	var lf limitFlags
	var filter, baselineName string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "analyse [flags] CAPTURE...",
		Aliases: []string{"analyze"},
		Short:   "Check capture files (pcap, pcapng, gzip; - for standard input) against a profile",
		Example: `  wirecheck analyse -p storage-gateway/file-nfs --host 10.0.0.5 capture.pcapng
  wirecheck analyse -p ./my-profile.yaml --format json -o report.json a.pcap b.pcap
  tcpdump -i eth0 -w - | wirecheck analyse -p storage-gateway/file-nfs -`,
		Args: needArgs(1, -1, "capture file", "name one or more, or - for standard input"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := mf.checkFiles(args, baselineName); err != nil {
				return err
			}
			m, err := mf.matcher()
			if err != nil {
				return err
			}
			var base *drift.Baseline
			if baselineName != "" {
				if base, err = drift.LoadBaseline(baselineName); err != nil {
					return fmt.Errorf("--baseline: %w", err)
				}
			}
			lim, err := lf.limits(mf.hosts)
			if err != nil {
				return err
			}
			obs, err := readCaptures(cmd, args, filter, quiet, lim)
			if err != nil {
				return err
			}
			res := m.Evaluate(obs)
			warnHost(cmd.ErrOrStderr(), res, args)
			err = mf.writeReport(cmd, res)
			if base == nil {
				return err
			}
			if st := (exitStatus{}); err != nil && !errors.As(err, &st) {
				return err
			}
			worse, err := base.Compare(cmd.ErrOrStderr(), res, strings.Join(args, ", "))
			if err == nil && worse {
				return exitStatus{exitNotConformant}
			}
			return err
		},
	}
	mf.register(cmd)
	lf.register(cmd)
	cmd.Flags().StringVarP(&filter, "filter", "f", "", "only packets matching this tcpdump-syntax filter expression")
	cmd.Flags().StringVar(&baselineName, "baseline", "", "compare with this earlier JSON report (on standard error) and fail only when something got worse than it")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress line on standard error")
	return cmd
}

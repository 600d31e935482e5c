// Command wirecheck checks captured network traffic against the port
// requirements of an appliance: which flows it must have, which it may have,
// and which nobody expected.
//
// Exit status: 0 conformant, 1 not conformant, 2 the run could not be done
// or could not decide (usage, unreadable input, bad profile, inconclusive).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/gopacket/gopacket/layers"
	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/action"
	"github.com/wirecheck/wirecheck/internal/pages"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// Exit codes.
const (
	exitConformant    = 0
	exitNotConformant = 1
	exitError         = 2
)

// usageError is a command's arguments that do not fit it: run prints it
// with the command's usage line, exit status 2.
type usageError struct {
	cmd *cobra.Command
	msg string
}

func (e usageError) Error() string { return e.msg }

// needArgs is cobra's Args check with a message that says what is missing:
// from min to max arguments (max < 0: no upper bound), each a what, and
// how to give them.
func needArgs(min, max int, what, how string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0 && min > 0:
			return usageError{cmd, fmt.Sprintf("no %s given: %s", what, how)}
		case len(args) < min:
			return usageError{cmd, fmt.Sprintf("%s given, %d needed: %s", textout.Count(uint64(len(args)), what), min, how)}
		case max >= 0 && len(args) > max:
			return usageError{cmd, fmt.Sprintf("%s given, at most %d: %s (quote a value with spaces)", textout.Count(uint64(len(args)), what), max, how)}
		}
		return nil
	}
}

// exitStatus carries an exit status out of a command without printing.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exit is what a command returns for an action's outcome and error: the
// error in the words of the flags, or the outcome's exit status.
func exit(o action.Outcome, err error) error {
	switch {
	case err != nil:
		return flagError(err)
	case o == action.Fail:
		return exitStatus{exitNotConformant}
	case o == action.Undecided:
		return exitStatus{exitError}
	}
	return nil
}

// streams are the command's standard streams, for an action.
func streams(cmd *cobra.Command) action.Streams {
	return action.Streams{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr()}
}

func main() {
	// gopacket/layers declares two tables of 2.5 MiB that the collector
	// scans in full and nothing else reads but a few entries: the first
	// collection faulted their pages in one by one. Mapped in one call
	// each, they cost a small fraction of that (internal/pages).
	pages.PrefaultRead(layers.EthernetTypeMetadata[:])
	pages.PrefaultRead(layers.PPPTypeMetadata[:])
	quietPipe()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// quietPipe lets a write to a closed pipe fail with EPIPE rather than kill
// the process with SIGPIPE, so that `wirecheck analyse big.pcap | head`
// ends as tcpdump and the Go tools do: quietly, exit status 0 (run).
func quietPipe() { signal.Ignore(syscall.SIGPIPE) }

// version is the module's version and VCS revision, as go build and
// go install record them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			v += " " + s.Value[:min(len(s.Value), 12)]
		case s.Key == "vcs.modified" && s.Value == "true":
			v += "+dirty"
		}
	}
	return v + ", " + bi.GoVersion
}

// run is main without the process: tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	var prof cpuProfile
	root.PersistentFlags().Var(&prof, "cpuprofile", "write a CPU profile of the run to `file` (make pgo)")
	root.PersistentFlags().MarkHidden("cpuprofile")
	cmd, err := root.ExecuteC()
	if perr := prof.stop(); perr != nil && err == nil {
		err = perr
	}
	var st exitStatus
	var usage usageError
	switch {
	case err == nil:
		return exitConformant
	case errors.As(err, &st):
		return st.code
	case errors.Is(err, syscall.EPIPE):
		return exitConformant // the reader closed the pipe: it has what it wanted
	case errors.As(err, &usage):
		cmd = usage.cmd
	case !strings.HasPrefix(err.Error(), "unknown command") && !strings.HasPrefix(err.Error(), "required flag"):
		fmt.Fprintf(stderr, "wirecheck: %v%s\n", err, advice(err))
		return exitError
	}
	// Cobra's own usage errors (an unknown command, a required flag not
	// given) are plain errors; flag errors are usageErrors (newRoot).
	line := cmd.UseLine()
	if cmd.HasAvailableSubCommands() {
		line = cmd.CommandPath() + " COMMAND [flags]"
	}
	fmt.Fprintf(stderr, "wirecheck: %v\nUsage: %s\nRun '%s --help' for more.\n", err, line, cmd.CommandPath())
	return exitError
}

// cpuProfile is the hidden --cpuprofile flag: the profile runs from when
// the flag is parsed until stop, as go test's -cpuprofile does for a test
// binary. `make pgo` makes cmd/wirecheck/default.pgo, which go build
// optimises the binary with, from such profiles of analyse runs. It makes
// a new file and never replaces one, which might be an input.
type cpuProfile struct {
	f *os.File
}

func (p *cpuProfile) String() string { return "" }
func (p *cpuProfile) Type() string   { return "file" }

func (p *cpuProfile) Set(name string) error {
	if p.f != nil {
		return errors.New("given twice")
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.f = f
	return nil
}

// stop ends the profile, if one runs, and closes its file.
func (p *cpuProfile) stop() error {
	if p.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	if err := p.f.Close(); err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	return nil
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "wirecheck",
		Short: "Check captured traffic against an appliance's port requirements",
		Long: `wirecheck reads packet captures (or live traffic), classifies them into flows,
and matches the flows against a profile of expected flows built from the
vendor's port-requirement tables. It reports unexpected flows and required
flows that were missing or blocked.

Exit status: 0 conformant, 1 not conformant, 2 could not run or decide.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
		// Bare wirecheck is a usage error, as for tcpdump and the go
		// command: usage on standard error, exit status 2.
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(cmd.ErrOrStderr(), cmd.UsageString())
			return exitStatus{exitError}
		},
	}
	root.SetVersionTemplate("wirecheck {{.Version}}\n")
	// Inherited by every command: a flag that does not parse is a usage
	// error of the command it was given to.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{cmd, err.Error()} })
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newAnalyse(), newWatch(), newProfiles(), newDiff(), newSuggest())
	return root
}

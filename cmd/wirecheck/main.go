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

	"github.com/gopacket/gopacket/layers"
	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/internal/pages"
)

// Exit codes.
const (
	exitConformant    = 0
	exitNotConformant = 1
	exitError         = 2
)

// exitError carries an exit status out of a command without printing.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	// gopacket/layers declares two tables of 2.5 MiB that the collector
	// scans in full and nothing else reads but a few entries: the first
	// collection faulted their pages in one by one, 20 ms here. Mapped in
	// one call each, they take about a millisecond (internal/pages).
	pages.PrefaultRead(layers.EthernetTypeMetadata[:])
	pages.PrefaultRead(layers.PPPTypeMetadata[:])
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	var st exitStatus
	switch {
	case err == nil:
		return exitConformant
	case errors.As(err, &st):
		return st.code
	}
	fmt.Fprintf(stderr, "wirecheck: %v\n", err)
	return exitError
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
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newAnalyse(), newWatch(), newProfiles(), newDiff(), newSuggest())
	return root
}

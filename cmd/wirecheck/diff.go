package main

import (
	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/action"
)

func newDiff() *cobra.Command {
	var o action.DiffOptions
	cmd := &cobra.Command{
		Use:   "diff [flags] OLD.json NEW.json",
		Short: "Compare two JSON reports: flows that appeared or vanished, rules whose status changed",
		Long: `diff compares two reports written by 'wirecheck analyse --format json', an
older recording and a newer one of the same appliance. It lists the flows that
appeared, vanished or changed (verdict, state, rule) and the rules whose status
changed, worse first.

Flows are matched by protocol, client and server address, server port and
direction; client ports are ephemeral and ignored.

Exit status: 0 nothing got worse, 1 something got worse (a new unexpected or
forbidden flow, a required rule no longer seen, ...), 2 could not compare.`,
		Example: `  wirecheck analyse -p storage-gateway/file-nfs --format json -o old.json monday.pcapng
  wirecheck analyse -p storage-gateway/file-nfs --format json -o new.json friday.pcapng
  wirecheck diff old.json new.json`,
		Args: needArgs(2, 2, "report", "name two JSON reports of analyse --format json, the older first"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Old, o.New = args[0], args[1]
			return exit(action.Diff(o, streams(cmd)))
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "text", "diff format: text or json")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "write the diff to this file instead of standard output")
	return cmd
}

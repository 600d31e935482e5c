package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/classify/drift"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/outfile"
)

func newDiff() *cobra.Command {
	var format, output string
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
			write, ok := diffFormats[format]
			if !ok {
				return fmt.Errorf("--format %s: use text or json", format)
			}
			if err := outfile.CheckOutput(output, args); err != nil {
				return err
			}
			old, err := drift.ReadReport(args[0])
			if err != nil {
				return err
			}
			cur, err := drift.ReadReport(args[1])
			if err != nil {
				return err
			}
			d := drift.Compare(args[0], old, args[1], cur)
			out, err := outfile.Open(cmd.OutOrStdout(), output, args)
			if err != nil {
				return err
			}
			if err := out.Commit(write(d, out)); err != nil {
				return fmt.Errorf("write diff: %w", err)
			}
			return diffStatus(d)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "diff format: text or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the diff to this file instead of standard output")
	return cmd
}

var diffFormats = map[string]func(*drift.Diff, io.Writer) error{
	"text": (*drift.Diff).Text,
	"json": (*drift.Diff).JSON,
}

// diffStatus turns a diff into the exit status.
func diffStatus(d *drift.Diff) error {
	if d.Worse {
		return exitStatus{exitNotConformant}
	}
	return nil
}

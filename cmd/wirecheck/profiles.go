package main

import (
	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/action"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/profiletable"
)

func newProfiles() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List the built-in profiles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := profile.Builtins()
			if err != nil {
				return err
			}
			return profiletable.List(cmd.OutOrStdout(), all)
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Print a profile's rules as a table shaped like the vendor's",
		Args:  needArgs(1, 1, "profile", "name a built-in profile (list them with: wirecheck profiles) or a YAML file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := profile.Load(args[0])
			if err != nil {
				return err
			}
			return profiletable.Show(cmd.OutOrStdout(), set)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE...",
		Short: "Validate profile files (errors name file:line:column)",
		Args:  needArgs(1, -1, "profile file", "name one or more YAML files"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return action.CheckProfiles(args, streams(cmd))
		},
	})
	return cmd
}

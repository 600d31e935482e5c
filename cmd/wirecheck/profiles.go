package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/profiletable"
	"github.com/wirecheck/wirecheck/internal/textout"
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
			for _, a := range args {
				set, err := profile.Load(a)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s with what it includes)\n", a, textout.Count(uint64(len(set.Rules())), "rule"))
			}
			return nil
		},
	})
	return cmd
}

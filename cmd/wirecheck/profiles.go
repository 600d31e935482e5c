package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/classify/profile"
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
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			for _, p := range all {
				fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Description)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Print a profile's rules as a table shaped like the vendor's",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := profile.Load(args[0])
			if err != nil {
				return err
			}
			return showSet(cmd, set)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE...",
		Short: "Validate profile files (errors name file:line:column)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				set, err := profile.Load(a)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d rules with what it includes)\n", a, len(set.Rules()))
			}
			return nil
		},
	})
	return cmd
}

func showSet(cmd *cobra.Command, set *profile.Set) error {
	out := cmd.OutOrStdout()
	for _, p := range set.Profiles {
		fmt.Fprintf(out, "%s — %s\n", p.Name, p.Description)
		if len(p.Includes) > 0 {
			fmt.Fprintf(out, "includes: %s\n", strings.Join(p.Includes, ", "))
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  From\tTo\tProtocol\tPort\tLevel\tHow used\tSource\n")
		for _, r := range p.Rules {
			from, to := describeGroup(set, p.Name, r.From), describeGroup(set, p.Name, r.To)
			if r.Bidirectional {
				to += " (either way)"
			}
			level := r.Level.String()
			if r.Phase != "" {
				level += " (" + r.Phase + ")"
			}
			proto := strings.ToUpper(r.Protos.String())
			if r.TLS != nil {
				proto += " " + describeTLS(r.TLS)
			}
			var srcs []string
			for _, s := range r.Sources {
				srcs = append(srcs, s.String())
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", from, to, proto,
				orDash(strings.Join(r.PortStrings(), ", ")), level, orDash(r.How), orDash(strings.Join(srcs, "; ")))
		}
		tw.Flush()
		fmt.Fprintln(out)
	}
	return nil
}

func describeGroup(set *profile.Set, prof, name string) string {
	g, ok := set.Group(prof, name)
	if !ok {
		return name
	}
	switch {
	case len(g.Names) > 0:
		return fmt.Sprintf("%s [%s]", name, strings.Join(g.Names, " "))
	case len(g.CIDRs) > 0:
		var s []string
		for _, c := range g.CIDRs {
			s = append(s, c.String())
		}
		return fmt.Sprintf("%s [%s]", name, strings.Join(s, " "))
	}
	return name
}

func describeTLS(c *profile.TLSCondition) string {
	var parts []string
	for _, v := range c.Versions {
		parts = append(parts, fmt.Sprintf("TLS %d.%d", (v>>8)-2, (v&0xff)-1))
	}
	if c.ForwardSecrecy != nil {
		if *c.ForwardSecrecy {
			parts = append(parts, "forward-secret")
		} else {
			parts = append(parts, "not forward-secret")
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

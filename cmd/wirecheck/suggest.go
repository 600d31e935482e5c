package main

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/suggest"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/outfile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

var suggestFormats = map[string]func(*suggest.Draft, io.Writer) error{
	"yaml":     (*suggest.Draft).YAML,
	"sg-json":  (*suggest.Draft).SecurityGroupJSON,
	"nftables": (*suggest.Draft).NFTables,
}

func newSuggest() *cobra.Command {
	var mf matchFlags
	var name, filter string
	var collapse4, collapse6 int
	var quiet bool
	cmd := &cobra.Command{
		Use:   "suggest [flags] CAPTURE...",
		Short: "Draft a profile (or firewall rules) from the flows a capture shows",
		Long: `suggest reads captures and drafts a profile that allows what they show: one rule
per direction, protocol and server port, with level allowed, and the peers of
each rule collapsed into a peer group (host name patterns where DNS or TLS SNI
named them, CIDRs where nothing did). Read it, remove what should not happen,
make what must happen required, then use it with -p.

With -p, only the flows those profiles leave unexpected are drafted, and the
draft includes the built-in ones among them.

Formats: yaml (a profile), sg-json (AWS security-group IpPermissions and
IpPermissionsEgress), nftables (a ruleset for nft -f; check it with nft -c -f).`,
		Example: `  wirecheck suggest --host 10.0.0.5 gateway.pcapng > my-gateway.yaml
  wirecheck analyse -p my-gateway.yaml --host 10.0.0.5 gateway.pcapng
  wirecheck suggest -p storage-gateway/file-nfs --host 10.0.0.5 gateway.pcapng
  wirecheck suggest --format nftables --host 10.0.0.5 gateway.pcapng > gateway.nft && nft -c -f gateway.nft`,
		Args: needArgs(1, -1, "capture file", "name one or more, or - for standard input"),
		RunE: func(cmd *cobra.Command, args []string) error {
			write, ok := suggestFormats[mf.format]
			if !ok {
				return fmt.Errorf("--format %s: use yaml, sg-json or nftables", mf.format)
			}
			if collapse4 < 1 || collapse4 > 32 || collapse6 < 1 || collapse6 > 128 {
				return fmt.Errorf("--collapse must be 1 to 32 and --collapse6 1 to 128")
			}
			if err := mf.checkFiles(args); err != nil {
				return err
			}
			m, err := suggestMatcher(&mf)
			if err != nil {
				return err
			}
			if name == "" {
				name = suggest.DraftName(args[0])
			} else if !profile.ValidName(name) {
				return fmt.Errorf("--name %q: a profile name is lower-case letters, digits, '.', '_' and '-', in words separated by / (e.g. draft/gateway)", name)
			}
			// Read as analyse reads with the same --host, so that the draft
			// allows what analyse will judge: with the host at a tunnel end
			// the outer flows, not the ones inside. suggest has no
			// --max-flows: every flow is drafted.
			lim, err := flowLimits(0, "auto", mf.hosts)
			if err != nil {
				return err
			}
			obs, err := readCaptures(cmd, args, filter, quiet, lim)
			if err != nil {
				return err
			}
			inputs := make([]string, len(args))
			for i, a := range args {
				inputs[i] = filepath.Base(a)
			}
			d := suggest.Build(m.Evaluate(obs), suggest.Options{Name: name, CollapseV4: collapse4, CollapseV6: collapse6, Inputs: inputs})
			var draft bytes.Buffer
			if err := write(d, &draft); err != nil {
				return fmt.Errorf("write draft: %w", err)
			}
			out, err := outfile.Open(cmd.OutOrStdout(), mf.output, mf.inputs)
			if err != nil {
				return err
			}
			_, err = out.Write(draft.Bytes())
			if err := out.Commit(err); err != nil {
				return fmt.Errorf("write draft: %w", err)
			}
			if mf.format == "yaml" {
				// A draft that `profiles check` would refuse (beyond a
				// profile's bounds) is written for reading, and said.
				if _, err := profile.Parse(cmp.Or(mf.output, "the draft"), draft.Bytes()); err != nil {
					return fmt.Errorf("the draft (%s) is not a profile wirecheck accepts: %v; narrow the capture (-f) or cut the draft down", textout.Count(uint64(len(d.Rules)), "rule"), err)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&mf.profiles, "profile", "p", nil, "draft only what these profiles leave unexpected (built-in name or YAML file; repeatable)")
	f.StringArrayVar(&mf.hosts, "host", nil, "address or CIDR of the agent host (repeatable); default: inferred from the traffic")
	f.StringArrayVar(&mf.peers, "peer", nil, "with -p: bind a peer group to addresses, NAME=ADDR|CIDR[,...] (repeatable)")
	f.StringVar(&mf.region, "region", "", "with -p: AWS Region for {region} in host name patterns")
	f.StringVar(&mf.phase, "phase", "", "with -p: check one phase only")
	f.StringVar(&mf.format, "format", "yaml", "draft format: yaml, sg-json or nftables")
	f.StringVarP(&mf.output, "output", "o", "", "write the draft to this file instead of standard output")
	f.StringVar(&name, "name", "", "name of the drafted profile (default: draft/ and the first capture's name)")
	f.IntVar(&collapse4, "collapse", 24, "collapse unnamed IPv4 peers of a group sharing a prefix of this length (32: never)")
	f.IntVar(&collapse6, "collapse6", 64, "collapse unnamed IPv6 peers of a group sharing a prefix of this length (128: never)")
	f.StringVarP(&filter, "filter", "f", "", "only packets matching this tcpdump-syntax filter expression")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress line on standard error")
	return cmd
}

// suggestMatcher judges against the profiles given, or against none, which
// leaves every flow unexpected and so drafts them all.
func suggestMatcher(mf *matchFlags) (*match.Matcher, error) {
	if len(mf.profiles) > 0 {
		return mf.compile()
	}
	if len(mf.peers) > 0 || mf.phase != "" || mf.region != "" {
		return nil, fmt.Errorf("--peer, --phase and --region need a profile (-p)")
	}
	host, err := match.ParseHost(mf.hosts)
	if err != nil {
		return nil, bindingFlagError(err)
	}
	return newMatcher(&profile.Set{}, match.Options{Host: host})
}

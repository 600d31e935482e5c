package main

import (
	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/action"
)

func newSuggest() *cobra.Command {
	var o action.SuggestOptions
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
			o.Captures = args
			return flagError(action.Suggest(o, streams(cmd)))
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.Profiles, "profile", "p", nil, "draft only what these profiles leave unexpected (built-in name or YAML file; repeatable)")
	f.StringArrayVar(&o.Host, "host", nil, "address or CIDR of the agent host (repeatable); default: inferred from the traffic")
	f.StringArrayVar(&o.Peers, "peer", nil, "with -p: bind a peer group to addresses, NAME=ADDR|CIDR[,...] (repeatable)")
	f.StringVar(&o.Region, "region", "", "with -p: AWS Region for {region} in host name patterns")
	f.StringVar(&o.Phase, "phase", "", "with -p: check one phase only")
	f.StringVar(&o.Format, "format", "yaml", "draft format: yaml, sg-json or nftables")
	f.StringVarP(&o.Output, "output", "o", "", "write the draft to this file instead of standard output")
	f.StringVar(&o.Name, "name", "", "name of the drafted profile (default: draft/ and the first capture's name)")
	f.IntVar(&o.CollapseV4, "collapse", 24, "collapse unnamed IPv4 peers of a group sharing a prefix of this length (32: never)")
	f.IntVar(&o.CollapseV6, "collapse6", 64, "collapse unnamed IPv6 peers of a group sharing a prefix of this length (128: never)")
	f.StringVarP(&o.Filter, "filter", "f", "", "only packets matching this tcpdump-syntax filter expression")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress line on standard error")
	return cmd
}

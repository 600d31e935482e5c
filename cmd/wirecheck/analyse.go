package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/action"
)

// registerJudge adds the flags analyse and watch share to cmd: which
// profiles, the user's bindings for them, and the report.
func registerJudge(cmd *cobra.Command, j *action.Judge) {
	f := cmd.Flags()
	f.StringArrayVarP(&j.Profiles, "profile", "p", nil, "profile to check against: a built-in `NAME` (list them with: wirecheck profiles) or a YAML file; repeat to compose")
	f.StringArrayVar(&j.Host, "host", nil, "address or CIDR of the agent host (repeatable); default: inferred from the traffic (watch: the interface's own addresses)")
	f.StringArrayVar(&j.Peers, "peer", nil, "bind a peer group to addresses, NAME=ADDR|CIDR[,...] (repeatable)")
	f.StringVar(&j.Region, "region", "", "AWS Region for {region} in host name patterns (default: any region)")
	f.StringVar(&j.Phase, "phase", "", "check one phase only, e.g. activation or operation (default: all phases, phased rules only allowed)")
	f.BoolVar(&j.Strict, "strict", false, "fail flows that a rule accepts only because a peer group is unbound (matches any address) instead of warning")
	f.StringVar(&j.Format, "format", "text", "report format: "+strings.Join(report.Formats(), ", "))
	f.StringVarP(&j.Output, "output", "o", "", "write the report to this file instead of standard output")
}

// registerTunnels adds --tunnels to cmd.
func registerTunnels(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "tunnels", "auto", "auto: judge the flows inside VXLAN, GENEVE, GRE/ERSPAN and IP-in-IP tunnels, unless the host (--host) is a tunnel end (a mirror target: give --host the mirrored host's address); off: judge every packet as it is on the wire")
}

func newAnalyse() *cobra.Command {
	var o action.AnalyseOptions
	cmd := &cobra.Command{
		Use:     "analyse [flags] CAPTURE...",
		Aliases: []string{"analyze"},
		Short:   "Check capture files (pcap, pcapng, gzip; - for standard input) against a profile",
		Example: `  wirecheck analyse -p storage-gateway/file-nfs --host 10.0.0.5 capture.pcapng
  wirecheck analyse -p ./my-profile.yaml --format json -o report.json a.pcap b.pcap
  tcpdump -i eth0 -w - | wirecheck analyse -p storage-gateway/file-nfs -`,
		Args: needArgs(1, -1, "capture file", "name one or more, or - for standard input"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Captures = args
			return exit(action.Analyse(o, streams(cmd)))
		},
	}
	registerJudge(cmd, &o.Judge)
	f := cmd.Flags()
	f.IntVar(&o.MaxFlows, "max-flows", classify.DefaultMaxFlows, "keep at most this many flows; later flows are counted per service (protocol, server port, direction) but not judged, and the verdict is at best inconclusive (0: no limit)")
	registerTunnels(cmd, &o.Tunnels)
	f.StringVarP(&o.Filter, "filter", "f", "", "only packets matching this tcpdump-syntax filter expression")
	f.StringVar(&o.Baseline, "baseline", "", "compare with this earlier JSON report (on standard error) and fail only when something got worse than it")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress line on standard error")
	return cmd
}

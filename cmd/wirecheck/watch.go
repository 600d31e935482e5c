package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/action"
)

func newWatch() *cobra.Command {
	o := action.WatchOptions{Explain: flagError}
	cmd := &cobra.Command{
		Use:   "watch -i IFACE -p PROFILE [flags]",
		Short: "Check live traffic on an interface of this host against a profile",
		Long: `watch captures on an interface of the agent host and judges its flows as
analyse judges a file: an unexpected flow is printed (on standard error) within
a second of its first packet, a summary every --interval, and the full report
when it ends (--duration, SIGINT or SIGTERM), with the same exit status.

Engines: ebpf (default where the kernel and privileges allow) counts flows in
the kernel; pcap reads packets with libpcap.`,
		Example: `  wirecheck watch -i eth0 -p storage-gateway/file-nfs --duration 1h
  wirecheck watch -i eth0 -p storage-gateway/file-nfs --engine pcap --filter 'not port 22'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exit(action.Watch(cmd.Context(), o, streams(cmd)))
		},
	}
	registerJudge(cmd, &o.Judge)
	f := cmd.Flags()
	f.StringVarP(&o.Interface, "interface", "i", "", "interface to watch (required)")
	f.StringVar(&o.Engine, "engine", "", "ebpf or pcap (default: ebpf where possible, else pcap)")
	f.StringVarP(&o.Filter, "filter", "f", "", "tcpdump-syntax filter (pcap engine only)")
	f.DurationVar(&o.Interval, "interval", 10*time.Second, "how often to print a summary")
	f.DurationVar(&o.Duration, "duration", 0, "stop after this long (default: until SIGINT or SIGTERM)")
	f.IntVar(&o.MaxFlows, "max-flows", bpf.DefaultMaxFlows, "flows kept: the size of the eBPF engine's kernel map; with libpcap, later flows are counted per service but not judged")
	registerTunnels(cmd, &o.Tunnels)
	f.StringVar(&o.Metrics, "metrics", "", "serve Prometheus metrics at ADDR:PORT/metrics (a bare :PORT or PORT listens on 127.0.0.1 only)")
	f.StringVar(&o.Events, "events", "", "append JSON lines for each new unexpected flow, rule status change and interface fault to this file (- for standard output)")
	f.StringVar(&o.ReportDir, "report-dir", "", "write a JSON report of the whole run so far into this directory every --report-every, and the final one at the end")
	f.DurationVar(&o.ReportEvery, "report-every", time.Hour, "how often to write a report into --report-dir")
	f.IntVar(&o.ReportKeep, "report-keep", 48, "how many reports to keep in --report-dir (oldest deleted first)")
	f.DurationVar(&o.Idle, "idle", 30*time.Second, "eBPF engine: move flows idle this long out of the kernel map into per-conversation totals, so that churn cannot fill it (0: never)")
	cmd.MarkFlagRequired("interface")
	return cmd
}

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch"
)

type watchFlags struct {
	matchFlags
	tunnels               string
	events, reportDir     string
	reportKeep            int
	reportTick, interval  time.Duration
	duration, idle        time.Duration
	iface, engine, filter string
	maxFlows              int
	metrics               string
}

func newWatch() *cobra.Command {
	var wf watchFlags
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
		RunE: func(cmd *cobra.Command, _ []string) error { return wf.run(cmd) },
	}
	wf.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&wf.iface, "interface", "i", "", "interface to watch (required)")
	f.StringVar(&wf.engine, "engine", "", "ebpf or pcap (default: ebpf where possible, else pcap)")
	f.StringVarP(&wf.filter, "filter", "f", "", "tcpdump-syntax filter (pcap engine only)")
	f.DurationVar(&wf.interval, "interval", 10*time.Second, "how often to print a summary")
	f.DurationVar(&wf.duration, "duration", 0, "stop after this long (default: until SIGINT or SIGTERM)")
	f.IntVar(&wf.maxFlows, "max-flows", bpf.DefaultMaxFlows, "flows kept: the size of the eBPF engine's kernel map; with libpcap, later flows are counted per service but not judged")
	registerTunnels(cmd, &wf.tunnels)
	f.StringVar(&wf.metrics, "metrics", "", "serve Prometheus metrics at ADDR:PORT/metrics (a bare :PORT or PORT listens on 127.0.0.1 only)")
	f.StringVar(&wf.events, "events", "", "append JSON lines for each new unexpected flow, rule status change and interface fault to this file (- for standard output)")
	f.StringVar(&wf.reportDir, "report-dir", "", "write a JSON report of the whole run so far into this directory every --report-every, and the final one at the end")
	f.DurationVar(&wf.reportTick, "report-every", time.Hour, "how often to write a report into --report-dir")
	f.IntVar(&wf.reportKeep, "report-keep", 48, "how many reports to keep in --report-dir (oldest deleted first)")
	f.DurationVar(&wf.idle, "idle", 30*time.Second, "eBPF engine: move flows idle this long out of the kernel map into per-conversation totals, so that churn cannot fill it (0: never)")
	cmd.MarkFlagRequired("interface")
	return cmd
}

func (wf *watchFlags) run(cmd *cobra.Command) error {
	switch {
	case wf.interval <= 0:
		return fmt.Errorf("--interval %v: use a positive duration, e.g. 10s", wf.interval)
	case wf.duration < 0:
		return fmt.Errorf("--duration %v: use a positive duration, e.g. 1h, or leave it out to run until SIGINT or SIGTERM", wf.duration)
	}
	if err := wf.checkFiles(nil, wf.events); err != nil {
		return err
	}
	if wf.filter != "" && wf.engine == "ebpf" { // a usage error, said before any capability is checked
		return errors.New("--filter works only with --engine pcap")
	}
	if len(wf.hosts) == 0 {
		addrs, err := watch.InterfaceAddrs(wf.iface)
		if err != nil {
			return err
		}
		wf.hosts = addrs
	} else if _, err := net.InterfaceByName(wf.iface); err != nil {
		// Said before missing capabilities: a typo is the likelier mistake.
		return fmt.Errorf("interface %s: no such interface (list them with: ip link)", wf.iface)
	}
	m, err := wf.matcher()
	if err != nil {
		return err
	}
	switch {
	case wf.events == "-" && (wf.output == "" || wf.output == "-"):
		return errors.New("--events -: standard output also gets the final report; name a file for one of them (-o FILE or --events FILE)")
	case wf.reportDir != "" && (wf.reportTick < time.Second || wf.reportKeep < 1):
		return errors.New("--report-every must be at least 1s and --report-keep at least 1")
	case wf.idle < 0:
		return errors.New("--idle must not be negative")
	}
	lim, err := flowLimits(wf.maxFlows, wf.tunnels, wf.hosts)
	if err != nil {
		return err
	}
	cfg := watch.Config{Interface: wf.iface, Engine: wf.engine, Filter: wf.filter, Interval: wf.interval,
		Duration: wf.duration, Limits: lim, Idle: wf.idle, Metrics: wf.metrics,
		Matcher: m, Load: wf.matcher, Stderr: cmd.ErrOrStderr(), ReportEvery: wf.reportTick}
	if wf.reportDir != "" {
		if cfg.Reports, err = watch.OpenReportDir(wf.reportDir, wf.iface, wf.reportKeep); err != nil {
			return err
		}
	}
	events, err := watch.OpenEvents(wf.events, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	if events != nil {
		defer events.Close()
		cfg.Events = events
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg.Reload = hup
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := watch.Run(ctx, cfg)
	if err != nil {
		return err
	}
	return wf.writeReport(cmd, res)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/live"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/related"
	"github.com/wirecheck/wirecheck/internal/textout"
)

type watchFlags struct {
	matchFlags
	iface    string
	engine   string
	filter   string
	interval time.Duration
	duration time.Duration
	maxFlows int
	tunnels  string
	svc      serviceFlags // service.go
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
	wf.svc.register(f)
	cmd.MarkFlagRequired("interface")
	return cmd
}

func (wf *watchFlags) run(cmd *cobra.Command) error {
	if wf.interval <= 0 {
		return fmt.Errorf("--interval %v: use a positive duration, e.g. 10s", wf.interval)
	}
	if wf.duration < 0 {
		return fmt.Errorf("--duration %v: use a positive duration, e.g. 1h, or leave it out to run until SIGINT or SIGTERM", wf.duration)
	}
	if err := wf.checkFiles(nil, wf.svc.events); err != nil {
		return err
	}
	if wf.filter != "" && wf.engine == "ebpf" { // a usage error, said before any capability is checked
		return errors.New("--filter works only with --engine pcap")
	}
	if len(wf.hosts) == 0 {
		addrs, err := interfaceAddrs(wf.iface)
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
	svc, err := wf.startService(cmd) // service.go: capabilities, --metrics, --events, SIGHUP
	if err != nil {
		return err
	}
	defer svc.close()
	eng, err := wf.open(svc.stderr, m)
	if err != nil {
		return err
	}
	eng = svc.supervise(eng, m) // interface faults, idle sweeping
	defer eng.Close()
	fmt.Fprintf(svc.stderr, "wirecheck: watching %v\n", eng) // tests wait for this line

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if wf.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wf.duration)
		defer cancel()
	}
	w := &watcher{m: m, eng: eng, out: svc.stderr, alerted: map[flow.Key]bool{}, svc: svc}
	if err := w.loop(ctx, wf.interval); err != nil {
		// The engine failed (the interface went away): report what was seen.
		fmt.Fprintf(svc.stderr, "wirecheck: %v (the report covers what was seen before)\n", err)
	}
	obs, err := eng.Observation()
	if err != nil {
		return err
	}
	res := w.m.Evaluate(obs) // w.m: SIGHUP may have reloaded the profile
	svc.final(res)
	return wf.writeReport(cmd, res)
}

// open starts the chosen engine; without a choice, eBPF where the kernel and
// privileges allow it, else libpcap (saying why).
func (wf *watchFlags) open(stderr io.Writer, m *match.Matcher) (live.Engine, error) {
	lim, err := flowLimits(wf.maxFlows, wf.tunnels, wf.hosts)
	if err != nil {
		return nil, err
	}
	switch wf.engine {
	case "pcap":
		return live.OpenPcap(wf.iface, wf.filter, lim)
	case "ebpf", "":
		if wf.filter != "" { // only without --engine: run refused --filter with ebpf
			return live.OpenPcap(wf.iface, wf.filter, lim)
		}
		e, err := live.OpenEBPF(wf.iface, live.EBPFOptions{ServerPorts: serverPorts(m), MaxFlows: wf.maxFlows, Host: lim.Host, Tunnels: lim.Tunnels})
		if err == nil || wf.engine == "ebpf" || errors.Is(err, bpf.ErrNoInterface) {
			return e, err
		}
		fmt.Fprintf(stderr, "wirecheck: eBPF engine unavailable (%v); using libpcap\n", err)
		return live.OpenPcap(wf.iface, wf.filter, lim)
	}
	return nil, fmt.Errorf("--engine %s: use ebpf or pcap", wf.engine)
}

// interfaceAddrs returns the interface's own addresses: the host, unless
// --host says otherwise.
func interfaceAddrs(name string) ([]string, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("interface %s: no such interface (list them with: ip link)", name)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	var out []string
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().String())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("interface %s has no addresses: name the host's with --host", name)
	}
	return out, nil
}

// watcher prints alerts and summaries while an engine runs.
type watcher struct {
	m       *match.Matcher
	eng     live.Engine
	out     io.Writer
	alerted map[flow.Key]bool
	held    []flow.Flow // unexpected new flows judged again at the next poll (fresh)
	flows   int
	svc     *service // service.go; nil-safe
}

// alertPoll is how often new flows are judged: well within the promised
// second from first packet to alert.
const alertPoll = 250 * time.Millisecond

func (w *watcher) loop(ctx context.Context, interval time.Duration) error {
	poll := time.NewTicker(alertPoll)
	defer poll.Stop()
	summary := time.NewTicker(interval)
	defer summary.Stop()
	for {
		select {
		case <-ctx.Done():
			w.fresh()
			return nil
		case <-poll.C:
			w.fresh()
			if err := w.eng.Err(); err != nil {
				return err
			}
		case <-w.svc.reloads():
			w.svc.reload(w)
		case <-summary.C:
			if err := w.summary(); err != nil {
				return err
			}
		}
	}
}

// fresh judges new flows at once, without names (those arrive with the
// next summary, which judges every flow again in full). A flow no rule
// allows may be one a control flow announced (FTP PASV, a portmapper
// reply): it is judged against the engine's announcements, and when none
// explains it, held until the next poll and judged again before it is
// alerted, since the eBPF engine may hand out the flow before the payload
// that announced it.
func (w *watcher) fresh() {
	rel, _ := w.eng.(relatedEngine)
	var anns []related.Announcement
	loaded := false
	judge := func(f *flow.Flow) match.FlowResult {
		fr := w.m.Flow(f, w.m.Host(), nil, nil)
		if fr.Verdict == match.Unexpected && rel != nil {
			if !loaded {
				anns, loaded = rel.Related(), true
			}
			w.m.RelateFlow(&fr, anns, w.m.Host())
		}
		return fr
	}
	held := w.held
	w.held = nil
	for i := range held {
		fr := judge(&held[i])
		w.alert(&fr)
	}
	for _, f := range w.eng.Fresh() {
		fr := judge(&f)
		if fr.Verdict == match.Unexpected && rel != nil {
			w.held = append(w.held, f)
			continue
		}
		w.alert(&fr)
	}
}

// relatedEngine is an engine that learns related flows' announcements
// (both live engines do).
type relatedEngine interface {
	Related() []related.Announcement
}

func (w *watcher) alert(fr *match.FlowResult) {
	if !fr.Verdict.Fails() || w.alerted[fr.Flow.Key] {
		return
	}
	w.alerted[fr.Flow.Key] = true
	fmt.Fprintf(w.out, "%s %s: %s %s from %s to %s\n", time.Now().Format("15:04:05"), fr.Verdict,
		fr.Direction, match.ProtoPort(fr.Proto, fr.ServerPort), match.Endpoint(fr.Client(), fr.ClientNames()), match.Endpoint(fr.Server(), fr.ServerNames()))
	w.svc.unexpectedFlow(fr)
}

func (w *watcher) summary() error {
	obs, err := w.eng.Observation()
	if err != nil {
		return err
	}
	res := w.m.Evaluate(obs)
	counts := map[match.FlowVerdict]int{}
	for i := range res.Flows {
		counts[res.Flows[i].Verdict]++
		w.alert(&res.Flows[i])
	}
	status := map[match.RuleStatus]int{}
	required := 0
	for _, rr := range res.Rules {
		if rr.Required {
			required++
			status[rr.Status]++
		}
	}
	var lost uint64
	for _, l := range obs.Losses {
		lost += l.Count
	}
	fmt.Fprintf(w.out, "%s summary: %s; %s (%+d): %d unexpected, %d forbidden; required rules %d/%d seen, %d blocked, %d not yet seen; %s; %d lost\n",
		time.Now().Format("15:04:05"), res.Verdict, textout.Count(uint64(len(res.Flows)), "flow"), len(res.Flows)-w.flows,
		counts[match.Unexpected], counts[match.Forbidden], status[match.RuleSeen], required, status[match.RuleBlocked],
		status[match.RuleMissing]+status[match.RuleInconclusive], textout.Count(obs.Packets, "packet"), lost)
	w.flows = len(res.Flows)
	w.svc.evaluated(w, res)
	return nil
}

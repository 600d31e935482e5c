package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/live"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// What lets watch run as a service for weeks: metrics, an event stream,
// rotated reports, a capability check, recovery from interface faults,
// bounded memory under flow churn and SIGHUP reloads. watch.go calls in
// through a few hooks; everything else is here.

// serviceFlags are watch's flags for long runs.
type serviceFlags struct {
	metrics    string
	events     string
	reportDir  string
	reportKeep int
	reportTick time.Duration
	idle       time.Duration
}

func (sf *serviceFlags) register(f *pflag.FlagSet) {
	f.StringVar(&sf.metrics, "metrics", "", "serve Prometheus metrics at ADDR:PORT/metrics (a bare :PORT or PORT listens on 127.0.0.1 only)")
	f.StringVar(&sf.events, "events", "", "append JSON lines for each new unexpected flow, rule status change and interface fault to this file (- for standard output)")
	f.StringVar(&sf.reportDir, "report-dir", "", "write a JSON report of the whole run so far into this directory every --report-every, and the final one at the end")
	f.DurationVar(&sf.reportTick, "report-every", time.Hour, "how often to write a report into --report-dir")
	f.IntVar(&sf.reportKeep, "report-keep", 48, "how many reports to keep in --report-dir (oldest deleted first)")
	f.DurationVar(&sf.idle, "idle", 30*time.Second, "eBPF engine: move flows idle this long out of the kernel map into per-conversation totals, so that churn cannot fill it (0: never)")
}

// service is one watch run's long-run machinery. Every method is safe on a
// nil *service, so that watch works without it.
type service struct {
	wf     *watchFlags
	stderr *syncWriter
	events *eventLog
	sup    *live.Supervisor
	prom   *metricsServer
	hup    chan os.Signal
	iface  string

	started    time.Time
	lastReport time.Time
	prev       map[string]match.RuleStatus // each rule's status at the last evaluation

	unexpected, forbidden atomic.Uint64 // failing flows alerted
	reloadsOK, reloadsBad atomic.Uint64
	latest                atomic.Pointer[snapshot]
}

// syncWriter serialises writes to standard error from the watcher and the
// supervisor's goroutine.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// startService checks privileges, opens the event stream and the metrics
// listener and catches SIGHUP. It may change wf.engine: without a choice and
// without the eBPF capabilities, watch uses libpcap and says why.
func (wf *watchFlags) startService(cmd *cobra.Command) (*service, error) {
	sf := &wf.svc
	s := &service{wf: wf, stderr: &syncWriter{w: cmd.ErrOrStderr()}, iface: wf.iface,
		started: time.Now(), prev: map[string]match.RuleStatus{}}
	s.lastReport = s.started
	if err := wf.checkCaps(s.stderr); err != nil {
		return nil, err
	}
	if sf.events == "-" && (wf.output == "" || wf.output == "-") {
		return nil, errors.New("--events -: standard output also gets the final report; name a file for one of them (-o FILE or --events FILE)")
	}
	if sf.reportDir != "" {
		if sf.reportTick <= 0 || sf.reportKeep < 1 {
			return nil, errors.New("--report-every must be positive and --report-keep at least 1")
		}
		if err := os.MkdirAll(sf.reportDir, 0o750); err != nil {
			return nil, fmt.Errorf("--report-dir: %w", err)
		}
	}
	if sf.idle < 0 {
		return nil, errors.New("--idle must not be negative")
	}
	var err error
	if s.events, err = openEvents(sf.events, cmd.OutOrStdout(), s.stderr); err != nil {
		return nil, err
	}
	if sf.metrics != "" {
		if s.prom, err = serveMetrics(sf.metrics, s); err != nil {
			s.events.close()
			return nil, err
		}
		fmt.Fprintf(s.stderr, "wirecheck: metrics at http://%s/metrics\n", s.prom.addr)
	}
	s.hup = make(chan os.Signal, 1)
	signal.Notify(s.hup, syscall.SIGHUP)
	return s, nil
}

// checkCaps says exactly which capabilities the chosen engine lacks.
func (wf *watchFlags) checkCaps(stderr io.Writer) error {
	const grant = "run as root, or grant them: sudo setcap %s+ep %s (or use dist/systemd/wirecheck.service)"
	if wf.engine != "" && wf.engine != "ebpf" && wf.engine != "pcap" {
		return nil // open names the choices
	}
	if _, err := net.InterfaceByName(wf.iface); err != nil {
		return nil // open says so, which matters more than privileges
	}
	exe, _ := os.Executable()
	if exe == "" {
		exe = "wirecheck"
	}
	if wf.engine == "pcap" && !capture.LiveAvailable {
		return capture.ErrNoLive // no privilege helps
	}
	if wf.engine == "ebpf" || (wf.engine == "" && wf.filter == "") {
		missing, err := missingCaps(ebpfCaps)
		if err != nil {
			return err
		}
		switch {
		case len(missing) > 0 && wf.engine == "ebpf":
			return fmt.Errorf("--engine ebpf needs %s, which this process lacks: "+grant,
				strings.Join(missing, ", "), "cap_bpf,cap_net_admin,cap_perfmon", exe)
		case len(missing) > 0 && !capture.LiveAvailable:
			// A static build has no libpcap to fall back to: advise
			// what works for this binary, not CAP_NET_RAW.
			return fmt.Errorf("the eBPF engine needs %s, which this process lacks, and this build has no libpcap to fall back to (built without cgo): "+grant,
				strings.Join(missing, ", "), "cap_bpf,cap_net_admin,cap_perfmon", exe)
		case len(missing) > 0:
			fmt.Fprintf(stderr, "wirecheck: the eBPF engine needs %s, which this process lacks; using libpcap\n", strings.Join(missing, ", "))
			wf.engine = "pcap"
		default:
			return nil
		}
	}
	missing, err := missingCaps(pcapCaps)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("--engine pcap needs %s, which this process lacks: "+grant, strings.Join(missing, ", "), "cap_net_raw", exe)
	}
	return nil
}

// supervise wraps the engine so that it survives interface faults and
// churn.
func (s *service) supervise(eng live.Engine, m *match.Matcher) live.Engine {
	if s == nil {
		return eng
	}
	s.sup = live.Supervise(eng, s.iface, live.SuperviseOptions{
		Idle:   s.wf.svc.idle,
		Hints:  m.PortHints(),
		Notify: s.notice,
	})
	return s.sup
}

// notice says what happened to the interface, on standard error and as an
// event; it runs on the supervisor's goroutine.
func (s *service) notice(n live.Notice) {
	fmt.Fprintf(s.stderr, "%s wirecheck: %s\n", n.Time.Format("15:04:05"), n.Message)
	s.events.write(event{Time: n.Time, Type: "interface", Interface: n.Interface, Event: string(n.Kind), Message: n.Message})
}

// reloads delivers SIGHUP; nil (never ready) without a service.
func (s *service) reloads() <-chan os.Signal {
	if s == nil {
		return nil
	}
	return s.hup
}

// reload re-reads the profiles on SIGHUP. The engine, its flows and every
// counter stay; only the judgement changes, and the next evaluation (done
// at once) reports rule status changes the new profile makes. A profile
// that does not load leaves the old one in force.
func (s *service) reload(w *watcher) {
	now := time.Now()
	m, err := s.wf.matcher()
	if err != nil {
		s.reloadsBad.Add(1)
		fmt.Fprintf(s.stderr, "%s wirecheck: SIGHUP: profile not reloaded, the old one stays in force: %v\n", now.Format("15:04:05"), err)
		s.events.write(event{Time: now, Type: "reload", Error: err.Error()})
		return
	}
	if err := s.sup.Reload(serverPorts(m), m.PortHints()); err != nil {
		// Only which new flows are announced at once suffers.
		fmt.Fprintf(s.stderr, "%s wirecheck: SIGHUP: %v\n", now.Format("15:04:05"), err)
	}
	w.m = m
	s.reloadsOK.Add(1)
	res := m.Evaluate(&classify.Observation{})
	rules, names := len(res.Rules), res.Profiles
	fmt.Fprintf(s.stderr, "%s wirecheck: SIGHUP: profile reloaded (%s, %s); counts kept\n", now.Format("15:04:05"), strings.Join(names, ", "), textout.Count(uint64(rules), "rule"))
	s.events.write(event{Time: now, Type: "reload", Profiles: names, Rules: rules})
	if err := w.summary(); err != nil {
		fmt.Fprintf(s.stderr, "wirecheck: %v\n", err)
	}
}

func serverPorts(m *match.Matcher) []bpf.PortKey {
	var ports []bpf.PortKey
	for proto, port := range m.ServerPorts() {
		ports = append(ports, bpf.PortKey{Proto: proto, Port: port})
	}
	return ports
}

// unexpectedFlow is called once for each failing flow the watcher alerts.
func (s *service) unexpectedFlow(fr *match.FlowResult) {
	if s == nil {
		return
	}
	if fr.Verdict == match.Forbidden {
		s.forbidden.Add(1)
	} else {
		s.unexpected.Add(1)
	}
	s.events.write(flowEvent(time.Now(), fr))
}

// evaluated takes each summary's result: rule status changes become events,
// the result becomes what metrics show, and a report is written when one is
// due. It also bounds the watcher's memory of alerted flows.
func (s *service) evaluated(w *watcher, res *match.Result) {
	if s == nil {
		return
	}
	now := time.Now()
	s.ruleEvents(now, res)
	s.publish(now, res)
	if s.wf.svc.reportDir != "" && now.Sub(s.lastReport) >= s.wf.svc.reportTick {
		s.lastReport = now
		if err := s.writeReport(now, res, "report"); err != nil {
			fmt.Fprintf(s.stderr, "wirecheck: %v\n", err)
		}
	}
	forgetAlerted(w.alerted, res)
}

// final takes the end-of-run result.
func (s *service) final(res *match.Result) {
	if s == nil {
		return
	}
	now := time.Now()
	s.ruleEvents(now, res)
	s.publish(now, res)
	if s.wf.svc.reportDir != "" {
		if err := s.writeReport(now, res, "final"); err != nil {
			fmt.Fprintf(s.stderr, "wirecheck: %v\n", err)
		}
	}
}

// forgetAlerted bounds the watcher's set of alerted flows: once it holds
// far more flows than the latest evaluation, the flows that left the engine
// (swept into conversations, or evicted) are forgotten. A flow alerted
// between the snapshot and now may then be alerted once more.
func forgetAlerted(alerted map[flow.Key]bool, res *match.Result) {
	if len(alerted) <= 2*len(res.Flows)+4096 {
		return
	}
	present := make(map[flow.Key]struct{}, len(res.Flows))
	for i := range res.Flows {
		present[res.Flows[i].Flow.Key] = struct{}{}
	}
	for k := range alerted {
		if _, ok := present[k]; !ok {
			delete(alerted, k)
		}
	}
}

// ruleEvents emits each rule whose status changed since the last
// evaluation. The first evaluation reports every required rule and every
// other rule that was seen or blocked.
func (s *service) ruleEvents(now time.Time, res *match.Result) {
	for _, rr := range res.Rules {
		id := rr.Rule.ID()
		prev, known := s.prev[id]
		s.prev[id] = rr.Status
		switch {
		case known && prev == rr.Status:
			continue
		case !known && !rr.Required && (rr.Status == match.RuleUnused || rr.Status == match.RuleInactive):
			continue
		}
		from := ""
		if known {
			from = prev.String()
		}
		s.events.write(event{Time: now, Type: "rule", Rule: id, Profile: rr.Rule.Profile, Required: rr.Required,
			From: from, To: rr.Status.String(), Flows: len(rr.Flows)})
	}
}

// writeReport writes res as JSON into --report-dir under a name that sorts
// by time, through a temporary file so that a shipper never reads half a
// report, and deletes the oldest beyond --report-keep.
func (s *service) writeReport(now time.Time, res *match.Result, kind string) error {
	dir := s.wf.svc.reportDir
	name := fmt.Sprintf("wirecheck-%s-%s-%s.json", s.iface, now.UTC().Format("20060102T150405Z"), kind)
	tmp, err := os.CreateTemp(dir, ".wirecheck-*.json")
	if err != nil {
		return fmt.Errorf("--report-dir: %w", err)
	}
	werr := formats["json"](tmp, res)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("--report-dir: write %s: %w", name, werr)
	}
	// Only this interface's reports: a glob for "wirecheck-veth0-*" would
	// also take "wirecheck-veth0-1-..." of a service watching veth0-1.
	ours := regexp.MustCompile(`^wirecheck-` + regexp.QuoteMeta(s.iface) + `-\d{8}T\d{6}Z-[a-z]+\.json$`)
	all, err := filepath.Glob(filepath.Join(dir, "wirecheck-*.json"))
	if err != nil {
		return nil
	}
	var old []string
	for _, p := range all {
		if ours.MatchString(filepath.Base(p)) {
			old = append(old, p)
		}
	}
	slices.Sort(old)
	for len(old) > s.wf.svc.reportKeep {
		os.Remove(old[0])
		old = old[1:]
	}
	return nil
}

// close stops the metrics server and closes the event stream.
func (s *service) close() {
	if s == nil {
		return
	}
	signal.Stop(s.hup)
	s.prom.close()
	s.events.close()
}

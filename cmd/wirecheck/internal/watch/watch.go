package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/live"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/related"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// alertPoll is how often new flows are judged: well within the promised
// second from first packet to alert.
const alertPoll = 250 * time.Millisecond

// Run watches cfg.Interface until ctx ends, cfg.Duration runs out or the
// engine fails, and returns the final result, judged by the profile in
// force at the end. An error means the run could not start (or its final
// observation could not be read); a failing engine is said on cfg.Stderr
// and the result covers what was seen before.
func Run(ctx context.Context, cfg Config) (*match.Result, error) {
	return runWith(ctx, cfg, openEngine)
}

// engineOpener is openEngine, or a test's fake.
type engineOpener func(*Config, *match.Matcher, io.Writer) (live.Engine, string, error)

func runWith(ctx context.Context, cfg Config, open engineOpener) (*match.Result, error) {
	if cfg.Interval <= 0 {
		return nil, errors.New("watch: the interval must be positive")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	stderr := &syncWriter{w: cfg.Stderr}
	m := cfg.Matcher
	if m == nil {
		var err error
		if m, err = cfg.Load(); err != nil {
			return nil, err
		}
	}
	eng, name, err := open(&cfg, m, stderr)
	if err != nil {
		return nil, err
	}
	w, err := start(&cfg, m, eng, name, stderr) // on failure, start has closed eng
	if err != nil {
		return nil, err
	}
	defer w.close()
	fmt.Fprintf(stderr, "wirecheck: watching %v\n", w.eng) // tests wait for this line
	return w.run(ctx)
}

// watcher is one run: it owns the matcher (replaced only by reload), the
// engine, the alerted flows and the rule states, and hands each
// evaluation on to the events, the metrics snapshot and the reports.
type watcher struct {
	cfg   *Config
	clock Clock
	out   io.Writer // serialised cfg.Stderr
	m     *match.Matcher
	eng   live.Engine // sup, as an Engine
	sup   *live.Supervisor
	alerts
	rules      map[string]match.RuleStatus // each rule's status at the last evaluation
	events     *eventLog
	stats      *stats
	prom       *metricsServer
	lastReport time.Time
	flows      int // at the last summary
}

// alerts are the flows already alerted, and the unexpected new flows held
// for one more poll (fresh).
type alerts struct {
	alerted map[flow.Key]bool
	held    []flow.Flow
}

// start sets up the service around an open engine (engine names it):
// events, metrics and the supervisor that keeps the engine through
// interface faults and sweeps its idle flows.
func start(cfg *Config, m *match.Matcher, eng live.Engine, engine string, stderr *syncWriter) (*watcher, error) {
	now := cfg.Clock.Now()
	w := &watcher{cfg: cfg, clock: cfg.Clock, out: stderr, m: m,
		alerts: alerts{alerted: map[flow.Key]bool{}}, rules: map[string]match.RuleStatus{},
		events: newEventLog(cfg.Events, stderr), lastReport: now}
	w.sup = live.Supervise(eng, cfg.Interface, live.SuperviseOptions{
		Idle:   cfg.Idle,
		Hints:  m.PortHints(),
		Notify: w.notice,
		Now:    cfg.Clock.Now,
	})
	w.eng = w.sup
	w.stats = &stats{started: now, iface: cfg.Interface, engine: engine, sup: w.sup}
	if cfg.Metrics != "" {
		var err error
		if w.prom, err = serveMetrics(cfg.Metrics, w.stats, stderr); err != nil {
			w.sup.Close() // and the engine it supervises
			return nil, err
		}
		fmt.Fprintf(stderr, "wirecheck: metrics at http://%s/metrics\n", w.prom.addr)
	}
	return w, nil
}

func (w *watcher) close() {
	w.prom.close()
	w.eng.Close()
}

// run is the loop: judge new flows every alertPoll, evaluate everything
// every cfg.Interval, reload on request, and at the end the final result.
func (w *watcher) run(ctx context.Context) (*match.Result, error) {
	if err := w.loop(ctx); err != nil {
		// The engine failed (the interface went away): report what was seen.
		fmt.Fprintf(w.out, "wirecheck: %v (the report covers what was seen before)\n", err)
	}
	obs, err := w.eng.Observation()
	if err != nil {
		return nil, err
	}
	res := w.m.Evaluate(obs) // w.m: a reload may have replaced the profile
	now := w.clock.Now()
	w.ruleEvents(now, res)
	w.stats.publish(now, res, w.out)
	if w.cfg.Reports != nil {
		if err := w.cfg.Reports.Write(now, "final", res); err != nil {
			fmt.Fprintf(w.out, "wirecheck: %v\n", err)
		}
	}
	return res, nil
}

func (w *watcher) loop(ctx context.Context) error {
	poll, stopPoll := w.clock.NewTicker(alertPoll)
	defer stopPoll()
	summary, stopSummary := w.clock.NewTicker(w.cfg.Interval)
	defer stopSummary()
	var end <-chan time.Time // a ticker stopped at its first tick: a timer
	if w.cfg.Duration > 0 {
		var stopEnd func()
		end, stopEnd = w.clock.NewTicker(w.cfg.Duration)
		defer stopEnd()
	}
	for {
		select {
		case <-ctx.Done():
			w.fresh()
			return nil
		case <-end:
			w.fresh()
			return nil
		case <-poll:
			w.fresh()
			if err := w.eng.Err(); err != nil {
				return err
			}
		case <-w.cfg.Reload:
			w.reload()
		case <-summary:
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

// alert says a failing flow once: a line on stderr, an event, a count.
func (w *watcher) alert(fr *match.FlowResult) {
	if !fr.Verdict.Fails() || w.alerted[fr.Flow.Key] {
		return
	}
	w.alerted[fr.Flow.Key] = true
	now := w.clock.Now()
	fmt.Fprintf(w.out, "%s %s: %s %s from %s to %s\n", now.Format("15:04:05"), fr.Verdict,
		fr.Direction, report.ProtoPort(fr.Proto, fr.ServerPort), report.Endpoint(fr.Client(), fr.ClientNames()), report.Endpoint(fr.Server(), fr.ServerNames()))
	if fr.Verdict == match.Forbidden {
		w.stats.forbidden.Add(1)
	} else {
		w.stats.unexpected.Add(1)
	}
	w.events.write(flowEvent(now, fr))
}

// summary evaluates the whole observation: alerts for failing flows not
// yet said, the summary line, rule status events, the metrics snapshot, a
// report when one is due; then it bounds the alerted set.
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
	now := w.clock.Now()
	fmt.Fprintf(w.out, "%s summary: %s; %s (%+d): %d unexpected, %d forbidden; required rules %d/%d seen, %d blocked, %d not yet seen; %s; %d lost\n",
		now.Format("15:04:05"), res.Verdict, textout.Count(uint64(len(res.Flows)), "flow"), len(res.Flows)-w.flows,
		counts[match.Unexpected], counts[match.Forbidden], status[match.RuleSeen], required, status[match.RuleBlocked],
		status[match.RuleMissing]+status[match.RuleInconclusive], textout.Count(obs.Packets, "packet"), lost)
	w.flows = len(res.Flows)
	w.ruleEvents(now, res)
	w.stats.publish(now, res, w.out)
	if w.cfg.Reports != nil && now.Sub(w.lastReport) >= w.cfg.ReportEvery {
		w.lastReport = now
		if err := w.cfg.Reports.Write(now, "report", res); err != nil {
			fmt.Fprintf(w.out, "wirecheck: %v\n", err)
		}
	}
	forgetAlerted(w.alerted, res)
	return nil
}

// forgetAlerted bounds the set of alerted flows: once it holds far more
// flows than the latest evaluation, the flows that left the engine (swept
// into conversations, or evicted) are forgotten. A flow alerted between
// the snapshot and now may then be alerted once more.
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

// syncWriter serialises writes to standard error from the loop and the
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

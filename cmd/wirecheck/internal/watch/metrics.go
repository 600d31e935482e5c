package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wirecheck/wirecheck/classify/live"
	"github.com/wirecheck/wirecheck/classify/match"
)

// Metrics are read from the latest evaluated state, which the loop
// publishes once per interval: a scrape costs no engine work and the hot
// path updates no metric. dist/README.md lists them.

// stats is what the metrics endpoint reads: counters the loop adds to and
// the snapshot it publishes after each evaluation. The collector reads
// nothing else of the run.
type stats struct {
	started time.Time
	iface   string
	engine  string           // the engine chosen, until the first snapshot names it
	sup     *live.Supervisor // up and recoveries; nil in tests of the collector alone
	served  bool             // metrics are served: a health error is worth saying

	unexpected, forbidden atomic.Uint64 // failing flows alerted
	reloadsOK, reloadsBad atomic.Uint64
	latest                atomic.Pointer[snapshot]
}

// snapshot is what one evaluation showed, for metrics.
type snapshot struct {
	time     time.Time
	verdict  match.Verdict
	complete bool
	flows    [4]int // by match.FlowVerdict
	rules    []ruleSnapshot
	packets  uint64
	bytes    uint64
	health   live.Health
}

type ruleSnapshot struct {
	profile, name  string
	required       bool
	status         match.RuleStatus
	flows          int
	packets, bytes uint64
}

// publish makes res (and the engine's health) what metrics show.
func (s *stats) publish(now time.Time, res *match.Result, stderr io.Writer) {
	snap := &snapshot{time: now, verdict: res.Verdict, complete: res.Obs.Complete(),
		packets: res.Obs.Packets, bytes: res.Obs.Bytes}
	for i := range res.Flows {
		snap.flows[res.Flows[i].Verdict]++
	}
	for _, rr := range res.Rules {
		r := ruleSnapshot{profile: rr.Rule.Profile, name: rr.Rule.Name, required: rr.Required, status: rr.Status, flows: len(rr.Flows)}
		for _, i := range rr.Flows {
			r.packets += res.Flows[i].Packets()
			r.bytes += res.Flows[i].Bytes()
		}
		snap.rules = append(snap.rules, r)
	}
	if s.sup != nil {
		h, err := s.sup.Health()
		if err != nil && s.served {
			fmt.Fprintf(stderr, "wirecheck: metrics: %v\n", err)
		}
		snap.health = h
	}
	s.latest.Store(snap)
}

// collector turns the service's state into metrics at each scrape.
type collector struct {
	s *stats

	// mono keeps every counter monotonic for the life of the process:
	// Prometheus reads a counter that falls as a restart, which breaks
	// rate() and increase(). The engines keep their counts across
	// recoveries and reloads; should a count still fall (a kernel map
	// created again), the fall is taken as a reset and the value before
	// it is carried, as Prometheus itself would across a restart.
	mu   sync.Mutex
	mono map[string]*monoCount

	up, verdict, complete, flows, unexpected, forbidden          *prometheus.Desc
	ruleStatus, ruleFlows, rulePackets, ruleBytes                *prometheus.Desc
	packets, bytes, created, evicted, kernelFlows, dropped, lost *prometheus.Desc
	swept, conversations, sweptLost, recoveries, reloads         *prometheus.Desc
	lastEval, start                                              *prometheus.Desc
}

// monoCount is one counter series: the engine's last value and what
// earlier resets carried.
type monoCount struct{ last, carried uint64 }

// monotonic returns the value to expose for the series key whose engine
// count is now v.
func (c *collector) monotonic(key string, v uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.mono[key]
	if m == nil {
		m = &monoCount{}
		c.mono[key] = m
	}
	if v < m.last {
		m.carried += m.last
	}
	m.last = v
	return m.carried + v
}

func newCollector(s *stats) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("wirecheck_"+name, help, labels, nil)
	}
	return &collector{
		s:           s,
		mono:        map[string]*monoCount{},
		up:          d("up", "1 while the engine watches the interface; 0 while the interface is down or gone, or the engine could not attach.", "interface", "engine"),
		verdict:     d("verdict", "The latest evaluation's verdict: 1 for the current one, 0 for the others.", "verdict"),
		complete:    d("observation_complete", "1 when the engine lost nothing (no drops, evictions or lost records), so that a missing rule means missing."),
		flows:       d("flows", "Flows in the latest evaluation (live flows and swept conversations), by verdict.", "verdict"),
		unexpected:  d("unexpected_flows_total", "New unexpected flows alerted (each said once)."),
		forbidden:   d("forbidden_flows_total", "New flows a forbidden rule matched, alerted."),
		ruleStatus:  d("required_rule_status", "Status of each required rule: 1 for the current status, 0 for the others.", "profile", "rule", "status"),
		ruleFlows:   d("rule_flows", "Flows the rule matched in the latest evaluation.", "profile", "rule"),
		rulePackets: d("rule_packets", "Packets of the flows the rule matches now, both directions: a gauge, as it falls when flows are evicted from a full kernel map.", "profile", "rule"),
		ruleBytes:   d("rule_bytes", "Bytes of the flows the rule matches now, both directions (a gauge, as rule_packets).", "profile", "rule"),
		packets:     d("packets_total", "Frames the engine saw."),
		bytes:       d("bytes_total", "Bytes of the frames the engine saw."),
		created:     d("kernel_flows_created_total", "Flows the eBPF program created in its map."),
		evicted:     d("kernel_flows_evicted_total", "Flows the kernel evicted from the full eBPF map; their counts are lost."),
		kernelFlows: d("kernel_flows", "Flows in the eBPF map now."),
		dropped:     d("packets_dropped_total", "Packets not counted: kernel_map_full (the eBPF map refused a new flow), libpcap (the reader fell behind), interface (dropped by the interface).", "reason"),
		lost:        d("events_lost_total", "eBPF ring-buffer records lost: new_flows (alerts wait for the next interval), payloads (names or protocols may be missing).", "ring"),
		swept:       d("flows_swept_total", "Idle flows moved out of the eBPF map into per-conversation totals."),
		conversations: d("conversations",
			"Conversations (client, server, server port) holding the totals of swept flows."),
		sweptLost:  d("swept_flows_dropped_total", "Swept flows whose counts were lost because the conversation table was full."),
		recoveries: d("interface_recoveries_total", "Times the engine re-attached or reopened after the interface came back."),
		reloads:    d("profile_reloads_total", "SIGHUP profile reloads.", "result"),
		lastEval:   d("last_evaluation_timestamp_seconds", "When the state these metrics show was evaluated (Unix time)."),
		start:      d("start_time_seconds", "When watch started (Unix time)."),
	}
}

// Describe sends every descriptor.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.verdict, c.complete, c.flows, c.unexpected, c.forbidden,
		c.ruleStatus, c.ruleFlows, c.rulePackets, c.ruleBytes, c.packets, c.bytes, c.created, c.evicted,
		c.kernelFlows, c.dropped, c.lost, c.swept, c.conversations, c.sweptLost, c.recoveries, c.reloads,
		c.lastEval, c.start} {
		ch <- d
	}
}

// requiredStatuses are the states a required rule can be in.
var requiredStatuses = []match.RuleStatus{match.RuleSeen, match.RuleBlocked, match.RuleMissing, match.RuleInconclusive}

// Collect reads the latest snapshot.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		v = c.monotonic(d.String()+"\x00"+strings.Join(labels, "\x00"), v)
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	gauge(c.start, float64(s.started.UnixNano())/1e9)
	counter(c.unexpected, s.unexpected.Load())
	counter(c.forbidden, s.forbidden.Load())
	counter(c.reloads, s.reloadsOK.Load(), "success")
	counter(c.reloads, s.reloadsBad.Load(), "failure")
	snap := s.latest.Load()
	engine := s.engine
	if snap != nil && snap.health.Engine != "" {
		engine = snap.health.Engine
	}
	up := s.sup != nil && s.sup.Up()
	gauge(c.up, b(up), s.iface, engine)
	if s.sup != nil {
		counter(c.recoveries, s.sup.Recoveries())
	}
	if snap == nil {
		return // nothing evaluated yet
	}
	gauge(c.lastEval, float64(snap.time.UnixNano())/1e9)
	for _, v := range []match.Verdict{match.Conformant, match.NotConformant, match.Inconclusive} {
		gauge(c.verdict, b(snap.verdict == v), v.String())
	}
	gauge(c.complete, b(snap.complete))
	for v, n := range snap.flows {
		gauge(c.flows, float64(n), match.FlowVerdict(v).String())
	}
	for _, r := range snap.rules {
		if r.required {
			for _, st := range requiredStatuses {
				gauge(c.ruleStatus, b(r.status == st), r.profile, r.name, st.String())
			}
		}
		gauge(c.ruleFlows, float64(r.flows), r.profile, r.name)
		gauge(c.rulePackets, float64(r.packets), r.profile, r.name)
		gauge(c.ruleBytes, float64(r.bytes), r.profile, r.name)
	}
	counter(c.packets, snap.packets)
	counter(c.bytes, snap.bytes)
	h := snap.health
	if h.Engine == "ebpf" {
		counter(c.created, h.Created)
		counter(c.evicted, h.Evicted)
		gauge(c.kernelFlows, float64(h.LiveFlows))
		counter(c.dropped, h.MapFull, "kernel_map_full")
		counter(c.lost, h.RingDrops, "new_flows")
		counter(c.lost, h.PayloadDrops, "payloads")
		counter(c.swept, h.Swept)
		gauge(c.conversations, float64(h.Conversations))
		counter(c.sweptLost, h.RollupFull)
	}
	if h.Engine == "pcap" {
		counter(c.dropped, h.CaptureDropped, "libpcap")
		counter(c.dropped, h.IfDropped, "interface")
	}
}

// metricsServer serves /metrics.
type metricsServer struct {
	addr string
	srv  *http.Server
	done chan struct{}
}

// metricsAddr puts a bare port on the loopback interface: metrics name
// every flow the host makes, so exposing them is a choice to write out
// (0.0.0.0:9108).
func metricsAddr(addr string) string {
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		return net.JoinHostPort("127.0.0.1", addr)
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// serveMetrics listens at addr and serves s's metrics until close.
func serveMetrics(addr string, s *stats, stderr io.Writer) (*metricsServer, error) {
	addr = metricsAddr(addr)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(s),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	m := &metricsServer{addr: ln.Addr().String(), done: make(chan struct{}),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	s.served = true
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "wirecheck: --metrics: %v\n", err)
		}
	}()
	return m, nil
}

func (m *metricsServer) close() {
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
	<-m.done
}

// MetricNames lists the names of the metrics the service exports, for
// checking the alerting rules and the docs against them.
func MetricNames() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		newCollector(&stats{}).Describe(ch)
		close(ch)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	var names []string
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

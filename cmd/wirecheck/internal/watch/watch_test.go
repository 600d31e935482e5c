package watch

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/live"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch/watchtest"
)

// serviceProfile judges the fake engine's flows: one required rule the
// traffic satisfies, one it never does, and a forbidden port.
const serviceProfile = `version: 1
profile: wirecheck-test/service
description: Flows for the metrics and events tests
peers:
  clients:
    description: NFS clients
    cidrs: [10.0.0.0/24]
rules:
  - {name: nfs, from: clients, to: host, proto: tcp, ports: 2049, level: required}
  - {name: ntp, from: host, to: clients, proto: udp, ports: 123, level: required}
  - {name: telnet, from: clients, to: host, proto: tcp, ports: 23, level: forbidden}
`

// fakeEngine serves a fixed Observation that a test changes between
// evaluations; its new flows are announced by Fresh once.
type fakeEngine struct {
	mu     sync.Mutex
	obs    classify.Observation
	fresh  []flow.Flow
	closed int
}

func (e *fakeEngine) set(obs classify.Observation, fresh ...flow.Flow) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.obs, e.fresh = obs, append(e.fresh, fresh...)
}

func (e *fakeEngine) Observation() (*classify.Observation, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.obs
	o.Flows = slices.Clone(o.Flows)
	return &o, nil
}

func (e *fakeEngine) Fresh() []flow.Flow {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.fresh
	e.fresh = nil
	return f
}
func (e *fakeEngine) Err() error { return nil }
func (e *fakeEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed++
	return nil
}

// clientFlow is a TCP connection from 10.0.0.9 to the host 10.0.0.5.
func clientFlow(cport, sport uint16, cp, cb, sp, sb uint64) flow.Flow {
	client := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.9"), cport)
	k := flow.MakeKey(ipproto.TCP, client, netip.AddrPortFrom(netip.MustParseAddr("10.0.0.5"), sport))
	cs := flow.SideA
	if k.Addr(flow.SideA) != client.Addr() || k.Port(flow.SideA) != cport {
		cs = flow.SideB
	}
	f := flow.Flow{Key: k, FirstSide: cs, First: 1_700_000_000e9, Last: 1_700_000_001e9}
	f.Packets[cs], f.Bytes[cs], f.SYNs[cs], f.Flags[cs] = cp, cb, 1, 0x02|0x10
	f.Packets[cs.Other()], f.Bytes[cs.Other()], f.Flags[cs.Other()] = sp, sb, 0x12|0x10
	return f
}

// serviceHarness is a watcher with the service machinery around a fake
// engine on the loopback interface, without privileges, on a fake clock.
type serviceHarness struct {
	w         *watcher
	eng       *fakeEngine
	clock     *fakeClock
	stderr    *stderrText
	events    string
	profile   string
	reportDir string
}

// stderrText is what the watcher wrote to standard error so far, read
// under its writer's lock since the loop may be writing.
type stderrText struct {
	syncWriter
	buf bytes.Buffer
}

func newStderr() *stderrText {
	s := &stderrText{}
	s.w = &s.buf
	return s
}

func (s *stderrText) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func newServiceHarness(t *testing.T) *serviceHarness {
	t.Helper()
	dir := t.TempDir()
	h := &serviceHarness{eng: &fakeEngine{}, stderr: newStderr(), clock: newFakeClock(time.Second),
		events: filepath.Join(dir, "events.jsonl"), profile: filepath.Join(dir, "service.yaml"),
		reportDir: filepath.Join(dir, "reports")}
	if err := os.WriteFile(h.profile, []byte(serviceProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func() (*match.Matcher, error) {
		set, err := profile.Load(h.profile)
		if err != nil {
			return nil, err
		}
		return match.New(set, match.Options{Host: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}})
	}
	m, err := load()
	if err != nil {
		t.Fatal(err)
	}
	events, err := os.Create(h.events)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { events.Close() })
	reports, err := OpenReportDir(h.reportDir, "lo", 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Interface: "lo", Interval: time.Second, Load: load, Stderr: h.stderr, Events: events,
		Reports: reports, ReportEvery: time.Nanosecond, Metrics: "127.0.0.1:0", Clock: h.clock}
	h.w, err = start(cfg, m, h.eng, "pcap", &h.stderr.syncWriter)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.w.close)
	return h
}

// scrape fetches and parses /metrics.
func (h *serviceHarness) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + h.w.prom.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	return watchtest.ParseMetrics(t, resp.Body)
}

// metricWant is what one metric, with these labels, should read.
type metricWant struct {
	name   string
	labels []string
	want   float64
}

// checkMetrics fails t for each metric of wants mf does not hold at its
// value; when is a format for the metric's name ("after ... %s").
func checkMetrics(t *testing.T, mf map[string]*dto.MetricFamily, when string, wants []metricWant) {
	t.Helper()
	for _, c := range wants {
		if got := metricValue(t, mf, c.name, c.labels...); got != c.want {
			t.Errorf(when+"%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

var (
	metricValue  = watchtest.MetricValue
	lookupMetric = watchtest.LookupMetric
	readEvents   = watchtest.ReadEvents
	eventsOf     = watchtest.EventsOf
)

// TestMetricsHoldEvaluatedState drives the watcher with a fake engine whose
// observation is known, scrapes /metrics and checks every wirecheck value
// against that observation; then the observation changes and the metrics
// follow.
func TestMetricsHoldEvaluatedState(t *testing.T) {
	h := newServiceHarness(t)
	// A report of a service watching "lo-1" in the same directory: rotation
	// of lo's reports must leave it alone.
	var neighbours []string
	for _, ts := range []string{"20260101T000000Z", "20260101T000001Z"} {
		n := filepath.Join(h.reportDir, "wirecheck-lo-1-"+ts+"-report.json")
		if err := os.WriteFile(n, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		neighbours = append(neighbours, n)
	}
	mf := h.scrape(t)
	if v := metricValue(t, mf, "wirecheck_up", "interface", "lo"); v != 1 {
		t.Errorf("wirecheck_up %v before any evaluation, want 1 (lo is up)", v)
	}
	if _, ok := lookupMetric(mf, "wirecheck_flows"); ok {
		t.Error("flow metrics before any evaluation")
	}
	for _, name := range []string{"process_open_fds", "process_resident_memory_bytes", "go_goroutines"} {
		if mf[name] == nil {
			t.Errorf("%s missing: long runs are watched through it", name)
		}
	}

	// First interval: the NFS flow (10+8 packets, 1000+4000 bytes) and an
	// unexpected one to port 7777, announced at once through Fresh.
	nfs := clientFlow(40000, 2049, 10, 1000, 8, 4000)
	odd := clientFlow(40001, 7777, 3, 180, 0, 0)
	h.eng.set(classify.Observation{Flows: []flow.Flow{nfs, odd}, Packets: 25, Bytes: 5300}, odd)
	h.w.fresh()
	if err := h.w.summary(); err != nil {
		t.Fatal(err)
	}
	mf = h.scrape(t)
	checkMetrics(t, mf, "%s", []metricWant{
		{"wirecheck_flows", []string{"verdict", "expected"}, 1},
		{"wirecheck_flows", []string{"verdict", "unexpected"}, 1},
		{"wirecheck_flows", []string{"verdict", "forbidden"}, 0},
		{"wirecheck_unexpected_flows_total", nil, 1},
		{"wirecheck_forbidden_flows_total", nil, 0},
		{"wirecheck_verdict", []string{"verdict", "not-conformant"}, 1},
		{"wirecheck_verdict", []string{"verdict", "conformant"}, 0},
		{"wirecheck_observation_complete", nil, 1},
		{"wirecheck_required_rule_status", []string{"rule", "nfs", "status", "seen"}, 1},
		{"wirecheck_required_rule_status", []string{"rule", "nfs", "status", "missing"}, 0},
		{"wirecheck_required_rule_status", []string{"rule", "ntp", "status", "missing"}, 1},
		{"wirecheck_rule_packets", []string{"profile", "wirecheck-test/service", "rule", "nfs"}, 18},
		{"wirecheck_rule_bytes", []string{"rule", "nfs"}, 5000},
		{"wirecheck_rule_flows", []string{"rule", "nfs"}, 1},
		{"wirecheck_rule_packets", []string{"rule", "ntp"}, 0},
		{"wirecheck_packets_total", nil, 25},
		{"wirecheck_bytes_total", nil, 5300},
		{"wirecheck_up", []string{"interface", "lo"}, 1},
	})
	if _, ok := lookupMetric(mf, "wirecheck_required_rule_status", "rule", "telnet"); ok {
		t.Error("a forbidden rule has a required-rule status")
	}
	// Prometheus takes a counter's fall for a restart: only what never
	// falls may be a counter, and counters end in _total.
	for name, fam := range mf {
		if isCounter := fam.GetType() == dto.MetricType_COUNTER; isCounter != strings.HasSuffix(name, "_total") {
			t.Errorf("%s is a %s: counters, and only counters, end in _total", name, fam.GetType())
		}
	}

	// Second interval: a second NFS connection and a telnet attempt.
	nfs2 := clientFlow(40002, 2049, 5, 500, 5, 500)
	telnet := clientFlow(40003, 23, 2, 120, 0, 0)
	h.eng.set(classify.Observation{Flows: []flow.Flow{nfs, odd, nfs2, telnet}, Packets: 37, Bytes: 6420})
	if err := h.w.summary(); err != nil {
		t.Fatal(err)
	}
	mf = h.scrape(t)
	checkMetrics(t, mf, "after the second interval %s", []metricWant{
		{"wirecheck_rule_packets", []string{"rule", "nfs"}, 28},
		{"wirecheck_rule_bytes", []string{"rule", "nfs"}, 6000},
		{"wirecheck_rule_flows", []string{"rule", "nfs"}, 2},
		{"wirecheck_flows", []string{"verdict", "forbidden"}, 1},
		{"wirecheck_forbidden_flows_total", nil, 1},
		{"wirecheck_unexpected_flows_total", nil, 1}, // the odd flow is not counted twice
		{"wirecheck_packets_total", nil, 37},
	})
	reports, _ := filepath.Glob(filepath.Join(h.reportDir, "wirecheck-lo-2*.json"))
	if len(reports) == 0 || len(reports) > 2 {
		t.Errorf("reports %v: want at most --report-keep (2), at least one", reports)
	}
	for _, n := range neighbours {
		if _, err := os.Stat(n); err != nil {
			t.Errorf("rotation removed another interface's report: %v", err)
		}
	}
}

// TestEventsForFlowsAndRuleChanges: each new unexpected flow is one event,
// said once however often it is judged; a rule's status is said at the first
// evaluation and again only when it changes.
func TestEventsForFlowsAndRuleChanges(t *testing.T) {
	h := newServiceHarness(t)
	odd := clientFlow(40001, 7777, 3, 180, 0, 0)
	h.eng.set(classify.Observation{Flows: []flow.Flow{odd}, Packets: 3}, odd)
	h.w.fresh()
	for range 2 {
		if err := h.w.summary(); err != nil {
			t.Fatal(err)
		}
	}
	nfs := clientFlow(40000, 2049, 10, 1000, 8, 4000)
	h.eng.set(classify.Observation{Flows: []flow.Flow{odd, nfs}, Packets: 21})
	if err := h.w.summary(); err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, h.events)

	flows := eventsOf(evs, "flow")
	if len(flows) != 1 {
		t.Fatalf("flow events %v, want one", flows)
	}
	f := flows[0]
	for k, want := range map[string]any{"verdict": "unexpected", "direction": "inbound", "proto": "tcp",
		"client": "10.0.0.9", "client_port": 40001.0, "server": "10.0.0.5", "server_port": 7777.0} {
		if f[k] != want {
			t.Errorf("flow event %s = %v, want %v", k, f[k], want)
		}
	}

	var changes []string
	for _, e := range eventsOf(evs, "rule") {
		changes = append(changes, fmt.Sprintf("%s %v->%v", e["rule"], e["from"], e["to"]))
	}
	want := []string{
		"wirecheck-test/service:nfs <nil>->missing",
		"wirecheck-test/service:ntp <nil>->missing",
		"wirecheck-test/service:nfs missing->seen",
	}
	if !slices.Equal(changes, want) {
		t.Errorf("rule events:\n%s\nwant:\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}
}

// TestReloadKeepsCounts: SIGHUP's reload with a changed profile judges the
// same flows (no count lost) by the new rules, and a broken profile leaves
// the old one in force.
func TestReloadKeepsCounts(t *testing.T) {
	h := newServiceHarness(t)
	odd := clientFlow(40001, 7777, 3, 180, 0, 0)
	nfs := clientFlow(40000, 2049, 10, 1000, 8, 4000)
	h.eng.set(classify.Observation{Flows: []flow.Flow{odd, nfs}, Packets: 21})
	if err := h.w.summary(); err != nil {
		t.Fatal(err)
	}
	prof := h.profile
	if err := os.WriteFile(prof, []byte(serviceProfile+"  - {name: odd, from: clients, to: host, proto: tcp, ports: 7777, level: allowed}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.w.reload()
	mf := h.scrape(t)
	if v := metricValue(t, mf, "wirecheck_flows", "verdict", "unexpected"); v != 0 {
		t.Errorf("after reload %v unexpected flows, want 0 (the new rule allows 7777)", v)
	}
	if v := metricValue(t, mf, "wirecheck_rule_packets", "rule", "odd"); v != 3 {
		t.Errorf("new rule's packets %v, want the 3 counted before the reload", v)
	}
	if v := metricValue(t, mf, "wirecheck_profile_reloads_total", "result", "success"); v != 1 {
		t.Errorf("reloads %v", v)
	}

	if err := os.WriteFile(prof, []byte("version: 1\nprofile: [broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.w.reload()
	if !strings.Contains(h.stderr.String(), "profile not reloaded, the old one stays in force") {
		t.Errorf("stderr after a broken reload:\n%s", h.stderr.String())
	}
	mf = h.scrape(t)
	if v := metricValue(t, mf, "wirecheck_profile_reloads_total", "result", "failure"); v != 1 {
		t.Errorf("failed reloads %v", v)
	}
	if v := metricValue(t, mf, "wirecheck_rule_flows", "rule", "odd"); v != 1 {
		t.Errorf("after a failed reload the odd rule matches %v flows, want 1 (old profile in force)", v)
	}
}

func TestMetricsAddr(t *testing.T) {
	for in, want := range map[string]string{
		"9108":            "127.0.0.1:9108",
		":9108":           "127.0.0.1:9108",
		"0.0.0.0:9108":    "0.0.0.0:9108",
		"[::1]:9108":      "[::1]:9108",
		"10.0.0.5:9108":   "10.0.0.5:9108",
		"localhost:10000": "localhost:10000",
	} {
		if got := metricsAddr(in); got != want {
			t.Errorf("metricsAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

var _ live.Engine = (*fakeEngine)(nil)

// TestForgetAlertedBounded: the watcher's set of alerted flows is pruned
// to the flows still in the evaluation once it has grown far beyond them.
func TestForgetAlertedBounded(t *testing.T) {
	alerted := map[flow.Key]bool{}
	for i := range 10_000 {
		alerted[clientFlow(uint16(1024+i), 7777, 1, 60, 0, 0).Key] = true
	}
	kept := clientFlow(1024, 7777, 1, 60, 0, 0)
	res := &match.Result{Flows: []match.FlowResult{{Flow: &kept}}}
	forgetAlerted(alerted, res)
	if len(alerted) != 1 || !alerted[kept.Key] {
		t.Errorf("%d alerted flows left, want only the one still evaluated", len(alerted))
	}
	small := map[flow.Key]bool{clientFlow(2000, 7777, 1, 60, 0, 0).Key: true}
	forgetAlerted(small, res)
	if len(small) != 1 {
		t.Error("a small set was pruned: a flow alerted since the snapshot would be alerted again")
	}
}

// TestCountersNeverFall: every _total series keeps rising for the life of
// the process. Flows evicted or swept take rule packets down (those are
// gauges); an engine count that falls (a kernel map created again) is
// taken as a reset and the value before it carried, so rate() and
// increase() never see a restart that did not happen.
func TestCountersNeverFall(t *testing.T) {
	h := newServiceHarness(t)
	nfs := clientFlow(40000, 2049, 10, 1000, 8, 4000)
	odd := clientFlow(40001, 7777, 3, 180, 0, 0)
	prev := map[string]float64{}
	for i, step := range []struct {
		obs         classify.Observation
		wantPackets float64
	}{
		{classify.Observation{Flows: []flow.Flow{nfs, odd}, Packets: 25, Bytes: 5300}, 25},
		{classify.Observation{Flows: []flow.Flow{odd}, Packets: 30, Bytes: 5400}, 30}, // the NFS flow evicted
		{classify.Observation{Flows: nil, Packets: 4, Bytes: 400}, 34},                // the engine's count started again
		{classify.Observation{Flows: []flow.Flow{nfs}, Packets: 9, Bytes: 900}, 39},
	} {
		h.eng.set(step.obs)
		if err := h.w.summary(); err != nil {
			t.Fatal(err)
		}
		mf := h.scrape(t)
		if got := metricValue(t, mf, "wirecheck_packets_total"); got != step.wantPackets {
			t.Errorf("step %d: packets_total %v, want %v", i, got, step.wantPackets)
		}
		for name, fam := range mf {
			if fam.GetType() != dto.MetricType_COUNTER {
				continue
			}
			for _, m := range fam.Metric {
				key := name + fmt.Sprint(m.Label)
				if v := m.Counter.GetValue(); v < prev[key] {
					t.Errorf("step %d: %s fell from %v to %v", i, key, prev[key], v)
				} else {
					prev[key] = v
				}
			}
		}
	}
	if len(prev) < 4 {
		t.Errorf("only %d counter series scraped", len(prev))
	}
}

package watch

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/live"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
)

// waitFor waits (at most five seconds) until stderr holds want.
func waitFor(t *testing.T, h *serviceHarness, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(h.stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr never said %q:\n%s", want, h.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLoopRunsOnItsClock drives the whole loop through the injected clock:
// a poll alerts a new flow, the interval gives a summary, a reload takes a
// new profile and says its rule count, and the duration ends the run with
// the final result and report. Nothing happens until the clock moves.
func TestLoopRunsOnItsClock(t *testing.T) {
	h := newServiceHarness(t)
	reload := make(chan os.Signal, 1)
	h.w.cfg.Interval, h.w.cfg.Duration, h.w.cfg.Reload = 10*time.Second, time.Minute, reload
	h.w.cfg.ReportEvery = time.Hour
	odd := clientFlow(40001, 7777, 3, 180, 0, 0)
	nfs := clientFlow(40000, 2049, 10, 1000, 8, 4000)
	h.eng.set(classify.Observation{Flows: []flow.Flow{odd, nfs}, Packets: 21}, odd)
	before := h.stderr.String() // the metrics address

	type result struct {
		res *match.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := h.w.run(context.Background())
		done <- result{res, err}
	}()
	for h.clock.running() < 3 { // poll, summary, duration
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if s := h.stderr.String(); s != before {
		t.Fatalf("the loop wrote before its clock moved:\n%s", s)
	}

	// The unexpected flow is held one poll for an announcement that may
	// explain it, then alerted: polls until it is, within the interval.
	const alert = "unexpected: inbound TCP 7777 from 10.0.0.9 to 10.0.0.5"
	for i := 0; i < 20 && !strings.Contains(h.stderr.String(), alert); i++ {
		h.clock.Advance(alertPoll)
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, h, alert)
	if !strings.Contains(h.stderr.String(), "\n03:04:0") {
		t.Errorf("the alert is not stamped with the injected clock's time (03:04:05 on):\n%s", h.stderr.String())
	}
	if strings.Contains(h.stderr.String(), "summary:") {
		t.Fatal("a summary before the interval")
	}
	h.clock.Advance(10 * time.Second)
	waitFor(t, h, "summary: not-conformant; 2 flows (+2): 1 unexpected, 0 forbidden; required rules 1/2 seen")

	if err := os.WriteFile(h.profile, []byte(serviceProfile+"  - {name: odd, from: clients, to: host, proto: tcp, ports: 7777, level: allowed}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	waitFor(t, h, "SIGHUP: profile reloaded (wirecheck-test/service, 4 rules); counts kept")
	waitFor(t, h, "summary: not-conformant; 2 flows (+0): 0 unexpected")

	select {
	case r := <-done:
		t.Fatalf("the run ended before its duration: %v", r.err)
	case <-time.After(20 * time.Millisecond):
	}
	h.clock.Advance(time.Minute)
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the run did not end when its duration ran out")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.res.Verdict != match.NotConformant || len(r.res.Rules) != 4 {
		t.Errorf("final result: %v with %d rules, want not-conformant (ntp missing) by the reloaded profile's 4", r.res.Verdict, len(r.res.Rules))
	}
	finals, _ := filepath.Glob(filepath.Join(h.reportDir, "wirecheck-lo-2026*-final.json"))
	if len(finals) != 1 {
		t.Errorf("final reports %v, want one named by the fake clock's time", finals)
	}
	if n := strings.Count(h.stderr.String(), "unexpected: inbound TCP 7777"); n != 1 {
		t.Errorf("the odd flow alerted %d times, want once", n)
	}
	if h.clock.running() != 0 {
		t.Errorf("%d tickers left running", h.clock.running())
	}
}

// TestEngineChoiceErrors: a name that is no engine and an interface that
// does not exist are refused before any engine is opened.
func TestEngineChoiceErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Interface: "lo", Engine: "xdp"}, "--engine xdp: use ebpf or pcap"},
		{Config{Interface: "wirecheck-nonesuch0"}, "interface wirecheck-nonesuch0: no such interface"},
		{Config{Interface: "wirecheck-nonesuch0", Engine: "pcap"}, "interface wirecheck-nonesuch0: no such interface"},
	} {
		eng, _, err := openEngine(&tc.cfg, nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
		if eng != nil {
			eng.Close()
		}
	}
}

// TestMetricsListenFails: a --metrics address that cannot be listened on
// fails the start, and the engine is closed, once.
func TestMetricsListenFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m, err := match.New(&profile.Set{}, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{}
	cfg := Config{Interface: "lo", Interval: time.Second, Metrics: ln.Addr().String(), Clock: newFakeClock(0),
		Matcher: m, Stderr: io.Discard}
	open := func(*Config, *match.Matcher, io.Writer) (live.Engine, string, error) { return eng, "pcap", nil }
	if _, err := runWith(context.Background(), cfg, open); err == nil || !strings.Contains(err.Error(), "--metrics "+ln.Addr().String()) {
		t.Errorf("a run with the metrics port taken: %v", err)
	}
	if eng.closed != 1 {
		t.Errorf("engine closed %d times, want once", eng.closed)
	}
}

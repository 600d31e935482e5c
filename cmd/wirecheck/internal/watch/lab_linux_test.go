//go:build linux

package watch

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch/watchtest"
	"github.com/wirecheck/wirecheck/internal/netnslab"
)

// The privileged tests of the service call Run in a process of their own
// (this test binary re-executed, see TestRunHelper) inside a network
// namespace of internal/netnslab: a namespace belongs to a thread, and
// Run's goroutines would wander between threads; and only a process can be
// killed with SIGKILL. The child turns SIGINT and SIGTERM into the end of
// Run's context and SIGHUP into Config.Reload, and writes the result as a
// JSON report on standard output; the command's own handling of signals,
// flags and exit statuses is tested in cmd/wirecheck.

// runSpec is what the child builds its Config from: the Config's fields a
// test sets, with files named by path.
type runSpec struct {
	Interface string
	Engine    string
	Filter    string
	Interval  time.Duration
	Duration  time.Duration
	// MaxFlows 0 is bpf.DefaultMaxFlows and Idle 0 is 30s, and the tunnels
	// are "auto": the command's defaults.
	MaxFlows int
	Idle     time.Duration
	Metrics  string
	// Profile is the profile file, loaded again on each reload.
	Profile string
	// Hosts are the host's addresses; none means the interface's own.
	Hosts []string
	// Events is the events file ("": none).
	Events string
	// ReportDir gets a report every ReportEvery, keeping ReportKeep.
	ReportDir   string
	ReportEvery time.Duration
	ReportKeep  int
}

const runEnv = "WIRECHECK_WATCH_RUN"

// TestRunHelper is Run in the child process of the privileged tests, when
// they run this binary with WIRECHECK_WATCH_RUN; on its own it skips. Exit
// status 0 means Run returned a result, written on standard output; 3 that
// it returned an error, written on standard error.
func TestRunHelper(t *testing.T) {
	env := os.Getenv(runEnv)
	if env == "" {
		t.Skip("the watch process of other tests; not a test on its own")
	}
	var spec runSpec
	if err := json.Unmarshal([]byte(env), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "spec: %v\n", err)
		os.Exit(3)
	}
	if err := runChild(spec); err != nil {
		fmt.Fprintf(os.Stderr, "watch: %v\n", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func runChild(spec runSpec) error {
	hosts := spec.Hosts
	if len(hosts) == 0 {
		var err error
		if hosts, err = InterfaceAddrs(spec.Interface); err != nil {
			return err
		}
	}
	host, err := match.ParseHost(hosts)
	if err != nil {
		return err
	}
	load := func() (*match.Matcher, error) {
		set, err := profile.Load(spec.Profile)
		if err != nil {
			return nil, err
		}
		return match.New(set, match.Options{Host: host})
	}
	if spec.MaxFlows == 0 {
		spec.MaxFlows = bpf.DefaultMaxFlows
	}
	if spec.Idle == 0 {
		spec.Idle = 30 * time.Second
	}
	cfg := Config{Interface: spec.Interface, Engine: spec.Engine, Filter: spec.Filter, Interval: spec.Interval,
		Duration: spec.Duration, Limits: classify.Limits{MaxFlows: spec.MaxFlows, Host: host, Tunnels: classify.TunnelsAuto}, Idle: spec.Idle,
		Metrics: spec.Metrics, Load: load, Stderr: os.Stderr, ReportEvery: spec.ReportEvery}
	if spec.Events != "" {
		ev, err := os.OpenFile(spec.Events, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer ev.Close()
		cfg.Events = ev
	}
	if spec.ReportDir != "" {
		if cfg.Reports, err = OpenReportDir(spec.ReportDir, spec.Interface, spec.ReportKeep); err != nil {
			return err
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	cfg.Reload = hup
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, cfg)
	if err != nil {
		return err
	}
	return report.JSON(os.Stdout, res)
}

// runProc is a child running Run.
type runProc struct{ *netnslab.Proc }

// startRun runs Run with spec in namespace ns and waits until it says it is
// watching. The process is killed when the test ends.
func startRun(t *testing.T, ns string, spec runSpec) *runProc {
	t.Helper()
	env, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := netnslab.Command{Helper: "TestRunHelper", NS: ns, Env: []string{runEnv + "=" + string(env)}}
	return &runProc{netnslab.Start(t, c, "wirecheck: watching ")}
}

// stop sends sig (SIGINT or SIGTERM: the end of Run's context), checks that
// Run returned a result, and decodes it.
func (p *runProc) stop(t *testing.T, sig syscall.Signal) *report.Report {
	t.Helper()
	if code := p.Signal(sig); code != 0 {
		t.Fatalf("Run's process exited %d, want 0 (a result); stderr:\n%s", code, p.StderrText())
	}
	var rep report.Report
	p.DecodeStdout(&rep)
	return &rep
}

// writeProfile writes a profile of the given text to a file name in a
// temporary directory and returns its path.
func writeProfile(t *testing.T, name, text string) string {
	t.Helper()
	p := fmt.Sprintf("%s/%s", t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// scrapeNetns fetches /metrics from addr in namespace ns.
func scrapeNetns(t *testing.T, ns, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	var conn net.Conn
	if err := testenv.InNetns(ns, func() (err error) {
		conn, err = net.DialTimeout("tcp", addr, 5*time.Second)
		return err
	}); err != nil {
		t.Fatalf("scrape %s in %s: %v", addr, ns, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	return watchtest.ParseMetrics(t, resp.Body)
}

var metricsLine = regexp.MustCompile(`metrics at http://(\S+)/metrics`)

// metricsAddrOf finds where the process serves metrics.
func metricsAddrOf(t *testing.T, p *runProc) string {
	t.Helper()
	for _, l := range p.StderrLines() {
		if m := metricsLine.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no metrics address on stderr:\n%s", p.StderrText())
	return ""
}

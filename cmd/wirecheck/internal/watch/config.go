package watch

import (
	"io"
	"os"
	"time"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
)

// Config is one watch run. Interface, Interval, Load and Stderr are
// needed; the zero value of every other field turns its feature off.
type Config struct {
	Interface string
	// Engine is "ebpf", "pcap", or "" for eBPF where possible, else pcap.
	Engine string
	// Filter is a tcpdump-syntax filter; only libpcap applies one, so a
	// filter without an engine chooses libpcap.
	Filter string
	// Interval is how often the whole observation is evaluated and a
	// summary printed.
	Interval time.Duration
	// Duration ends the run after this long; 0 runs until ctx ends.
	Duration time.Duration
	// Limits are the host, the tunnels to look into and the flows kept:
	// MaxFlows is the size of the eBPF engine's kernel map, or bounds
	// libpcap's flow table.
	Limits classify.Limits
	// Idle sweeps flows idle this long out of the eBPF map (0: never).
	Idle time.Duration
	// Metrics is the address to serve Prometheus metrics at ("": none).
	Metrics string

	// Matcher judges the flows from the start; nil means Load's.
	Matcher *match.Matcher
	// Load builds the matcher again from the profiles on each reload.
	Load func() (*match.Matcher, error)
	// Reload delivers a request to reload the profile (SIGHUP); nil never.
	Reload <-chan os.Signal

	// Stderr receives alerts, summaries and notices.
	Stderr io.Writer
	// Events receives JSON lines (events.go); nil for none.
	Events io.Writer
	// Reports receives a report every ReportEvery and the final one; nil
	// for none.
	Reports     Reports
	ReportEvery time.Duration
	// Clock is where time is read; nil means SystemClock.
	Clock Clock
}

// Clock is the service's only source of time.
type Clock interface {
	Now() time.Time
	// NewTicker delivers the time every d, the first time d from now,
	// until stop is called.
	NewTicker(d time.Duration) (c <-chan time.Time, stop func())
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTicker is a time.Ticker.
func (SystemClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

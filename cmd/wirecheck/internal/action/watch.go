package action

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch"
)

// WatchOptions are one watch run; watch.Config says what each does.
type WatchOptions struct {
	// Judge: Host none means the interface's own addresses.
	Judge
	Interface, Engine, Filter string
	Interval, Duration, Idle  time.Duration
	MaxFlows                  int
	Tunnels                   string
	Metrics                   string
	// Events is the file for JSON lines, "-" for Streams.Out ("": none).
	Events string
	// ReportDir gets a report every ReportEvery, ReportKeep of them kept
	// ("": none).
	ReportDir   string
	ReportEvery time.Duration
	ReportKeep  int
	// Explain words an error for the user. A profile that does not
	// reload is said while the run goes on, not returned, so the
	// command's wording is applied here (nil: as it is).
	Explain func(error) error
}

// Watch runs the watch service on the interface until ctx ends, SIGINT or
// SIGTERM arrives or the duration runs out, reloading the profiles on
// SIGHUP, and writes the final report. Everything it is given is checked
// before the engine starts.
func Watch(ctx context.Context, o WatchOptions, s Streams) (Outcome, error) {
	switch {
	case o.Interval <= 0:
		return 0, &OptionError{"Interval", o.Interval, errors.New("not positive")}
	case o.Duration < 0:
		return 0, &OptionError{"Duration", o.Duration, errors.New("negative")}
	}
	inputs, err := checkFiles(o.Output, nil, o.Profiles, o.Events)
	if err != nil {
		return 0, err
	}
	if o.Filter != "" && o.Engine == "ebpf" {
		return 0, &OptionError{"Filter", o.Filter, errors.New("only libpcap applies a filter")}
	}
	if len(o.Host) == 0 {
		if o.Host, err = watch.InterfaceAddrs(o.Interface); err != nil {
			return 0, err
		}
	} else if _, err := net.InterfaceByName(o.Interface); err != nil {
		// Said before missing capabilities: a typo is the likelier mistake.
		return 0, fmt.Errorf("interface %s: no such interface (list them with: ip link)", o.Interface)
	}
	explain := o.Explain
	if explain == nil {
		explain = func(err error) error { return err }
	}
	load := func() (*match.Matcher, error) {
		m, err := o.Matcher()
		return m, explain(err)
	}
	m, err := o.Matcher()
	if err != nil {
		return 0, err
	}
	switch {
	case o.Events == "-" && (o.Output == "" || o.Output == "-"):
		return 0, &OptionError{"Events", o.Events, errors.New("standard output also gets the final report")}
	case o.ReportDir != "" && o.ReportEvery < time.Second:
		return 0, &OptionError{"ReportEvery", o.ReportEvery, errors.New("less than 1s")}
	case o.ReportDir != "" && o.ReportKeep < 1:
		return 0, &OptionError{"ReportKeep", o.ReportKeep, errors.New("less than 1")}
	case o.Idle < 0:
		return 0, &OptionError{"Idle", o.Idle, errors.New("negative")}
	}
	lim, err := limits(o.MaxFlows, o.Tunnels, o.Host)
	if err != nil {
		return 0, err
	}
	cfg := watch.Config{Interface: o.Interface, Engine: o.Engine, Filter: o.Filter, Interval: o.Interval,
		Duration: o.Duration, Limits: lim, Idle: o.Idle, Metrics: o.Metrics,
		Matcher: m, Load: load, Stderr: s.Err, ReportEvery: o.ReportEvery}
	if o.ReportDir != "" {
		if cfg.Reports, err = watch.OpenReportDir(o.ReportDir, o.Interface, o.ReportKeep); err != nil {
			return 0, err
		}
	}
	events, err := watch.OpenEvents(o.Events, s.Out)
	if err != nil {
		return 0, err
	}
	if events != nil {
		defer events.Close()
		cfg.Events = events
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg.Reload = hup
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := watch.Run(ctx, cfg)
	if err != nil {
		return 0, err
	}
	return o.writeReport(s, res, inputs)
}

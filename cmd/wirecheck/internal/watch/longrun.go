package watch

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wirecheck/wirecheck/classify/live"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// What lets watch run for weeks as a daemon: rule events, rotated
// reports, interface notices and reloads. The loop (watch.go) calls each
// in turn with what it evaluated; none of them calls back into it.

// notice says what happened to the interface, on standard error and as an
// event; it runs on the supervisor's goroutine.
func (w *watcher) notice(n live.Notice) {
	fmt.Fprintf(w.out, "%s wirecheck: %s\n", n.Time.Format("15:04:05"), n.Message)
	w.events.write(event{Time: n.Time, Type: "interface", Interface: n.Interface, Event: string(n.Kind), Message: n.Message})
}

// reload loads the profile again. The engine, its flows and every counter
// stay; only the judgement changes, and the next evaluation (done at once)
// reports rule status changes the new profile makes. A profile that does
// not load leaves the old one in force.
func (w *watcher) reload() {
	now := w.clock.Now()
	m, err := w.cfg.Load()
	if err != nil {
		w.stats.reloadsBad.Add(1)
		fmt.Fprintf(w.out, "%s wirecheck: SIGHUP: profile not reloaded, the old one stays in force: %v\n", now.Format("15:04:05"), err)
		w.events.write(event{Time: now, Type: "reload", Error: err.Error()})
		return
	}
	if err := w.sup.Reload(serverPorts(m), m.PortHints()); err != nil {
		// Only which new flows are announced at once suffers.
		fmt.Fprintf(w.out, "%s wirecheck: SIGHUP: %v\n", now.Format("15:04:05"), err)
	}
	w.m = m
	w.stats.reloadsOK.Add(1)
	rules, names := m.RuleCount(), m.Profiles()
	fmt.Fprintf(w.out, "%s wirecheck: SIGHUP: profile reloaded (%s, %s); counts kept\n", now.Format("15:04:05"), strings.Join(names, ", "), textout.Count(uint64(rules), "rule"))
	w.events.write(event{Time: now, Type: "reload", Profiles: names, Rules: rules})
	if err := w.summary(); err != nil {
		fmt.Fprintf(w.out, "wirecheck: %v\n", err)
	}
}

// ruleEvents emits each rule whose status changed since the last
// evaluation. The first evaluation reports every required rule and every
// other rule that was seen or blocked.
func (w *watcher) ruleEvents(now time.Time, res *match.Result) {
	for _, rr := range res.Rules {
		id := rr.Rule.ID()
		prev, known := w.rules[id]
		w.rules[id] = rr.Status
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
		w.events.write(event{Time: now, Type: "rule", Rule: id, Profile: rr.Rule.Profile, Required: rr.Required,
			From: from, To: rr.Status.String(), Flows: len(rr.Flows)})
	}
}

// Reports takes the reports of a run: one every Config.ReportEvery
// (kind "report") and the final one (kind "final").
type Reports interface {
	Write(now time.Time, kind string, res *match.Result) error
}

// ReportDir writes reports as JSON files into a directory under names that
// sort by time, keeping the newest Keep of the interface's.
type ReportDir struct {
	Dir       string
	Interface string
	Keep      int
}

// OpenReportDir makes the directory (--report-dir) if need be.
func OpenReportDir(dir, iface string, keep int) (*ReportDir, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("--report-dir: %w", err)
	}
	return &ReportDir{Dir: dir, Interface: iface, Keep: keep}, nil
}

// Write writes res through a temporary file, so that a shipper never
// reads half a report, and deletes the oldest beyond Keep.
func (d *ReportDir) Write(now time.Time, kind string, res *match.Result) error {
	name := fmt.Sprintf("wirecheck-%s-%s-%s.json", d.Interface, now.UTC().Format("20060102T150405Z"), kind)
	tmp, err := os.CreateTemp(d.Dir, ".wirecheck-*.json")
	if err != nil {
		return fmt.Errorf("--report-dir: %w", err)
	}
	werr := report.JSON(tmp, res)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(d.Dir, name))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("--report-dir: write %s: %w", name, werr)
	}
	// Only this interface's reports: a glob for "wirecheck-veth0-*" would
	// also take "wirecheck-veth0-1-..." of a service watching veth0-1.
	ours := regexp.MustCompile(`^wirecheck-` + regexp.QuoteMeta(d.Interface) + `-\d{8}T\d{6}Z-[a-z]+\.json$`)
	all, err := filepath.Glob(filepath.Join(d.Dir, "wirecheck-*.json"))
	if err != nil {
		return nil
	}
	var old []string
	for _, p := range all {
		if ours.MatchString(filepath.Base(p)) {
			old = append(old, p)
		}
	}
	// Oldest first by time, and within one second the final report last:
	// sorted by name alone, "-final" would sort before "-report", and a
	// periodic report written in the final one's second would delete it.
	// The report just written is never deleted.
	slices.SortFunc(old, func(a, b string) int {
		return cmp.Or(strings.Compare(reportStamp(a), reportStamp(b)), cmp.Compare(kindRank(a), kindRank(b)), strings.Compare(a, b))
	})
	written := filepath.Join(d.Dir, name)
	for i := 0; len(old)-i > d.Keep; i++ {
		if old[i] != written {
			os.Remove(old[i])
		}
	}
	return nil
}

// reportStamp is the time in a report's name (ReportDir.Write).
func reportStamp(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	kind := strings.LastIndexByte(base, '-')
	return base[strings.LastIndexByte(base[:kind], '-')+1 : kind]
}

// kindRank orders the reports of one second: the final report last.
func kindRank(path string) int {
	if strings.HasSuffix(path, "-final.json") {
		return 1
	}
	return 0
}

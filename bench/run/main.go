// Command run times whole-process runs of wirecheck and its peers on the
// synthetic benchmark captures (internal/gencap) and prints the medians,
// the ratios, peak memory and which of issue 5's targets hold, then the
// table of report formats (each format's wall time and peak memory against
// the text report's, when the profile allows every flow and when every flow
// is a problem; issue 20's targets). `make bench` runs it after the Go
// benchmarks:
//
//	go run ./bench/run [-runs 5] [-tshark-runs 3]
//	go run ./bench/run -formats    # the formats table alone
//	go run ./bench/run -pgo cmd/wirecheck/default.pgo    # make pgo
//
// Captures are written to bench/out (ignored by git) the first time, and
// again whenever internal/gencap changes. Each command runs once to warm
// the page cache, then -runs times; wall time and CPU are medians, peak
// memory (maximum resident set) the largest of the runs, from wait4.
//
// wirecheck, capinfos and tcpdump run in rounds, each command once per
// round, and a ratio between two of them is the median of their per-round
// ratios: this machine's speed drifts by a third over minutes (other
// tenants), and back-to-back runs of one command and then the other let
// that drift into the ratio. tshark, at half a minute a run, runs on its
// own after them.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const out = "bench/out"

type capture struct {
	name           string
	packets, flows int
}

var (
	mix     = capture{"mix-2m.pcap", 2_000_000, 100_000}
	mix2x   = capture{"mix-4m.pcap", 4_000_000, 100_000}
	million = capture{"flows-1m.pcap", 3_000_000, 1_000_000}
)

func main() {
	runs := flag.Int("runs", 7, "timed runs of each command (after one warm-up run)")
	tsharkRuns := flag.Int("tshark-runs", 3, "timed runs of tshark, which takes half a minute each")
	formatsOnly := flag.Bool("formats", false, "time only the report formats (issue 20's table)")
	pgo := flag.String("pgo", "", "write the profile go build optimises wirecheck with to `file`, and time nothing")
	flag.Parse()
	run := run
	switch {
	case *pgo != "":
		run = func(_, _ int) error { return pgoProfile(*pgo) }
	case *formatsOnly:
		run = func(runs, _ int) error { return formatsTable(runs) }
	}
	if err := run(*runs, *tsharkRuns); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	label   string
	wall    time.Duration // median
	cpu     time.Duration // median user+system
	rssKB   int64         // largest
	samples []time.Duration
	rounds  int // the rounds of measureRounds the samples are from; 0: measured alone
}

func run(runs, tsharkRuns int) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the module root (make bench)")
	}
	for _, tool := range []string{"tshark", "tcpdump", "capinfos"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: run make bench, which installs it", tool)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := captures(mix, mix2x, million); err != nil {
		return err
	}
	wc := filepath.Join(out, "wirecheck")
	if b, err := exec.Command("go", "build", "-o", wc, "./cmd/wirecheck").CombinedOutput(); err != nil {
		return fmt.Errorf("build wirecheck: %v\n%s", err, b)
	}
	file := filepath.Join(out, mix.name)
	analyse := func(profile, f string) []string {
		return []string{wc, "analyse", "-q", "-p", profile, "-o", "/dev/null", f}
	}
	load0 := loadavg()
	fmt.Printf("capture: %s (%d packets, %d flows, %s); %d runs after a warm-up, tshark %d\n",
		file, mix.packets, mix.flows, size(file), runs, tsharkRuns)
	fmt.Printf("load average before: %s\n\n", load0)

	rs, err := measureRounds([]command{
		{"wirecheck analyse", analyse("bench/profile.yaml", file)},
		{"wirecheck analyse, one goroutine (GOMAXPROCS=1)", append([]string{"env", "GOMAXPROCS=1"}, analyse("bench/profile.yaml", file)...)},
		{"wirecheck analyse, every flow a problem", analyse("storage-gateway/common", file)},
		{"capinfos -c", []string{"capinfos", "-c", file}},
		// -Z root: run as root, tcpdump drops to its own user and hands
		// the file it writes to that user, here /dev/null itself.
		{"tcpdump -r FILE -w /dev/null", []string{"tcpdump", "-Z", "root", "-r", file, "-w", "/dev/null"}},
	}, runs)
	if err != nil {
		return err
	}
	tsharkRes, err := measure(command{"tshark -q -z conv,tcp -z conv,udp", []string{"tshark", "-q", "-z", "conv,tcp", "-z", "conv,udp", "-r", file}}, tsharkRuns)
	if err != nil {
		return err
	}
	rs = append(rs, tsharkRes)
	for _, r := range rs {
		fmt.Fprintf(os.Stderr, "  %-50s %8.3f s\n", r.label, r.wall.Seconds())
	}
	scale := []struct {
		label string
		c     capture
	}{{"2× packets, same flows", mix2x}, {"1M flows", million}}
	var rss []result
	for _, s := range scale {
		r, err := measure(command{"wirecheck analyse, " + s.label, analyse("bench/profile.yaml", filepath.Join(out, s.c.name))}, 3)
		if err != nil {
			return err
		}
		rss = append(rss, r)
	}
	load1 := loadavg()

	w := rs[0]
	fmt.Println("| command | wall (median) | × wirecheck | CPU (median) | peak RSS |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	for _, r := range rs {
		fmt.Printf("| `%s` | %.3f s | %.2f | %.3f s | %d MB |\n", r.label, r.wall.Seconds(),
			ratio(r, w), r.cpu.Seconds(), r.rssKB>>10)
	}
	fmt.Println("\n× wirecheck: the median of the per-round ratios (tshark, timed on its own: the ratio of the medians).")
	fmt.Printf("Peak RSS is at least this benchmark's own, %d MB: a command starts with the peak of the process that starts it.\n", ownPeakKB()>>10)
	fmt.Println()
	fmt.Println("| wirecheck analyse on | packets | flows | wall (median) | peak RSS |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	fmt.Printf("| %s | %d | %d | %.3f s | %d MB |\n", mix.name, mix.packets, mix.flows, w.wall.Seconds(), w.rssKB>>10)
	for i, s := range scale {
		fmt.Printf("| %s | %d | %d | %.3f s | %d MB |\n", s.c.name, s.c.packets, s.c.flows, rss[i].wall.Seconds(), rss[i].rssKB>>10)
	}
	fmt.Printf("\nload average after: %s\n\nTargets:\n", load1)

	capinfos, tcpdump, tshark := rs[3], rs[4], rs[5]
	growth := float64(rss[0].rssKB-w.rssKB) / float64(w.rssKB) * 100
	for _, t := range []struct {
		what  string
		got   string
		holds bool
	}{
		{"wall ≤ 1.5× capinfos -c", fmt.Sprintf("%.2f×", ratio(w, capinfos)), ratio(w, capinfos) <= 1.5},
		{"wall ≤ 0.5× tcpdump -r -w /dev/null", fmt.Sprintf("%.2f×", ratio(w, tcpdump)), ratio(w, tcpdump) <= 0.5},
		{"≥ 50× faster than tshark conv", fmt.Sprintf("%.0f×", ratio(tshark, w)), ratio(tshark, w) >= 50},
		{"≥ 20× less peak memory than tshark conv", fmt.Sprintf("%.1f×", float64(tshark.rssKB)/float64(w.rssKB)), tshark.rssKB >= 20*w.rssKB},
		{"2× packets, same flows: RSS changes < 10%", fmt.Sprintf("%+.1f%%", growth), growth < 10 && growth > -10},
		{"1M flows: RSS < 300 MB", fmt.Sprintf("%d MB", rss[1].rssKB>>10), rss[1].rssKB < 300<<10},
	} {
		verdict := "holds"
		if !t.holds {
			verdict = "DOES NOT HOLD"
		}
		fmt.Printf("- %s: %s — %s\n", t.what, t.got, verdict)
	}
	fmt.Println()
	return formats(wc, file, runs)
}

// reportFormats are the formats of the per-format table, text first: the
// others are compared with it.
var reportFormats = []string{"text", "json", "markdown", "junit", "html", "sarif"}

// formatsTable builds wirecheck and the captures and prints the per-format
// table alone (go run ./bench/run -formats).
func formatsTable(runs int) error {
	if err := captures(mix); err != nil {
		return err
	}
	wc := filepath.Join(out, "wirecheck")
	if b, err := exec.Command("go", "build", "-o", wc, "./cmd/wirecheck").CombinedOutput(); err != nil {
		return fmt.Errorf("build wirecheck: %v\n%s", err, b)
	}
	file := filepath.Join(out, mix.name)
	fmt.Printf("capture: %s (%d packets, %d flows, %s); %d runs after a warm-up\n", file, mix.packets, mix.flows, size(file), runs)
	return formats(wc, file, runs)
}

// formats times every report format, in rounds with the text report, when
// the profile allows every flow and when every flow is a problem, and
// prints the table and issue 20's targets: every format within 1.5× of
// text's wall time and peak memory, JSON within 1.3× of its wall time, also
// when both are written to a regular file.
func formats(wc, file string, runs int) error {
	fmt.Printf("load average before the formats: %s\n\n", loadavg())
	fmt.Println("| profile | format | wall (median) | × text | peak RSS | × text RSS | output |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	if reportFormats[0] != "text" || reportFormats[1] != "json" {
		return errors.New("reportFormats must start with text and json") // the file runs below use outs[0] and outs[1]
	}
	var misses, toFile []string
	for _, p := range []struct{ label, profile string }{
		{"allows every flow", "bench/profile.yaml"},
		{"every flow a problem", "storage-gateway/common"},
	} {
		// Timed writing to /dev/null, as the runs above: the formats'
		// cost, not the disk's. Writing a 100 MB report to this VM's disk
		// adds its writeback throttling (dd of 100 MB: about half a
		// second), which the size column lets a reader weigh. One more run
		// per format writes the file whose size is shown.
		var cs []command
		outs := make([]string, len(reportFormats))
		for i, f := range reportFormats {
			outs[i] = filepath.Join(out, "report."+f)
			cs = append(cs, command{"wirecheck analyse --format " + f, []string{wc, "analyse", "-q", "-p", p.profile, "--format", f, "-o", "/dev/null", file}})
			if _, _, err := runOnce(command{cs[i].label, []string{wc, "analyse", "-q", "-p", p.profile, "--format", f, "-o", outs[i], file}}); err != nil {
				return err
			}
		}
		rs, err := measureRounds(cs, runs)
		if err != nil {
			return err
		}
		text := rs[0]
		for i, r := range rs {
			wall, mem := ratio(r, text), float64(r.rssKB)/float64(text.rssKB)
			fmt.Printf("| %s | %s | %.3f s | %.2f | %d MB | %.2f | %s |\n", p.label, reportFormats[i], r.wall.Seconds(), wall, r.rssKB>>10, mem, size(outs[i]))
			limit := 1.5
			if reportFormats[i] == "json" {
				limit = 1.3
			}
			if wall > limit {
				misses = append(misses, fmt.Sprintf("%s, %s: wall %.2f× text (target %.1f×)", p.label, reportFormats[i], wall, limit))
			}
			if mem > 1.5 {
				misses = append(misses, fmt.Sprintf("%s, %s: peak RSS %.2f× text (target 1.5×)", p.label, reportFormats[i], mem))
			}
		}
		// The same, written to a regular file that each run replaces, as
		// a report is in use: JSON's 112 MB against text's 16 MB go
		// through the page cache and replace the previous run's file.
		fileRs, err := measureRounds([]command{
			{"wirecheck analyse --format text -o FILE", []string{wc, "analyse", "-q", "-p", p.profile, "-o", outs[0], file}},
			{"wirecheck analyse --format json -o FILE", []string{wc, "analyse", "-q", "-p", p.profile, "--format", "json", "-o", outs[1], file}},
		}, runs)
		if err != nil {
			return err
		}
		wall := ratio(fileRs[1], fileRs[0])
		toFile = append(toFile, fmt.Sprintf("| %s | %.3f s | %.3f s | %.2f |", p.label, fileRs[0].wall.Seconds(), fileRs[1].wall.Seconds(), wall))
		if wall > 1.3 {
			misses = append(misses, fmt.Sprintf("%s, json written to a file: wall %.2f× text written to a file (target 1.3×)", p.label, wall))
		}
		for _, o := range outs {
			os.Remove(o)
		}
	}
	fmt.Println("\nWritten to a regular file in bench/out that each run replaces (same rounds):\n\n| profile | text to a file | json to a file | × text |\n| --- | --- | --- | --- |")
	for _, l := range toFile {
		fmt.Println(l)
	}
	fmt.Printf("\nReports written to /dev/null unless said; output: the size of the report written to a file.\n× text: the median of the per-round ratios to the text report of the same profile.\nload average after: %s\n\nFormat targets (wall ≤ 1.5× text, JSON ≤ 1.3× also when written to a file, peak RSS ≤ 1.5×): ", loadavg())
	if len(misses) == 0 {
		fmt.Println("all hold")
	} else {
		fmt.Println("DO NOT ALL HOLD")
		for _, m := range misses {
			fmt.Println("- " + m)
		}
	}
	return nil
}

// ratio is how many times longer a took than b: the median of the per-round
// ratios when both ran in the same rounds (measureRounds), else the ratio
// of their medians.
func ratio(a, b result) float64 {
	if a.rounds == 0 || a.rounds != b.rounds {
		return a.wall.Seconds() / b.wall.Seconds()
	}
	rs := make([]float64, len(a.samples))
	for i := range rs {
		rs[i] = a.samples[i].Seconds() / b.samples[i].Seconds()
	}
	slices.Sort(rs)
	if len(rs)%2 == 1 {
		return rs[len(rs)/2]
	}
	return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
}

// command is a command line to time and its label.
type command struct {
	label string
	argv  []string
}

// measure runs c once to warm up and then n times.
func measure(c command, n int) (result, error) {
	rs, err := measureRounds([]command{c}, n)
	if err != nil {
		return result{}, err
	}
	rs[0].rounds = 0 // not paired with anything
	return rs[0], nil
}

// measureRounds runs every command once to warm up, then n rounds in which
// each runs once, in order.
func measureRounds(cs []command, n int) ([]result, error) {
	rs := make([]result, len(cs))
	cpus := make([][]time.Duration, len(cs))
	for round := range n + 1 {
		for i, c := range cs {
			r := &rs[i]
			r.label = c.label
			wall, ru, err := runOnce(c)
			if err != nil {
				return nil, err
			}
			if round == 0 {
				continue
			}
			r.samples = append(r.samples, wall)
			cpus[i] = append(cpus[i], time.Duration(ru.Utime.Nano()+ru.Stime.Nano()))
			r.rssKB = max(r.rssKB, ru.Maxrss)
		}
	}
	for i := range rs {
		rs[i].wall, rs[i].cpu, rs[i].rounds = median(rs[i].samples), median(cpus[i]), n
	}
	return rs, nil
}

// runOnce runs c and returns its wall time and resource usage.
func runOnce(c command) (time.Duration, *syscall.Rusage, error) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	// wirecheck exits 1 for a capture that does not conform; any
	// other failure is a failure to measure.
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1 && strings.HasPrefix(c.label, "wirecheck")) {
		return 0, nil, fmt.Errorf("%s: %v\n%s", strings.Join(c.argv, " "), err, stderr.String())
	}
	return wall, cmd.ProcessState.SysUsage().(*syscall.Rusage), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// captures writes the captures that are missing or were written by another
// version of the generator.
// ownPeakKB returns this process's peak resident memory (VmHWM), 0 when
// unknown.
func ownPeakKB() int64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

func captures(cs ...capture) error {
	h := sha256.New()
	srcs, _ := filepath.Glob("internal/gencap/*.go")
	for _, s := range srcs {
		if strings.HasSuffix(s, "_test.go") {
			continue
		}
		b, err := os.ReadFile(s)
		if err != nil {
			return err
		}
		h.Write(b)
	}
	version := hex.EncodeToString(h.Sum(nil))[:16]
	for _, c := range cs {
		name := filepath.Join(out, c.name)
		stamp := name + ".gencap"
		if b, err := os.ReadFile(stamp); err == nil && string(b) == version {
			continue
		}
		fmt.Fprintf(os.Stderr, "writing %s (%d packets, %d flows)...\n", name, c.packets, c.flows)
		// In a process of its own: a command this one starts later
		// begins with this process's peak memory as its own (the kernel
		// carries it over when the command is executed), and writing a
		// capture in this process raised that floor to about 54 MB, above
		// capinfos' and tcpdump's peaks.
		gen := exec.Command("go", "run", "./bench/gencap", "-packets", fmt.Sprint(c.packets), "-flows", fmt.Sprint(c.flows), "-seed", "1", "-o", name)
		if b, err := gen.CombinedOutput(); err != nil {
			os.Remove(name)
			return fmt.Errorf("%s: %v\n%s", name, err, b)
		}
		if err := os.WriteFile(stamp, []byte(version), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func size(name string) string {
	st, err := os.Stat(name)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MB", float64(st.Size())/1e6)
}

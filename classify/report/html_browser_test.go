package report

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// browser finds headless Chromium (Debian's chromium; make test installs
// it). In CI a missing browser fails the test rather than skipping it.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (make test installs it)")
	}
	t.Skip("chromium is not installed; make test installs it")
	return ""
}

// startBrowser starts headless Chromium for the test (stopped when it
// ends), 1400×1000, with opts; tabs are chromedp.NewContext of the
// context it returns. The browser is started here, without a deadline: a
// deadline on the first run would bound the browser's life.
func startBrowser(t *testing.T, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := browser(t)
	opts = append(append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1400, 1000)), opts...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return bctx
}

// pageFacts is what the page itself reports once loaded.
type pageFacts struct {
	DiagramWidth  float64  `json:"diagramWidth"`
	DiagramHeight float64  `json:"diagramHeight"`
	Arrows        []string `json:"arrows"`   // each arrow's status and the colour its line is drawn in
	Overflow      []string `json:"overflow"` // texts that stick out of their box
	Overlaps      []string `json:"overlaps"` // arrow labels that overlap a box or another label
	Resources     []string `json:"resources"`
	Problems      int      `json:"problems"`
	Verdict       string   `json:"verdict"`
}

const factsScript = `(() => {
  const svg = document.getElementById('diagram');
  const r = svg.getBoundingClientRect();
  const inside = (a, b) => a.x >= b.x - 1 && a.y >= b.y - 1 && a.x + a.width <= b.x + b.width + 1 && a.y + a.height <= b.y + b.height + 1;
  const meet = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const overflow = [], overlaps = [];
  const rects = [...svg.querySelectorAll('g.box')].map(g => {
    const box = g.querySelector('rect').getBBox();
    for (const t of g.querySelectorAll('text')) if (!inside(t.getBBox(), box)) overflow.push(t.textContent);
    return box;
  });
  const labels = [...svg.querySelectorAll('g.arrow text')].map(t => ({t: t.textContent, b: t.getBBox()}));
  labels.forEach((l, i) => {
    for (const box of rects) if (meet(l.b, box)) overlaps.push(l.t + ' / a box');
    for (const m of labels.slice(i + 1)) if (meet(l.b, m.b)) overlaps.push(l.t + ' / ' + m.t);
  });
  return {
    diagramWidth: r.width, diagramHeight: r.height,
    arrows: [...svg.querySelectorAll('g.arrow')].map(g => g.dataset.status + ' ' + getComputedStyle(g.querySelector('line')).stroke),
    overflow, overlaps,
    resources: performance.getEntriesByType('resource').map(e => e.name),
    problems: document.querySelectorAll('#problems li').length,
    verdict: document.getElementById('verdict').dataset.verdict,
  };
})()`

// statusColours are the CSS colours of the diagram, as the browser reports
// computed strokes.
var statusColours = map[string]string{
	"seen": "rgb(46, 125, 50)", "blocked": "rgb(211, 47, 47)", "missing": "rgb(239, 108, 0)",
	"unexpected": "rgb(142, 36, 170)", "forbidden": "rgb(183, 28, 28)", "discouraged": "rgb(199, 145, 0)",
	"inconclusive": "rgb(84, 110, 122)", "unused": "rgb(158, 158, 158)", "inactive": "rgb(176, 176, 176)",
}

// TestHTMLInBrowser loads the page in headless Chromium: it must load with
// no console error and fetch nothing, the diagram must be laid out with no
// text outside its box and no label over another, each arrow drawn in its
// status colour, and the screenshot must show those colours. Run with
// -artifacts to keep the screenshots.
func TestHTMLInBrowser(t *testing.T) {
	bctx := startBrowser(t, chromedp.Flag("hide-scrollbars", true))

	for _, tc := range []struct {
		name, file string
		fixture    bool
	}{
		{"faulty", "filegw-faulty.pcap", false},
		{"every-status", "filegw-faulty.pcap", true},
		{"misc", "misc.pcapng", false}, // IPv6 flows are transit here: the host is 10.0.0.5 only
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := evaluate(t, tc.file, tc.fixture)
			page := filepath.Join(t.ArtifactDir(), "report.html")
			if err := os.WriteFile(page, render(t, func(b *bytes.Buffer, r *match.Result) error { return HTML(b, r) }, res), 0o644); err != nil {
				t.Fatal(err)
			}
			tab, cancel := chromedp.NewContext(bctx)
			defer cancel()
			var mu sync.Mutex
			var console []string
			if err := chromedp.Listen(tab, func(ev any) {
				mu.Lock()
				defer mu.Unlock()
				switch ev := ev.(type) {
				case *runtime.EventExceptionThrown:
					console = append(console, "exception: "+ev.ExceptionDetails.Text)
				case *runtime.EventConsoleAPICalled:
					if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
						console = append(console, string(ev.Type)+": console call")
					}
				case *log.EventEntryAdded:
					if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
						console = append(console, string(ev.Entry.Level)+": "+ev.Entry.Text)
					}
				}
			}); err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithTimeout(tab, 60*time.Second)
			defer stop()
			u := (&url.URL{Scheme: "file", Path: page}).String()
			if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitReady(chromedp.ID("diagram"))); err != nil {
				t.Fatalf("load %s: %v", u, err)
			}
			facts, err := chromedp.Run(ctx, chromedp.Evaluate[pageFacts](factsScript))
			if err != nil {
				t.Fatal(err)
			}
			shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "report.png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			if len(console) > 0 {
				t.Errorf("console: %s", strings.Join(console, "; "))
			}
			mu.Unlock()

			if facts.Verdict != res.Verdict.String() || facts.Problems != len(res.Problems()) {
				t.Errorf("page shows verdict %q and %d problems; want %s and %d", facts.Verdict, facts.Problems, res.Verdict, len(res.Problems()))
			}
			if len(facts.Resources) > 0 {
				t.Errorf("the page fetched %v; it must be self-contained", facts.Resources)
			}
			if facts.DiagramWidth < 800 || facts.DiagramHeight < 200 {
				t.Errorf("diagram drawn %.0fx%.0f px", facts.DiagramWidth, facts.DiagramHeight)
			}
			if len(facts.Arrows) < len(res.Rules) {
				t.Errorf("%d arrows for %d rules", len(facts.Arrows), len(res.Rules))
			}
			used := map[string]bool{}
			for _, a := range facts.Arrows {
				status, stroke, _ := strings.Cut(a, " ")
				used[status] = true
				if want, ok := statusColours[status]; !ok || stroke != want {
					t.Errorf("%s arrow drawn in %s, want %s", status, stroke, want)
				}
			}
			if len(facts.Overflow) > 0 {
				t.Errorf("text outside its box: %q", facts.Overflow)
			}
			if len(facts.Overlaps) > 0 {
				t.Errorf("arrow labels overlap: %q", facts.Overlaps)
			}
			checkScreenshot(t, shot, used)
		})
	}
}

// checkScreenshot decodes the PNG and checks that it is a full page, not
// blank, and that the colour of each status drawn shows in it.
func checkScreenshot(t *testing.T, shot []byte, used map[string]bool) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != 1400 || b.Dy() < 1000 {
		t.Errorf("screenshot %dx%d, want the 1400 px wide full page", b.Dx(), b.Dy())
	}
	background := color.RGBA{0xf6, 0xf8, 0xfa, 0xff}
	near := func(c color.Color, r, g, bl uint8) bool {
		cr, cg, cb, _ := c.RGBA()
		d := func(x uint32, y uint8) int { return max(int(x>>8)-int(y), int(y)-int(x>>8)) }
		return d(cr, r) <= 12 && d(cg, g) <= 12 && d(cb, bl) <= 12
	}
	ink := 0
	found := map[string]int{}
	rgb := map[string][3]uint8{}
	for s, css := range statusColours {
		var c [3]uint8
		var r, g, bl int
		if _, err := fmt.Sscanf(css, "rgb(%d, %d, %d)", &r, &g, &bl); err != nil {
			t.Fatal(err)
		}
		c[0], c[1], c[2] = uint8(r), uint8(g), uint8(bl)
		rgb[s] = c
	}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			c := img.At(x, y)
			if !near(c, background.R, background.G, background.B) && !near(c, 0xff, 0xff, 0xff) {
				ink++
			}
			for s, v := range rgb {
				if used[s] && near(c, v[0], v[1], v[2]) {
					found[s]++
				}
			}
		}
	}
	// Text, boxes and arrows cover about 7% of a report page; a page that
	// failed to render is one or two flat colours.
	if total := (b.Dx() / 2) * (b.Dy() / 2); ink < total/30 {
		t.Errorf("screenshot is nearly blank: %d of %d sampled pixels are neither background nor white", ink, total)
	}
	for s := range used {
		if found[s] < 20 {
			t.Errorf("the %s colour %v shows in %d sampled pixels only", s, rgb[s], found[s])
		}
	}
}

// TestHTMLLargeInBrowser: at 100,000 flows, both when the profile allows
// every flow and when every flow is a problem, the page stays small
// (bounded lists and flow groups, largest first) and Chromium loads it in
// under a second (the best of three loads, as the page reports it: from
// navigation to the load event).
func TestHTMLLargeInBrowser(t *testing.T) {
	bctx := startBrowser(t)
	const flows = 100_000
	obs := testobs.Generated(t, gencap.Config{Packets: 3 * flows, Flows: flows, Seed: 2})
	for _, ref := range []string{"../../bench/profile.yaml", "storage-gateway/common"} {
		res := judged(t, obs, ref)
		out := render(t, func(b *bytes.Buffer, r *match.Result) error { return HTML(b, r) }, res)
		if len(out) > 3<<20 {
			t.Errorf("%s: the page is %d bytes for %d flows, want at most 3 MiB", ref, len(out), flows)
		}
		doc, err := html.Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		rows := findAll(byID(doc, "flow-groups"), "tr")
		if len(rows) < 2 || len(rows) > maxHTMLGroups+1 {
			t.Errorf("%s: %d rows in the flow groups table, want 1 to %d", ref, len(rows)-1, maxHTMLGroups)
		}
		// Largest first, and the counts add up with what is left out.
		total, prev := 0, flows
		for _, tr := range rows[1:] {
			n, err := strconv.Atoi(text(findAll(tr, "td")[1]))
			if err != nil || n > prev {
				t.Fatalf("%s: flow group of %q flows after one of %d", ref, text(findAll(tr, "td")[1]), prev)
			}
			total, prev = total+n, n
		}
		if more := byID(doc, "more-groups"); more != nil {
			var groups, rest int
			fmt.Sscanf(text(more), "and %d more groups of %d flows", &groups, &rest)
			total += rest
		}
		if total != flows {
			t.Errorf("%s: the groups count %d flows, want %d", ref, total, flows)
		}
		if n := len(findAll(byID(doc, "problems"), "li")); n > 2*maxHTMLProblems {
			t.Errorf("%s: %d problems listed", ref, n)
		}

		page := filepath.Join(t.ArtifactDir(), "large.html")
		if err := os.WriteFile(page, out, 0o644); err != nil {
			t.Fatal(err)
		}
		best := time.Hour
		for range 3 {
			tab, cancel := chromedp.NewContext(bctx)
			ctx, stop := context.WithTimeout(tab, 60*time.Second)
			u := (&url.URL{Scheme: "file", Path: page}).String()
			var ms float64
			err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitReady(chromedp.ID("diagram")))
			if err == nil {
				ms, err = chromedp.Run(ctx, chromedp.Poll[float64](`(() => { const e = performance.getEntriesByType('navigation')[0]; return e && e.loadEventEnd > 0 ? e.loadEventEnd - e.startTime : 0; })()`))
			}
			stop()
			cancel()
			if err != nil {
				t.Fatalf("load %s: %v", u, err)
			}
			best = min(best, time.Duration(ms*float64(time.Millisecond)))
		}
		t.Logf("%s: %d flows, page %d bytes, %d flow groups shown, loaded in %v", ref, flows, len(out), len(rows)-1, best)
		if best > time.Second {
			t.Errorf("%s: the page took %v to load, want under a second", ref, best)
		}
	}
}

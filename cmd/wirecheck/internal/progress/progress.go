package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Source is what the display polls: capture.File.Progress, safe to call
// while another goroutine reads the file.
type Source interface {
	Progress() (read, size int64, packets uint64)
}

// Timing of the progress line.
const (
	after = time.Second            // runs shorter than this show nothing
	every = 250 * time.Millisecond // redraws
)

// wantProgress decides whether to show progress: only when the user did not
// ask for quiet and standard error is a terminal. A pipe, a file or a CI log
// gets nothing, because a line rewritten with \r is noise there.
func wantProgress(quiet bool, stderr io.Writer) bool {
	if quiet {
		return false
	}
	f, ok := stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Display draws one status line on a terminal while captures are read.
type Display struct {
	w            io.Writer
	sources      []Source
	start        time.Time
	after, every time.Duration
	shown        bool // a line is on the screen and must be cleared

	stop chan struct{}
	done sync.WaitGroup
}

// Start starts the display, or returns nil (on which every method is a
// no-op) when progress is not wanted.
func Start(quiet bool, stderr io.Writer, sources []Source) *Display {
	if !wantProgress(quiet, stderr) || len(sources) == 0 {
		return nil
	}
	return start(stderr, sources, after, every)
}

func start(w io.Writer, sources []Source, after, every time.Duration) *Display {
	p := &Display{w: w, sources: sources, start: time.Now(), after: after, every: every, stop: make(chan struct{})}
	p.done.Add(1)
	go p.loop()
	return p
}

func (p *Display) loop() {
	defer p.done.Done()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			if line := p.line(now); line != "" {
				// \r and erase-line: the line is rewritten in place.
				fmt.Fprintf(p.w, "\r\x1b[K%s", line)
				p.shown = true
			}
		}
	}
}

// Finish stops the display and clears its line, before anything else is
// written to standard error.
func (p *Display) Finish() {
	if p == nil {
		return
	}
	close(p.stop)
	p.done.Wait()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// line renders the status at time now, or "" while the run is young.
func (p *Display) line(now time.Time) string {
	elapsed := now.Sub(p.start)
	if elapsed < p.after {
		return ""
	}
	var read, total int64
	var packets uint64
	known := true
	for _, s := range p.sources {
		r, size, n := s.Progress()
		read += r
		packets += n
		if size < 0 {
			known = false
		}
		total += size
	}
	secs := elapsed.Seconds()
	var b strings.Builder
	b.WriteString("reading: ")
	b.WriteString(byteSize(read))
	if known && total > 0 {
		frac := min(float64(read)/float64(total), 1)
		fmt.Fprintf(&b, " of %s (%d%%)", byteSize(total), int(frac*100))
	}
	fmt.Fprintf(&b, ", %s packets/s", count(float64(packets)/secs))
	if known && read > 0 && total > read {
		left := time.Duration(float64(total-read) / (float64(read) / secs) * float64(time.Second))
		fmt.Fprintf(&b, ", %s left", clock(left))
	}
	return b.String()
}

// byteSize writes a size in the units people read: 812.4 MB.
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, "kMGTP"[i])
}

// count writes a rate: 950, 12.3k, 1.2M.
func count(f float64) string {
	switch {
	case f >= 1e6:
		return fmt.Sprintf("%.1fM", f/1e6)
	case f >= 1e4:
		return fmt.Sprintf("%.0fk", f/1e3)
	case f >= 1e3:
		return fmt.Sprintf("%.1fk", f/1e3)
	}
	return fmt.Sprintf("%.0f", f)
}

// clock writes a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

package progress

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/internal/ptytest"
)

func TestWantProgress(t *testing.T) {
	_, tty := ptytest.Open(t)
	file, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	tests := []struct {
		name   string
		stderr io.Writer
		quiet  bool
		want   bool
	}{
		{"terminal", tty, false, true},
		{"terminal, --quiet", tty, true, false},
		{"file", file, false, false},
		{"pipe", w, false, false},
		{"buffer", &bytes.Buffer{}, false, false},
	}
	for _, tc := range tests {
		if got := wantProgress(tc.quiet, tc.stderr); got != tc.want {
			t.Errorf("%s: wantProgress = %v, want %v", tc.name, got, tc.want)
		}
	}
}

type fakeSource struct {
	read, size int64
	packets    uint64
}

func (f fakeSource) Progress() (int64, int64, uint64) { return f.read, f.size, f.packets }

func TestProgressLine(t *testing.T) {
	start := time.Unix(1000, 0)
	p := &Display{start: start, after: after, sources: []Source{
		fakeSource{read: 100e6, size: 300e6, packets: 400_000},
		fakeSource{read: 0, size: 100e6},
	}}
	if got := p.line(start.Add(after / 2)); got != "" {
		t.Errorf("a young run shows %q", got)
	}
	// 100 MB of 400 MB in 2 s: 50 MB/s, so 6 s left.
	if got, want := p.line(start.Add(2*time.Second)), "reading: 100.0 MB of 400.0 MB (25%), 200k packets/s, 0:06 left"; got != want {
		t.Errorf("line\n got %q\nwant %q", got, want)
	}
	// Standard input has no size: no total, no time left.
	p.sources = append(p.sources, fakeSource{read: 5000, size: -1, packets: 10})
	if got, want := p.line(start.Add(2*time.Second)), "reading: 100.0 MB, 200k packets/s"; got != want {
		t.Errorf("line\n got %q\nwant %q", got, want)
	}
}

// TestDisplayDrawsAndClears: the running display rewrites its line in
// place (\r, erase line) and Finish clears it; a nil display does nothing.
func TestDisplayDrawsAndClears(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := start(w, []Source{fakeSource{read: 5e6, size: 10e6, packets: 100}}, 0, 5*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // redraws every 5 ms: a few kilobytes, within the pipe's buffer
	p.Finish()
	w.Close()
	b, _ := io.ReadAll(r)
	s := string(b)
	if !strings.HasPrefix(s, "\r\x1b[Kreading: 5.0 MB of 10.0 MB (50%), ") {
		t.Errorf("no progress line: %q", s)
	}
	if !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("the line is not cleared at the end: %q", s)
	}
	var none *Display
	none.Finish()
	if Start(false, os.Stderr, nil) != nil || Start(true, os.Stderr, []Source{fakeSource{}}) != nil {
		t.Error("a display started without sources or with --quiet")
	}
}

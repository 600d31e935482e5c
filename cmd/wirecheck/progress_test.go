package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func openPty(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	return ptmx, tty
}

func TestWantProgress(t *testing.T) {
	_, tty := openPty(t)
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
	p := &progress{start: start, sources: []progressSource{
		fakeSource{read: 100e6, size: 300e6, packets: 400_000},
		fakeSource{read: 0, size: 100e6},
	}}
	if got := p.line(start.Add(progressAfter / 2)); got != "" {
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

// slowReader hands out its bytes in small pieces with pauses, as a large
// capture on a slow disk would.
type slowReader struct {
	data  []byte
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.pause)
	n := copy(p[:min(len(p), 2048)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// TestProgressOnTerminal runs analyse on a slow standard input with
// standard error on a pseudo-terminal: the progress line appears and is
// cleared before the run ends; with --quiet, or with standard error not a
// terminal, nothing is written there.
func TestProgressOnTerminal(t *testing.T) {
	after, every := progressAfter, progressEvery
	progressAfter, progressEvery = 0, 20*time.Millisecond
	t.Cleanup(func() { progressAfter, progressEvery = after, every })

	capture := readFile(t, filepath.Join(captures, "filegw-conformant.pcapng")) // 28,944 B: 15 reads
	args := []string{"analyse", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "-"}
	runOn := func(stderr io.Writer, extra ...string) int {
		var out bytes.Buffer
		return run(append(args, extra...), &slowReader{capture, 15 * time.Millisecond}, &out, stderr)
	}

	ptmx, tty := openPty(t)
	if code := runOn(tty); code != 0 {
		t.Fatalf("exit %d", code)
	}
	tty.Close()
	shown, _ := io.ReadAll(ptmx) // ends with EIO once the terminal side is closed
	s := string(shown)
	if !strings.Contains(s, "reading: ") || !strings.Contains(s, "packets/s") {
		t.Errorf("no progress line on the terminal: %q", s)
	}
	if !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("the progress line is not cleared at the end: %q", s)
	}

	// --quiet on a terminal: nothing.
	ptmx, tty = openPty(t)
	if code := runOn(tty, "--quiet"); code != 0 {
		t.Fatalf("--quiet: exit %d", code)
	}
	tty.Close()
	if b, _ := io.ReadAll(ptmx); len(b) != 0 {
		t.Errorf("--quiet wrote to the terminal: %q", b)
	}

	// A file (a CI log): nothing.
	log, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	if code := runOn(log); code != 0 {
		t.Fatalf("exit %d", code)
	}
	log.Close()
	if b, _ := os.ReadFile(log.Name()); len(b) != 0 {
		t.Errorf("progress written to a file: %q", b)
	}
}

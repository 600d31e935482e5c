package main

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
	// 28,944 B: 15 reads of 100 ms, past the second before a line shows.
	capture := readFile(t, filepath.Join(captures, "filegw-conformant.pcapng"))
	args := []string{"analyse", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "-"}
	runOn := func(stderr io.Writer, extra ...string) int {
		var out bytes.Buffer
		return run(append(args, extra...), &slowReader{capture, 100 * time.Millisecond}, &out, stderr)
	}

	ptmx, tty := ptytest.Open(t)
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
	ptmx, tty = ptytest.Open(t)
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

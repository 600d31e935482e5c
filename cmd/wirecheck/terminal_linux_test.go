package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// onTerminal runs wirecheck args with its standard output on a pseudo
// terminal (script(1), util-linux) whose COLUMNS is columns, and returns
// what it printed.
func onTerminal(t *testing.T, columns string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatalf("script (util-linux) is needed to run wirecheck on a terminal: %v", err)
	}
	cmd := exec.Command("script", "-qec", os.Args[0]+" -test.run=^TestWatchProcessHelper$", "/dev/null")
	cmd.Env = append(os.Environ(), "WIRECHECK_WATCH_ARGS="+strings.Join(args, "\n"), "COLUMNS="+columns)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
		}
	}()
	out, _ := cmd.Output() // the exit status is the report's verdict
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// TestTextFitsTheTerminal: on a terminal the text report, `profiles` and
// `profiles show` fit COLUMNS (80, and 60); to a pipe they keep the wide
// layout, whose lines are longer (the golden reports).
func TestTextFitsTheTerminal(t *testing.T) {
	capture := filepath.Join(captures, "filegw-faulty.pcap")
	for _, args := range [][]string{
		{"analyse", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", capture},
		{"profiles"},
		{"profiles", "show", "storage-gateway/file-nfs"},
	} {
		wide, _, _ := wirecheck(t, nil, args...)
		if longest(wide) <= 80 {
			t.Fatalf("%v: the wide layout's lines fit 80 columns already; the test would prove nothing", args)
		}
		for _, columns := range []int{80, 60} {
			out := onTerminal(t, strconv.Itoa(columns), args...)
			if len(out) < len(wide)/2 || !strings.Contains(out, firstWord(wide)) {
				t.Fatalf("%v on a terminal printed %q", args, out)
			}
			if n := longest(out); n > columns {
				t.Errorf("%v on a %d-column terminal: a line of %d columns:\n%s", args, columns, n, out)
			}
		}
	}
}

func longest(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		n = max(n, utf8.RuneCountInString(l))
	}
	return n
}

func firstWord(s string) string { return strings.Fields(s)[0] }

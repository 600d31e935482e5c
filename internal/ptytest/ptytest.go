package ptytest

import (
	"os"
	"testing"

	"github.com/creack/pty"

	"github.com/wirecheck/wirecheck/bpf/testenv"
)

// Open opens a pseudo-terminal, closed when tb ends: what is written to tty
// is read from ptmx. Where there are none tb skips, and in CI it fails.
func Open(tb testing.TB) (ptmx, tty *os.File) {
	tb.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		if testenv.InCI() {
			tb.Fatalf("no pseudo-terminal: %v", err)
		}
		tb.Skipf("no pseudo-terminal: %v", err)
	}
	tb.Cleanup(func() { ptmx.Close(); tty.Close() })
	return ptmx, tty
}

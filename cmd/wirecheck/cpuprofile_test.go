package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCPUProfile: the hidden --cpuprofile flag (make pgo) writes a
// profile of the run, gzip-compressed as pprof writes it, whatever the
// run's outcome, stays out of the help, and a file it cannot create (in a
// missing directory, or one that exists: it might be an input) is a usage
// error that names it.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cpu.pprof")
	_, stderr, code := wirecheck(t, nil, "analyse", "-q", "--cpuprofile", p, "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5",
		"-o", os.DevNull, filepath.Join(captures, "filegw-faulty.pcap"))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the faulty capture): %s", code, stderr)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	if raw, err := io.ReadAll(zr); err != nil || len(raw) == 0 {
		t.Fatalf("profile: %d bytes uncompressed, %v", len(raw), err)
	}
	help, _, _ := wirecheck(t, nil, "analyse", "--help")
	if strings.Contains(help, "cpuprofile") {
		t.Error("--cpuprofile is listed in analyse --help")
	}
	capture := filepath.Join(dir, "faulty.pcap")
	orig, err := os.ReadFile(filepath.Join(captures, "filegw-faulty.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(capture, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{filepath.Join(dir, "no-such-dir", "cpu.pprof"), capture} {
		_, stderr, code = wirecheck(t, nil, "analyse", "--cpuprofile", bad, capture)
		if code != 2 || !strings.Contains(stderr, bad) || !strings.Contains(stderr, "Usage:") {
			t.Errorf("--cpuprofile %s: exit %d, %q; want a usage error naming it", bad, code, stderr)
		}
	}
	if after, err := os.ReadFile(capture); err != nil || !bytes.Equal(after, orig) {
		t.Errorf("--cpuprofile naming the capture changed it (%v)", err)
	}
}

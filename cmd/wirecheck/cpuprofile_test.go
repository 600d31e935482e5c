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
// run's outcome, stays out of the help, and a file it cannot create is a
// usage error that names it.
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
	missing := filepath.Join(dir, "no-such-dir", "cpu.pprof")
	_, stderr, code = wirecheck(t, nil, "analyse", "--cpuprofile", missing, filepath.Join(captures, "filegw-faulty.pcap"))
	if code != 2 || !strings.Contains(stderr, missing) || !strings.Contains(stderr, "Usage:") {
		t.Errorf("--cpuprofile into a missing directory: exit %d, %q; want a usage error naming it", code, stderr)
	}
}

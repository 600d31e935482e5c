package service

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGeneratedPortsAreCurrent runs the go:generate command of ports.go with
// its output in a temporary directory and checks that it is byte-identical
// to the committed zz_ports.go: the tables are what the committed IANA copy
// (iana/) says, and gen_ports.go still makes them. It needs only the go
// command and that copy, no network.
func TestGeneratedPortsAreCurrent(t *testing.T) {
	src, err := os.ReadFile("ports.go")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for line := range strings.Lines(string(src)) {
		if rest, ok := strings.CutPrefix(line, "//go:generate go run gen_ports.go "); ok {
			args = strings.Fields(rest)
		}
	}
	i := slices.Index(args, "-out")
	if i < 0 || i+1 == len(args) {
		t.Fatalf("no //go:generate go run gen_ports.go ... -out FILE line in ports.go (args %q)", args)
	}
	committed := args[i+1]
	fresh := filepath.Join(t.TempDir(), "zz_ports.go")
	args[i+1] = fresh
	// go test puts its own GOROOT/bin first in PATH, so "go" is the
	// toolchain running this test.
	cmd := exec.Command("go", append([]string{"run", "gen_ports.go"}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_ports.go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from a fresh generation from the committed IANA copy: run `make generate` (or go generate ./classify/service) and commit the result", committed)
	}
}

package counter

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/bpf/testenv"
)

// TestGeneratedIsUpToDate runs this package's go:generate command into a
// temporary directory and checks that the output is byte-identical to the
// committed files: the C source and the generated object agree, and
// generation is reproducible. It needs the toolchain named in gen.go and
// skips without it.
func TestGeneratedIsUpToDate(t *testing.T) {
	src, err := os.ReadFile("gen.go")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(src), "\n") {
		if rest, ok := strings.CutPrefix(line, "//go:generate go tool bpf2go "); ok {
			args = splitQuoted(rest)
		}
	}
	if len(args) == 0 {
		t.Fatal("no //go:generate go tool bpf2go line in gen.go")
	}
	// CI must check that regenerating changes nothing.
	testenv.RequireTools(t, "clang-19", "llvm-strip-19")
	out := t.TempDir()
	cmd := exec.Command("go", append([]string{"tool", "bpf2go", "-output-dir", out}, args...)...)
	cmd.Env = append(os.Environ(), "GOPACKAGE=counter")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpf2go: %v\n%s", err, b)
	}
	for _, name := range []string{"prog_bpfel.go", "prog_bpfel.o"} {
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from a fresh generation: run go generate ./bpf/... and commit the result", name)
		}
	}
}

// splitQuoted splits a go:generate argument list, honouring double quotes.
func splitQuoted(s string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case r == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

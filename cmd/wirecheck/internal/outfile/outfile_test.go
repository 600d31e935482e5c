package outfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestReplacedWhole: a file is written beside its final name and renamed
// into place; a write that fails leaves the old file whole and no
// temporary file behind; a good one replaces it and keeps its permissions.
func TestReplacedWhole(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "report.txt")
	if err := os.WriteFile(old, []byte("the good report\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noTemp := func() {
		t.Helper()
		if tmp, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(tmp) > 0 {
			t.Errorf("temporary files left: %v", tmp)
		}
	}
	out, err := Open(io.Discard, old, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.Write([]byte("half a rep"))
	if got, _ := os.ReadFile(old); string(got) != "the good report\n" {
		t.Fatalf("the old report changed while the new one was written: %q", got)
	}
	if err := out.Commit(errors.New("disk full")); err == nil || err.Error() != "disk full" {
		t.Errorf("commit of a failed write: %v", err)
	}
	if got, _ := os.ReadFile(old); string(got) != "the good report\n" {
		t.Errorf("a failed write replaced the report: %q", got)
	}
	noTemp()

	if out, err = Open(io.Discard, old, nil); err != nil {
		t.Fatal(err)
	}
	out.Write([]byte("the new report\n"))
	if err := out.Commit(nil); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(old)
	fi, _ := os.Stat(old)
	if string(got) != "the new report\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("after a good write: mode %v, %q", fi.Mode(), got)
	}
	noTemp()
}

// TestOutputNotAnInput: an output that is one of the inputs, under any
// name, is refused; a new file and standard output are not.
func TestOutputNotAnInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "a.pcap")
	os.WriteFile(in, []byte("x"), 0o644)
	link := filepath.Join(dir, "link.pcap")
	os.Symlink("a.pcap", link)
	for _, name := range []string{in, link} {
		if err := CheckOutput(name, []string{"-", in}); err == nil {
			t.Errorf("-o %s over the input %s allowed", name, in)
		}
	}
	for _, name := range []string{"", "-", filepath.Join(dir, "new.txt")} {
		if err := CheckOutput(name, []string{in}); err != nil {
			t.Errorf("-o %q: %v", name, err)
		}
	}
	if err := CheckDistinct([]string{in, link}); err == nil {
		t.Error("a capture named twice (through a link) allowed")
	}
}

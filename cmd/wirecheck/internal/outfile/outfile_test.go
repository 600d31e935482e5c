package outfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
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

// TestReplace: a finished report takes the place of an existing file
// (swapped in and the old one removed, where the system can) or of no file,
// leaves no temporary name behind, and never replaces a directory.
func TestReplace(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "report.json")
	for _, old := range []string{"", "the old report\n"} {
		if old != "" {
			os.WriteFile(dest, []byte(old), 0o644)
		}
		tmp := filepath.Join(dir, ".report.json.1.tmp")
		os.WriteFile(tmp, []byte("the new report\n"), 0o644)
		if err := replace(tmp, dest); err != nil {
			t.Fatalf("replace over %q: %v", old, err)
		}
		if got, _ := os.ReadFile(dest); string(got) != "the new report\n" {
			t.Errorf("replace over %q: the file holds %q", old, got)
		}
		if tmp, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(tmp) > 0 {
			t.Errorf("temporary files left: %v", tmp)
		}
	}
	if runtime.GOOS == "linux" {
		// The swap is what keeps ext4 from writing the report out inside
		// the rename; t.TempDir's file system must support it.
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		os.WriteFile(a, []byte("a"), 0o644)
		os.WriteFile(b, []byte("b"), 0o644)
		gotA, _ := os.ReadFile(a)
		if !exchange(a, b) {
			t.Errorf("no exchange on %s", dir)
		} else if gotA, _ = os.ReadFile(a); string(gotA) != "b" {
			t.Errorf("after the exchange a holds %q", gotA)
		}
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	tmp := filepath.Join(dir, ".sub.1.tmp")
	os.WriteFile(tmp, []byte("report\n"), 0o644)
	if err := replace(tmp, sub); err == nil {
		t.Error("a report replaced a directory")
	}
	if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
		t.Errorf("the directory is gone: %v", err)
	}
}

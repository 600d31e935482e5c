package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/drift"
)

const golden = "../../testdata/golden"

// checkGolden compares out with a golden file a person has read, or
// rewrites it with -update.
func checkGolden(t *testing.T, name, out string) {
	t.Helper()
	file := filepath.Join(golden, name)
	if *update {
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/wirecheck -update, then read the output before committing it)", err)
	}
	if out != string(want) {
		t.Errorf("output differs from %s (rerun with -update and review the diff):\n%s", file, diffLines(string(want), out))
	}
}

// TestDiffGolden compares the golden reports of the two file gateway
// recordings, which a person checked: the diff must name the four faults.
func TestDiffGolden(t *testing.T) {
	good, bad := filepath.Join(golden, "filegw-conformant.json"), filepath.Join(golden, "filegw-faulty.json")
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			out, stderr, code := wirecheck(t, nil, "diff", "--format", format, good, bad)
			if code != exitNotConformant {
				t.Fatalf("exit %d, want 1 (worse); stderr: %s", code, stderr)
			}
			checkGolden(t, "diff-conformant-faulty."+format, out)
		})
	}
	out, _, code := wirecheck(t, nil, "diff", bad, good)
	if code != exitConformant || !strings.HasPrefix(out, "BETTER: 0 changes for the worse, 4 for the better, 2 other\n") {
		t.Errorf("faulty -> conformant: exit %d, output:\n%s", code, out)
	}
	out, _, code = wirecheck(t, nil, "diff", bad, bad)
	if code != exitConformant || !strings.HasPrefix(out, "SAME: ") {
		t.Errorf("a report against itself: exit %d, output:\n%s", code, out)
	}
}

// TestDiffFreshRecordings runs the whole path: analyse both captures to
// JSON files, then diff them; the added unexpected flows and the newly
// missing rule must be there, worse.
func TestDiffFreshRecordings(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "--format", "json", "-q"}
	for _, c := range []struct{ file, out string }{{"filegw-conformant.pcapng", "old.json"}, {"filegw-faulty.pcap", "new.json"}} {
		wirecheck(t, nil, append(append([]string{"analyse"}, args...), "-o", filepath.Join(dir, c.out), filepath.Join(captures, c.file))...)
	}
	out, stderr, code := wirecheck(t, nil, "diff", "--format", "json", filepath.Join(dir, "old.json"), filepath.Join(dir, "new.json"))
	if code != exitNotConformant {
		t.Fatalf("exit %d; stderr %s", code, stderr)
	}
	var d drift.Diff
	if err := jsonUnmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	var worse []string
	for _, r := range d.Rules {
		if r.Impact == drift.Worse {
			worse = append(worse, r.ID+" "+r.Old.Status+" -> "+r.New.Status)
		}
	}
	for _, f := range d.Flows {
		if f.Impact == drift.Worse {
			worse = append(worse, f.Change+" "+f.New.Verdict+" "+f.Proto+" "+f.Server)
		}
	}
	want := "storage-gateway/common:https-service seen -> blocked|storage-gateway/common:ntp seen -> missing|" +
		"appeared unexpected tcp 10.0.0.5|appeared unexpected tcp 203.0.113.25"
	if got := strings.Join(worse, "|"); got != want {
		t.Errorf("worse changes\n got %s\nwant %s", got, want)
	}
}

func TestAnalyseBaseline(t *testing.T) {
	args := []string{"analyse", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "-q"}
	good, bad := filepath.Join(golden, "filegw-conformant.json"), filepath.Join(golden, "filegw-faulty.json")
	tests := []struct {
		name, capture, baseline string
		exit                    int
		first                   string
	}{
		// the faulty capture is worse than the conformant baseline
		{"worse", "filegw-faulty.pcap", good, 1, "WORSE: 4 changes for the worse"},
		// not conformant, but no worse than its own (reviewed) baseline
		{"known problems", "filegw-faulty.pcap", bad, 0, "SAME: "},
		{"better", "filegw-conformant.pcapng", bad, 0, "BETTER: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := wirecheck(t, nil, append(args, "--baseline", tc.baseline, filepath.Join(captures, tc.capture))...)
			if code != tc.exit {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.exit, stderr)
			}
			// The report keeps standard output; the comparison goes to
			// standard error.
			if !strings.HasPrefix(out, "NOT CONFORMANT") && !strings.HasPrefix(out, "CONFORMANT") {
				t.Errorf("standard output is not the report: %.80q", out)
			}
			if !strings.Contains(stderr, "Compared with the baseline "+tc.baseline+":\n"+tc.first) {
				t.Errorf("standard error:\n%s", stderr)
			}
		})
	}
}

func TestDiffErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "report.txt")
	os.WriteFile(text, []byte("CONFORMANT: every flow is expected\n"), 0o644)
	good := filepath.Join(golden, "filegw-conformant.json")
	// drift.ErrSchema says what is wrong; the command adds how to write a
	// report it reads (advice).
	const writeOne = "; write one with: wirecheck analyse --format json\n"
	tests := []struct {
		name      string
		args      []string
		want, end string
	}{
		{"text report", []string{"diff", text, good}, text + ": not a wirecheck JSON report", writeOne},
		{"missing file", []string{"diff", good, filepath.Join(dir, "nope.json")}, "no such file or directory", ""},
		{"bad format", []string{"diff", "--format", "xml", good, good}, "--format xml: use text or json", ""},
		{"bad baseline", []string{"analyse", "-p", "storage-gateway/file-nfs", "--baseline", text, filepath.Join(captures, "misc.pcapng")}, "--baseline: " + text + ": not a wirecheck JSON report", writeOne},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := wirecheck(t, nil, tc.args...)
			if code != exitError || !strings.Contains(stderr, tc.want) || !strings.HasSuffix(stderr, tc.end) || strings.Count(stderr, "\n") != 1 || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q and ending %q", code, out, stderr, tc.want, tc.end)
			}
		})
	}
}

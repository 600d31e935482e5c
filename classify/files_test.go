package classify

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/capture"
)

// TestReadFiles: files are read in order into one Observation with the
// limits and filter applied; a file damaged part way keeps what came before
// it, the files after it are still read, and the damage is returned joined
// with the Observation; the progress hook brackets the reading.
func TestReadFiles(t *testing.T) {
	const dir = "../testdata/captures"
	data, err := os.ReadFile(filepath.Join(dir, "filegw-conformant.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcapng")
	if err := os.WriteFile(cut, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	names := []string{filepath.Join(dir, "filegw-faulty.pcap"), cut, filepath.Join(dir, "misc.pcapng")}
	open := func(t *testing.T) []*capture.File {
		var files []*capture.File
		for _, n := range names {
			f, err := capture.Open(n)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			files = append(files, f)
		}
		return files
	}

	var events []string
	files := open(t)
	obs, err := ReadFiles(files, ReadOptions{
		Limits: Limits{MaxFlows: 20},
		Filter: "not arp",
		Progress: func(fs []*capture.File) func() {
			if !slices.Equal(fs, files) {
				t.Errorf("progress got %d files, want the %d read", len(fs), len(files))
			}
			events = append(events, "start")
			return func() { events = append(events, "done") }
		},
	})
	if obs == nil {
		t.Fatalf("no observation: %v", err)
	}
	if !slices.Equal(events, []string{"start", "done"}) {
		t.Errorf("progress events %q", events)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 1 || !strings.Contains(err.Error(), "reading stopped after packet") {
		t.Errorf("error %v, want the damage of one file", err)
	}
	if len(obs.Inputs) != 3 || obs.Inputs[0].Stopped != nil || obs.Inputs[1].Stopped == nil || obs.Inputs[2].Stopped != nil ||
		!errors.Is(err, obs.Inputs[1].Stopped) {
		t.Errorf("inputs %+v", obs.Inputs)
	}
	for i, in := range obs.Inputs {
		if in.Name != names[i] || in.Packets == 0 {
			t.Errorf("input %d: %+v, want %s with packets", i, in, names[i])
		}
	}
	if len(obs.Flows) != 20 || obs.Folded.Flows == 0 {
		t.Errorf("%d flows kept, %d folded: the cap of 20 was not applied", len(obs.Flows), obs.Folded.Flows)
	}
	if obs.Filter != "not arp" || !obs.FilterCounted || obs.FilterExcluded == 0 {
		t.Errorf("filter %q counted %v excluded %d", obs.Filter, obs.FilterCounted, obs.FilterExcluded)
	}
	for _, o := range obs.Other {
		if strings.Contains(o.Name(), "ARP") {
			t.Errorf("ARP kept through the filter: %+v", o)
		}
	}

	// The zero options keep everything, and a clean read returns no error.
	obs, err = ReadFiles(open(t)[:1], ReadOptions{})
	if err != nil || len(obs.Flows) != 14 || obs.Folded.Flows != 0 || obs.FilterExcluded != 0 {
		t.Errorf("zero options: err %v, %d flows, folded %d, excluded %d", err, len(obs.Flows), obs.Folded.Flows, obs.FilterExcluded)
	}

	// A filter that does not compile is an error before any reading.
	if obs, err := ReadFiles(open(t), ReadOptions{Filter: "tcp port"}); obs != nil || err == nil || !strings.Contains(err.Error(), `filter "tcp port"`) {
		t.Errorf("bad filter: obs %v, err %v", obs != nil, err)
	}
}

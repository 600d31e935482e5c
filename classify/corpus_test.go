package classify

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

func corpusFiles(t *testing.T) (dir string, files []string) {
	t.Helper()
	dir = testcorpus.Dir(t)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".cap")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus %s unreadable or empty: %v", dir, err)
	}
	return dir, files
}

// Bounds for any one corpus file. Reading allocates a fixed amount (reader
// buffers, tables: about 300 KB) plus a few times the file's size (flows,
// names); the allocation bound holds the work linear in the input, without
// a timed test. Speed is measured by benchmarks.
const (
	corpusAllocFixed   = 2 << 20
	corpusAllocPerByte = 8
	corpusHeapLimit    = 256 << 20
)

// TestCorpus reads every corpus capture: no panic, allocations linear in the
// file's size, bounded heap, either a clean end or an error that names
// the file and the packet where reading stopped, and every frame accounted
// for (checkAccounted).
func TestCorpus(t *testing.T) {
	var ok, stopped, refused int
	dir, files := corpusFiles(t)
	for _, file := range files {
		name, _ := filepath.Rel(dir, file)
		t.Run(name, func(t *testing.T) {
			st, statErr := os.Stat(file)
			if statErr != nil {
				t.Fatal(statErr)
			}
			var before, ms runtime.MemStats
			runtime.ReadMemStats(&before)
			obs, err := readCorpus(file)
			runtime.ReadMemStats(&ms)
			if n, limit := ms.TotalAlloc-before.TotalAlloc, uint64(corpusAllocFixed+corpusAllocPerByte*st.Size()); n > limit {
				t.Errorf("allocated %d KB reading %d KB; limit %d KB", n>>10, st.Size()>>10, limit>>10)
			}
			if ms.HeapAlloc > corpusHeapLimit {
				t.Errorf("heap %d MB after reading", ms.HeapAlloc>>20)
			}
			if obs != nil {
				checkAccounted(t, obs)
			}
			switch {
			case err == nil:
				ok++
			case obs != nil:
				stopped++
				var re *capture.ReadError
				if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), file+": reading stopped after packet ") || strings.Contains(err.Error(), "\n") {
					t.Errorf("reading stopped with %T %q: want a one-line *capture.ReadError naming the file and the packet", err, err)
				}
				if re != nil && obs.Packets < re.Packets {
					t.Errorf("%d packets read before the damage but only %d classified", re.Packets, obs.Packets)
				}
			default:
				refused++
				if !strings.Contains(err.Error(), file) || strings.Contains(err.Error(), "\n") {
					t.Errorf("open error %q does not name the file on one line", err)
				}
			}
		})
	}
	t.Logf("corpus: %d read to the end, %d stopped at damage, %d refused as not captures", ok, stopped, refused)
}

// readCorpus classifies one file; obs is nil when the file could not be
// opened as a capture at all.
func readCorpus(file string) (obs *Observation, err error) {
	f, err := capture.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := New(64)
	err = c.Read(file, f, nil)
	if err == io.EOF {
		err = nil
	}
	return c.Observation(), err
}

// checkAccounted fails t unless every frame obs counted is in a flow, in the
// non-flow summary (Other), in a folded service, or in a loss that names it
// (frames not decoded by link type, frames with cut or damaged headers),
// and unless obs is incomplete whenever a loss is not zero.
func checkAccounted(t *testing.T, obs *Observation) {
	t.Helper()
	var inFlows, other, folded uint64
	for i := range obs.Flows {
		p, _ := obs.Flows[i].Total()
		inFlows += p
	}
	for _, o := range obs.Other {
		other += o.Packets
	}
	for _, s := range obs.Folded.Services {
		folded += s.Packets
	}
	m := obs.Malformed
	if sum := inFlows + other + folded + m.Total(); sum != obs.Packets {
		t.Errorf("%d frames: %d in flows, %d other, %d folded, %d malformed (sum %d)", obs.Packets, inFlows, other, folded, m.Total(), sum)
	}
	var named, linkNamed uint64
	lost := false
	for _, l := range obs.AllLosses() {
		if l.Count > 0 && !l.Degraded {
			lost = true
		}
		switch {
		case strings.HasPrefix(l.What, "frames of link type "):
			linkNamed += l.Count
			named += l.Count
		case strings.HasPrefix(l.What, "frames with "):
			named += l.Count
		}
	}
	if named != m.Total() || linkNamed != m.UnknownLink {
		t.Errorf("%d malformed frames (%d of unknown link types), %d in named losses (%d by link type): %+v", m.Total(), m.UnknownLink, named, linkNamed, obs.AllLosses())
	}
	for _, in := range obs.Inputs {
		if in.Skipped.Records > 0 && !strings.Contains(fmt.Sprint(obs.AllLosses()), "damaged records skipped in "+in.Name) {
			t.Errorf("%d records skipped in %s, not among the losses", in.Skipped.Records, in.Name)
		}
		lost = lost || in.Skipped.Records > 0 || in.Stopped != nil
	}
	if lost && obs.Complete() {
		t.Errorf("losses %+v, yet complete", obs.AllLosses())
	}
	if !lost && !obs.Complete() && len(obs.Folded.Services) == 0 {
		t.Errorf("nothing lost, yet incomplete")
	}
}

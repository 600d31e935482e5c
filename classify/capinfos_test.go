package classify

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/wirecheck/wirecheck/bpf/testenv"
)

// TestFrameCountsAgainstCapinfos holds the frames wirecheck reads from each
// corpus capture to the count of Wireshark's capinfos, a reader written
// independently of ours: every record capinfos counts is either a frame
// wirecheck classified or a damaged record it skipped and reports as a loss
// (checkAccounted holds the rest of the sum). A record read past silently
// would make a report that says complete without having seen every frame.
// Where no record was skipped, the total bytes are capinfos' data size: the
// frames' lengths on the wire, a tunnel packet's outer headers included.
// Files that either reader stops early on (damage, link types capinfos
// does not know) are not compared.
func TestFrameCountsAgainstCapinfos(t *testing.T) {
	testenv.RequireTools(t, "capinfos")
	dir, files := corpusFiles(t)
	counts := make([]int64, len(files)) // -1: capinfos could not read it to the end
	sizes := make([]uint64, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	packets := regexp.MustCompile(`(?m)^Number of packets:\s+(\d+)$`)
	size := regexp.MustCompile(`(?m)^Data size:\s+(\d+) bytes$`)
	// Wireshark's reader takes SunATM's 4-byte pseudo-header out of a
	// frame's length; wirecheck counts the record's length as it is.
	sunATM := regexp.MustCompile(`(?m)^File encapsulation:\s+atm-pdus$`)
	for i, file := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			counts[i] = -1
			out, err := exec.Command("capinfos", "-c", "-d", "-E", "-M", file).Output()
			m, d := packets.FindSubmatch(out), size.FindSubmatch(out)
			if err == nil && m != nil && d != nil {
				counts[i], _ = strconv.ParseInt(string(m[1]), 10, 64)
				sizes[i], _ = strconv.ParseUint(string(d[1]), 10, 64)
				if sunATM.Match(out) {
					sizes[i] += 4 * uint64(counts[i])
				}
			}
		}()
	}
	wg.Wait()
	compared, sized, skipped := 0, 0, uint64(0)
	for i, file := range files {
		name, _ := filepath.Rel(dir, file)
		obs, err := readCorpus(file)
		if counts[i] < 0 || obs == nil || err != nil || len(obs.Inputs) != 1 {
			continue
		}
		in := obs.Inputs[0]
		if got := in.Packets + in.Skipped.Records; got != uint64(counts[i]) {
			t.Errorf("%s: wirecheck read %d frames and skipped %d damaged records, capinfos counts %d", name, in.Packets, in.Skipped.Records, counts[i])
		}
		compared++
		skipped += in.Skipped.Records
		if in.Skipped.Records == 0 {
			if obs.Bytes != sizes[i] {
				t.Errorf("%s: wirecheck counts %d bytes, capinfos %d", name, obs.Bytes, sizes[i])
			}
			sized++
		}
	}
	t.Logf("%d files' frame counts compared with capinfos, %d files' bytes (%d damaged records skipped and reported)", compared, sized, skipped)
	if compared < len(files)/2 || sized < compared/2 || skipped == 0 {
		t.Errorf("%d of %d files compared, %d by bytes, %d skipped records among them: the comparison no longer covers the corpus", compared, len(files), sized, skipped)
	}
}

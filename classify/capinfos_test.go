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
// Files that either reader stops early on (damage, link types capinfos
// does not know) are not compared.
func TestFrameCountsAgainstCapinfos(t *testing.T) {
	testenv.RequireTools(t, "capinfos")
	dir, files := corpusFiles(t)
	counts := make([]int64, len(files)) // -1: capinfos could not read it to the end
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	packets := regexp.MustCompile(`(?m)^Number of packets:\s+(\d+)$`)
	for i, file := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			counts[i] = -1
			out, err := exec.Command("capinfos", "-c", "-M", file).Output()
			if m := packets.FindSubmatch(out); err == nil && m != nil {
				counts[i], _ = strconv.ParseInt(string(m[1]), 10, 64)
			}
		}()
	}
	wg.Wait()
	compared, skipped := 0, uint64(0)
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
	}
	t.Logf("%d files' frame counts compared with capinfos (%d damaged records skipped and reported)", compared, skipped)
	if compared < len(files)/2 || skipped == 0 {
		t.Errorf("%d of %d files compared, %d skipped records among them: the comparison no longer covers the corpus", compared, len(files), skipped)
	}
}

package watch

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
)

// TestReportDirKeepsTheFinal: rotation orders reports by time, the final
// report last within its second (the loop writes it after its last
// periodic one), and never deletes the report it has just written. Sorted by name alone, "-final" sorted before "-report", so with
// --report-keep 1 a periodic report in the final one's second deleted it.
func TestReportDirKeepsTheFinal(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenReportDir(dir, "eth0", 1)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	m, err := match.New(&profile.Set{}, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := m.Evaluate(&classify.Observation{})
	for _, w := range []struct {
		at   time.Time
		kind string
	}{
		{t0, "report"},
		{t0.Add(time.Second), "report"},
		{t0.Add(time.Second + 500*time.Millisecond), "final"},
	} {
		if err := d.Write(w.at, w.kind, res); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"wirecheck-eth0-20261206T040001Z-final.json"}
	if !slices.Equal(names, want) {
		t.Errorf("reports left: %q, want %q", names, want)
	}
}

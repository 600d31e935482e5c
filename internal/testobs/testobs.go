package testobs

import (
	"bytes"
	"testing"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/internal/gencap"
)

// File returns the Observation of the capture file at path, read as
// wirecheck analyse reads it without flags (classify.ReadFiles with
// analyse's flow cap), failing tb if it cannot be read to its end.
func File(tb testing.TB, path string) *classify.Observation {
	tb.Helper()
	f, err := capture.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	return read(tb, f, classify.ReadOptions{Limits: classify.Limits{MaxFlows: classify.DefaultMaxFlows}, FlowHint: 1 << 10})
}

// Generated returns the Observation of the capture gencap writes for cfg,
// with no flow cap (cfg says how many flows), failing tb if any step fails.
func Generated(tb testing.TB, cfg gencap.Config) *classify.Observation {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := gencap.Write(&buf, cfg); err != nil {
		tb.Fatal(err)
	}
	src, err := capture.NewReader("gencap", &buf)
	if err != nil {
		tb.Fatal(err)
	}
	return read(tb, src, classify.ReadOptions{FlowHint: cfg.Flows})
}

// Scenario returns the Observation of the capture a gencap.Scenario
// writes, failing tb if any step fails.
func Scenario(tb testing.TB, s gencap.Scenario) *classify.Observation {
	tb.Helper()
	data, err := s.Pcap()
	if err != nil {
		tb.Fatal(err)
	}
	src, err := capture.NewReader("scenario.pcap", bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	return read(tb, src, classify.ReadOptions{FlowHint: 64})
}

func read(tb testing.TB, f *capture.File, opts classify.ReadOptions) *classify.Observation {
	tb.Helper()
	obs, err := classify.ReadFiles([]*capture.File{f}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return obs
}

package testobs

import (
	"bytes"
	"testing"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/internal/gencap"
)

// File returns the Observation of the capture file at path, read as
// wirecheck analyse reads it, failing tb if it cannot be read to its end.
func File(tb testing.TB, path string) *classify.Observation {
	tb.Helper()
	f, err := capture.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	c := classify.New(1 << 10)
	if err := c.Read(path, f, nil); err != nil {
		tb.Fatal(err)
	}
	return c.Finish()
}

// Generated returns the Observation of the capture gencap writes for cfg,
// failing tb if any step fails.
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
	c := classify.New(cfg.Flows)
	if err := c.Read("gencap", src, nil); err != nil {
		tb.Fatal(err)
	}
	return c.Finish()
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
	c := classify.New(64)
	if err := c.Read("scenario.pcap", src, nil); err != nil {
		tb.Fatal(err)
	}
	return c.Finish()
}

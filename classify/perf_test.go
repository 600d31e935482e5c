package classify_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/internal/gencap"
)

func frames(tb testing.TB, packets, flows int) []capture.Frame {
	tb.Helper()
	fs, err := gencap.Frames(gencap.Config{Packets: packets, Flows: flows, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return fs
}

// TestAddDoesNotAllocate proves the per-packet path allocation-free in
// steady state: once a capture's flows are in the table (and its names
// learned), classifying its packets again — decode, flow update, payload
// inspection, DNS answers included — allocates nothing.
func TestAddDoesNotAllocate(t *testing.T) {
	fs := frames(t, 20_000, 1_000)
	c := classify.New(16) // small, so that the first pass grows the table
	for i := range fs {
		c.Add(&fs[i])
	}
	allocs := testing.AllocsPerRun(3, func() {
		for i := range fs {
			c.Add(&fs[i])
		}
	})
	if allocs != 0 {
		t.Errorf("%.0f allocations per pass over %d packets of known flows, want 0", allocs, len(fs))
	}
	if obs := c.Observation(); obs.Packets != uint64(len(fs))*5 || len(obs.Flows) != 1_000 {
		t.Errorf("%d packets in %d flows, want %d in 1000", obs.Packets, len(obs.Flows), len(fs)*5)
	}
}

// TestReadDoesNotAllocate does the same through Read, with the pcap reader.
func TestReadDoesNotAllocate(t *testing.T) {
	var b bytes.Buffer
	if _, err := gencap.Write(&b, gencap.Config{Packets: 20_000, Flows: 1_000, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	c := classify.New(16)
	read := func() {
		src, err := capture.NewReader("gen", bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Read("gen", src, nil); err != nil {
			t.Fatal(err)
		}
	}
	read()
	// Opening a reader allocates its buffers (a few hundred kilobytes in a
	// handful of objects) and Read records one input: a fixed cost per
	// file, which must not grow with the packets.
	allocs := testing.AllocsPerRun(3, read)
	if allocs > 40 {
		t.Errorf("%.0f allocations to read 20,000 packets of known flows, want only the reader's setup (≤40)", allocs)
	}
}

// BenchmarkAdd is the per-packet cost after reading: decode, flow table,
// payload inspection, on the benchmark mix (gencap) held in memory.
func BenchmarkAdd(b *testing.B) {
	for _, bc := range []struct{ packets, flows int }{{200_000, 1_000}, {200_000, 50_000}} {
		b.Run(flowsName(bc.flows), func(b *testing.B) {
			fs := frames(b, bc.packets, bc.flows)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; {
				c := classify.New(1 << 12)
				for i := 0; i < len(fs) && n < b.N; i, n = i+1, n+1 {
					c.Add(&fs[i])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
		})
	}
}

// BenchmarkRead adds the pcap reader: a pcap file held in memory.
func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	st, err := gencap.Write(&buf, gencap.Config{Packets: 200_000, Flows: 50_000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for range b.N {
		src, err := capture.NewReader("gen", bytes.NewReader(buf.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		c := classify.New(1 << 12)
		if err := c.Read("gen", src, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*st.Packets), "ns/packet")
}

func flowsName(n int) string { return fmt.Sprintf("flows=%dk", n/1000) }

package flow_test

import (
	"fmt"
	"testing"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/internal/gencap"
)

// parsed decodes the benchmark mix into the packets of flows (payloads
// dropped, so that only the decoded headers stay in memory).
func parsed(tb testing.TB, packets, flows int) []packet.Parsed {
	tb.Helper()
	fs, err := gencap.Frames(gencap.Config{Packets: packets, Flows: flows, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	ps := make([]packet.Parsed, 0, len(fs))
	for i := range fs {
		var p packet.Parsed
		if p.Decode(fs[i].LinkType, fs[i].Data) == nil && p.Kind == packet.KindTransport {
			p.Payload = nil
			ps = append(ps, p)
		}
	}
	return ps
}

// BenchmarkTablePacket is the flow-table update per packet in steady state
// (every flow already in the table), for a table that fits in cache and
// one that does not.
func BenchmarkTablePacket(b *testing.B) {
	for _, flows := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("flows=%dk", flows/1000), func(b *testing.B) {
			ps := parsed(b, 2*flows+200_000, flows)
			t := flow.NewTable(16)
			for i := range ps {
				t.Packet(&ps[i], 1, 100)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; {
				for i := 0; i < len(ps) && n < b.N; i, n = i+1, n+1 {
					t.Packet(&ps[i], int64(n), 100)
				}
			}
			if t.Len() != flows {
				b.Fatalf("%d flows, want %d", t.Len(), flows)
			}
		})
	}
}

// BenchmarkTableGrow adds flows to a table that starts small, as a file's
// reader does: the cost of new flows, growth included.
func BenchmarkTableGrow(b *testing.B) {
	const flows = 100_000
	ps := parsed(b, 2*flows+100_000, flows)
	// One packet per flow: the first.
	seen := map[flow.Key]bool{}
	var firsts []packet.Parsed
	for i := range ps {
		k, _ := flow.KeyOf(ps[i].Tuple)
		if !seen[k] {
			seen[k] = true
			firsts = append(firsts, ps[i])
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		t := flow.NewTable(1 << 12)
		for i := 0; i < len(firsts) && n < b.N; i, n = i+1, n+1 {
			t.Packet(&firsts[i], int64(n), 100)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/flow")
}

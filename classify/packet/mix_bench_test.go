package packet_test

import (
	"testing"

	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/internal/gencap"
)

// BenchmarkDecodeMix decodes the benchmark mix (internal/gencap: TCP, UDP,
// ICMP, IPv6, 802.1Q, ARP) frame after frame, as the reader does.
func BenchmarkDecodeMix(b *testing.B) {
	fs, err := gencap.Frames(gencap.Config{Packets: 100_000, Flows: 10_000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var p packet.Parsed
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		for i := 0; i < len(fs) && n < b.N; i, n = i+1, n+1 {
			if err := p.Decode(fs[i].LinkType, fs[i].Data); err != nil {
				b.Fatal(err)
			}
		}
	}
}

//go:build linux && (amd64 || arm64)

package bpf

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/gopacket/gopacket/layers"
)

// BenchmarkProgramRun measures the per-packet cost of the program with
// BPF_PROG_TEST_RUN on 64-byte IPv4/TCP frames (the setting of
// shared/PERF-FACTS.md), as the kernel times it.
//
// flows=1 runs one frame b.N times in one call: one flow, always in cache.
// flows=10000/hot creates 10,000 flows and then does the same with one of
// them: the map's size without its cache misses. flows=10000/spread runs
// the 10,000 frames in turn, once per call, so that consecutive packets hit
// different flows; each call starts with cold caches (a system call and a
// fresh skb lie between two packets), so this is an upper bound. A call's
// timing includes the harness (a timer read, the loop), so the same is
// measured for a program that only returns: ns/packet is the difference,
// ns/packet-raw the undiminished figure, ns/empty the harness's.
func BenchmarkProgramRun(b *testing.B) {
	for _, bc := range []struct {
		flows  int
		spread bool
	}{{1, false}, {10000, false}, {10000, true}} {
		name := fmt.Sprintf("flows=%d", bc.flows)
		if bc.flows > 1 {
			name += map[bool]string{false: "/hot", true: "/spread"}[bc.spread]
		}
		flows := bc.flows
		b.Run(name, func(b *testing.B) {
			c := loadCounter(b, Options{MaxFlows: 1 << 16, ServerPorts: []PortKey{{6, 443}}})
			empty, err := ebpf.NewProgram(&ebpf.ProgramSpec{
				Type: ebpf.SchedCLS, License: "MIT",
				Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, -1), asm.Return()},
			})
			if err != nil {
				b.Fatal(err)
			}
			defer empty.Close()
			frames := make([][]byte, flows)
			for i := range frames {
				src := net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)}
				frames[i] = build(b, eth(layers.EthernetTypeIPv4), ip4(src, srv4, layers.IPProtocolTCP),
					&layers.TCP{SrcPort: layers.TCPPort(40000 + i%1000), DstPort: 443, ACK: true, Window: 1})
				frames[i] = append(frames[i], make([]byte, 64-len(frames[i]))...) // Ethernet minimum
				c.run(b, frames[i])
			}
			measure := func(p *ebpf.Program) time.Duration {
				if !bc.spread {
					_, d, err := p.Benchmark(frames[0], b.N, nil)
					if err != nil {
						b.Fatal(err)
					}
					return d * time.Duration(b.N)
				}
				var total time.Duration
				for i := range b.N {
					_, d, err := p.Benchmark(frames[i%flows], 1, nil)
					if err != nil {
						b.Fatal(err)
					}
					total += d
				}
				return total
			}
			b.ResetTimer()
			prog := measure(c.Program())
			base := measure(empty)
			n := float64(b.N)
			b.ReportMetric(float64((prog-base).Nanoseconds())/n, "ns/packet")
			b.ReportMetric(float64(prog.Nanoseconds())/n, "ns/packet-raw")
			b.ReportMetric(float64(base.Nanoseconds())/n, "ns/empty")
			st, err := c.Stats()
			if err != nil {
				b.Fatal(err)
			}
			if st.Created != uint64(flows) || st.Evicted != 0 {
				b.Fatalf("created %d evicted %d, want %d flows and no evictions", st.Created, st.Evicted, flows)
			}
		})
	}
}

// Command gencap writes the synthetic capture the benchmarks read (see
// internal/gencap). It is a tool of the benchmark, not of wirecheck's users,
// so it lives here rather than in cmd/:
//
//	go run ./bench/gencap -packets 2000000 -flows 100000 -o bench/out/mix.pcap
//
// A name ending in .gz is gzip-compressed; -format pcapng writes pcapng.
package main

import (
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wirecheck/wirecheck/internal/gencap"
)

func main() {
	cfg := gencap.Config{}
	flag.IntVar(&cfg.Packets, "packets", 2_000_000, "packets to write")
	flag.IntVar(&cfg.Flows, "flows", 100_000, "flows to spread them over")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same flags write the same file")
	format := flag.String("format", "pcap", "pcap or pcapng")
	out := flag.String("o", "", "output file (required)")
	flag.Parse()
	if err := run(cfg, *format, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gencap:", err)
		os.Exit(1)
	}
}

func run(cfg gencap.Config, format, out string) error {
	switch format {
	case "pcap":
		cfg.Format = gencap.Pcap
	case "pcapng":
		cfg.Format = gencap.PcapNG
	default:
		return fmt.Errorf("-format %s: use pcap or pcapng", format)
	}
	if out == "" {
		return fmt.Errorf("-o FILE is required")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(out, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	st, err := gencap.Write(w, cfg)
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("%s: %w", out, err)
	}
	fmt.Printf("%s: %d packets, %d flows, %d ARP, %d frame bytes (%.0f per packet)\n",
		out, st.Packets, st.Flows, st.ARP, st.Bytes, float64(st.Bytes)/float64(st.Packets))
	return nil
}

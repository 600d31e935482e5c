package report

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestMeasureFlowIsFillAndMeasure: the flows table's first pass sums its
// cells' widths (measureFlow) where the second writes them (fill); the
// widths must be the ones measure takes of the written rows, row by row
// and accumulated in order (where a cell's runes are counted only past
// the width so far), on generated flows, on a scenario whose server names
// have more bytes than runes, and on every capture of the corpus.
func TestMeasureFlowIsFillAndMeasure(t *testing.T) {
	var results []*match.Result
	obs := testobs.Generated(t, gencap.Config{Packets: 4 * 3000, Flows: 3000, Seed: 9})
	results = append(results, judged(t, obs, "../../bench/profile.yaml", "storage-gateway/common"), judged(t, obs, "storage-gateway/common"))
	a := netip.MustParseAddr
	sc := gencap.Scenario{Resolver: a("10.0.0.53"), Convs: []gencap.Conv{
		{Client: a("10.0.0.5"), Server: a("192.0.2.10"), ServerPort: 443, Name: "ünïcödé-ñame.example"},
		{Client: a("10.0.0.5"), Server: a("192.0.2.11"), ServerPort: 443, Name: "short.example"},
		{Client: a("10.0.0.5"), Server: a("192.0.2.12"), ServerPort: 443, Name: strings.Repeat("é", 30) + "." + strings.Repeat("ü", 30) + ".example"},
		{Client: a("10.0.0.5"), Server: a("192.0.2.13"), ServerPort: 443, Name: strings.Repeat("e", 50) + ".example"},
		// TLS on HTTP's port: the service cell says what it carries.
		{Client: a("10.0.0.5"), Server: a("192.0.2.14"), ServerPort: 80, TLS: &gencap.Hello{SNI: "tls-on-80.example", Version: 0x0303, Suite: 0xc02f}},
	}}
	scenario := judged(t, testobs.Scenario(t, sc), "storage-gateway/common")
	results = append(results, scenario)
	// And the table written from those widths is tabwriter's, multi-byte
	// names (padded by their runes) included.
	var got bytes.Buffer
	writeFlows(&got, scenario.Flows)
	if want := tabwriterFlows(scenario); !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("the scenario's flows table differs from tabwriter's:\n%s", firstDiff(got.Bytes(), want.Bytes()))
	}
	dir := testcorpus.Dir(t, "protocols")
	files, err := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus captures in %s (%v)", dir, err)
	}
	for _, name := range files {
		if fi, err := os.Stat(name); err == nil && fi.Size() < 4<<20 {
			results = append(results, judged(t, testobs.File(t, name), "storage-gateway/common"))
		}
	}
	var v6, multiByte, mismatch, oneSided, noPorts, rows int
	for _, res := range results {
		var want, got flowWidths
		var row flowRow
		var scratch []byte
		for i := range res.Flows {
			f := &res.Flows[i]
			row.fill(f, map[*profile.Rule]string{})
			var alone, aloneWant flowWidths
			aloneWant.measure(&row)
			scratch = alone.measureFlow(f, scratch)
			if alone != aloneWant {
				t.Fatalf("%s: row %q measured %v alone, want %v", res.Obs.Inputs[0].Name, row.buf, alone, aloneWant)
			}
			want.measure(&row)
			scratch = got.measureFlow(f, scratch)
			if got != want {
				t.Fatalf("%s: after row %q the widths are %v, want %v", res.Obs.Inputs[0].Name, row.buf, got, want)
			}
			rows++
			if !f.Client().Is4() {
				v6++
			}
			if utf8.RuneCount(row.cell(3)) < len(row.cell(3)) {
				multiByte++
			}
			if f.Mismatch {
				mismatch++
			}
			if f.OneSided() {
				oneSided++
			}
			if !f.Proto.HasPorts() {
				noPorts++
			}
		}
	}
	if v6 == 0 || multiByte == 0 || mismatch == 0 || oneSided == 0 || noPorts == 0 {
		t.Fatalf("%d rows: %d IPv6, %d with multi-byte names, %d mismatched, %d one-sided, %d without ports: each kind must be covered", rows, v6, multiByte, mismatch, oneSided, noPorts)
	}
}

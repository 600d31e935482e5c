package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestJSONStreamsWhatMarshalIndentWrites holds the streaming JSON writer to
// the bytes encoding/json writes for the whole report at once, on captures
// with flows, with every rule status (the fixture), and with none.
func TestJSONStreamsWhatMarshalIndentWrites(t *testing.T) {
	results := map[string]*match.Result{
		"faulty":  evaluate(t, "filegw-faulty.pcap", false),
		"misc":    evaluate(t, "misc.pcapng", false),
		"fixture": evaluate(t, "filegw-conformant.pcapng", true),
	}
	mon := judged(t, testobs.File(t, monitorCapture), "storage-gateway/common")
	results["monitor"] = mon // IPv6, ICMP errors, names, problems folded
	// Several chunks of inOrder, TLS, both protocols, with names.
	results["generated"] = judged(t, testobs.Generated(t, gencap.Config{Packets: 12_000, Flows: 3 * streamChunk, Seed: 4}), "storage-gateway/common")
	if g := results["generated"]; len(g.Findings(g.Problems()).List) <= streamChunk {
		t.Fatalf("the generated capture has %d problems, not several chunks of them", len(g.Findings(g.Problems()).List))
	}
	// A rule's flows list longer than the pieces JSON writes it in.
	many := judged(t, testobs.Generated(t, gencap.Config{Packets: 64_000, Flows: 16_000, Seed: 5}), "../../bench/profile.yaml")
	longest := 0
	for _, r := range many.Rules {
		longest = max(longest, len(r.Flows))
	}
	if longest <= ruleFlowsPiece {
		t.Fatalf("the longest rule flows list has %d flows, not more than a piece (%d)", longest, ruleFlowsPiece)
	}
	results["long rule lists"] = many
	// Tunnels (VXLAN from the shared corpus) and related flows (FTP data,
	// RPC) with every field of Related.
	results["vxlan"] = judged(t, testobs.File(t, "../../../shared/corpus/protocols/libpcap__vxlan.pcap"), "storage-gateway/common")
	set, err := profile.Load("storage-gateway/file-nfs", "ecs/ftp")
	if err != nil {
		t.Fatal(err)
	}
	m, err := match.New(set, match.Options{Host: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}})
	if err != nil {
		t.Fatal(err)
	}
	results["related"] = m.Evaluate(testobs.File(t, captures+"/related.pcapng"))
	// A one-direction capture: flows with one_sided set.
	results["one-direction"] = judged(t, testobs.File(t, captures+"/oneway-out.pcap"), "storage-gateway/common")
	empty := *results["misc"]
	empty.Flows = nil
	results["no flows"] = &empty
	for name, res := range results {
		want, err := json.MarshalIndent(Build(res), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		got := render(t, func(b *bytes.Buffer, r *match.Result) error { return JSON(b, r) }, res)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: streamed JSON differs from MarshalIndent's:\n%s", name, firstDiff(got, want))
		}
	}
}

// TestJSONStringIsEncodingJSONs holds appendJSONString to encoding/json on
// strings a capture can carry: markup, controls, invalid UTF-8, line
// separators.
func TestJSONStringIsEncodingJSONs(t *testing.T) {
	for _, s := range []string{"", "plain.example.net", `<script>"x"&\y</script>`, "a\x00b\x01\x1f\b\f\n\r\t\x7f",
		"\xff\xfe bad \xc3", "line\u2028sep\u2029", "héllo ✓ 𝄞", "\xed\xa0\x80 surrogate", "trail\xe2\x82"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	f.Add("<a&b>\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	})
}

// TestStampIsTimeFormats holds the flows' timestamps to stamp's
// time.Format bytes: nanoseconds with trailing zeros and none, the first
// and last nanosecond of a day, times before 1970, and a worker's stamps
// going back and forth across midnight (the cached date must follow).
func TestStampIsTimeFormats(t *testing.T) {
	const day = 24 * int64(time.Hour)
	jan1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	stamps := []int64{0, 1, day - 1, day, jan1, jan1 - 1, jan1 + 7_800_798_000, jan1 + 100_000_000,
		jan1 + 123_456_789, jan1 + 59*int64(time.Second), jan1 + day - 1, jan1 + day, jan1 + 3, jan1 + day + 4,
		jan1 - day, -1, -day, -day - 1, math.MinInt64, math.MaxInt64, math.MaxInt64 - 1,
		time.Date(2000, 2, 29, 23, 59, 59, 999_999_999, time.UTC).UnixNano(),
		time.Date(1969, 12, 31, 23, 59, 59, 500_000_000, time.UTC).UnixNano()}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		stamps = append(stamps, jan1+r.Int64N(3*day), r.Int64())
	}
	var s flowScratch
	for _, ns := range stamps {
		want := `"` + *stamp(ns) + `"`
		if got := s.appendStamp(nil, ns); string(got) != want {
			t.Fatalf("%d: %s, want %s", ns, got, want)
		}
	}
}

func FuzzStamp(f *testing.F) {
	f.Add(int64(1704067207800798000), int64(1))
	f.Fuzz(func(t *testing.T, a, b int64) {
		var s flowScratch
		for _, ns := range []int64{a, b, a} {
			want := `"` + *stamp(ns) + `"`
			if got := s.appendStamp(nil, ns); string(got) != want {
				t.Fatalf("%d: %s, want %s", ns, got, want)
			}
		}
	})
}

func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return "got:  ..." + string(got[lo:min(len(got), i+80)]) + "\nwant: ..." + string(want[lo:min(len(want), i+80)])
}

// BenchmarkJSON writes the JSON report of a 50,000-flow capture of the
// benchmark mix, every flow allowed, to io.Discard: ns/flow is the figure
// to read (the flows are nearly all of its bytes). Run with -cpu 1 to time
// the encoding alone, without inOrder's workers.
func BenchmarkJSON(b *testing.B) {
	const flows = 50_000
	obs := testobs.Generated(b, gencap.Config{Packets: 4 * flows, Flows: flows, Seed: 1})
	res := judged(b, obs, "../../bench/profile.yaml")
	var n countWriter
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := JSON(&n, res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*flows), "ns/flow")
	b.SetBytes(int64(n) / int64(b.N))
}

// countWriter counts the bytes written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

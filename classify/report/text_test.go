package report

import (
	"bytes"
	"cmp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestFlowsTableIsTabwriters: the flows table, formatted in chunks on
// several CPUs straight from the results, is byte for byte what
// text/tabwriter makes of the report model's cells, on a capture of many
// chunks with names, IPv6 and every protocol, with one CPU and with two.
func TestFlowsTableIsTabwriters(t *testing.T) {
	const flows = 6*streamChunk + 17 // many of inOrder's chunks
	obs := testobs.Generated(t, gencap.Config{Packets: 4 * flows, Flows: flows, Seed: 9})
	res := judged(t, obs, "../../bench/profile.yaml", "storage-gateway/common")

	want := tabwriterFlows(res)
	if !strings.Contains(want.String(), ".storage.example.net)") || !strings.Contains(want.String(), "[fd") {
		t.Fatal("the capture has no learned names or no IPv6: the comparison would miss them")
	}

	for _, procs := range []int{1, 2} {
		prev := runtime.GOMAXPROCS(procs)
		var got bytes.Buffer
		writeFlows(&got, res.Flows)
		runtime.GOMAXPROCS(prev)
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("GOMAXPROCS=%d: the flows table differs from tabwriter's:\n%s", procs, firstDiff(got.Bytes(), want.Bytes()))
		}
	}
}

// tabwriterFlows is the flows table as text/tabwriter aligns the report
// model's cells.
func tabwriterFlows(res *match.Result) *bytes.Buffer {
	var want bytes.Buffer
	tw := tabwriter.NewWriter(&want, 0, 0, 2, ' ', 0)
	tw.Write([]byte(strings.Join(flowColumns[:], "\t") + "\n"))
	for i := range res.Flows {
		f := buildFlow(res, &res.Flows[i], &match.Findings{}, i)
		rule := "-"
		if f.Rule != nil {
			rule = *f.Rule
		}
		cells := []string{"  " + f.Verdict, f.Proto, joinHostPort(f.Client, f.ClientPort, f.Proto), serverCell(&f),
			cmp.Or(serviceCell(&f), "-"), f.Direction, f.State, strconv.FormatUint(f.Packets, 10), strconv.FormatUint(f.Bytes, 10), rule}
		tw.Write([]byte(strings.Join(cells, "\t") + "\n"))
	}
	tw.Flush()
	return &want
}

// BenchmarkFlowsTable formats the flows table of a 50,000-flow capture of the
// benchmark mix: ns/flow is the figure to read.
func BenchmarkFlowsTable(b *testing.B) {
	const flows = 50_000
	obs := testobs.Generated(b, gencap.Config{Packets: 4 * flows, Flows: flows, Seed: 1})
	res := judged(b, obs, "../../bench/profile.yaml")
	var out bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		out.Reset()
		writeFlows(&out, res.Flows)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*flows), "ns/flow")
}

// judged is obs judged against the profiles refs, with the host inferred.
func judged(tb testing.TB, obs *classify.Observation, refs ...string) *match.Result {
	tb.Helper()
	set, err := profile.Load(refs...)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := match.New(set, match.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return m.Evaluate(obs)
}

package match_test

import (
	"reflect"
	"runtime"
	"testing"

	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestEvaluateParallelEqualsSerial: Evaluate shares the flows among the
// CPUs; the result must be the one a single CPU builds, flow for flow and
// problem for problem (and the problems' words), names and reasons
// included, with allowed and with unexpected flows.
func TestEvaluateParallelEqualsSerial(t *testing.T) {
	const flows = 20_000 // several parts of match's minimum
	obs := testobs.Generated(t, gencap.Config{Packets: 4 * flows, Flows: flows, Seed: 5})
	for _, ref := range []string{"../../bench/profile.yaml", "storage-gateway/common"} {
		m := matcherFor(t, ref)
		prev := runtime.GOMAXPROCS(1)
		serial := m.Evaluate(obs)
		serialProblems := serial.Problems()
		runtime.GOMAXPROCS(max(prev, 2))
		parallel := m.Evaluate(obs)
		parallelProblems := parallel.Problems()
		runtime.GOMAXPROCS(prev)
		if !reflect.DeepEqual(serialProblems, parallelProblems) {
			t.Errorf("%s: the problems differ (%d serial, %d parallel)", ref, len(serialProblems), len(parallelProblems))
		} else {
			// And so do their words, which the report reads from the
			// results' flows and rules.
			for k := range serialProblems {
				if s, p := report.ProblemText(serial, &serialProblems[k]), report.ProblemText(parallel, &parallelProblems[k]); s != p {
					t.Fatalf("%s: problem %d is worded\n%s serially and\n%s in parallel", ref, k, s, p)
				}
			}
		}
		if len(serial.Flows) != flows {
			t.Fatalf("%s: %d flows judged, want %d", ref, len(serial.Flows), flows)
		}
		for i := range serial.Flows {
			if !reflect.DeepEqual(serial.Flows[i], parallel.Flows[i]) {
				t.Fatalf("%s: flow %d differs:\nserial   %+v\nparallel %+v", ref, i, serial.Flows[i], parallel.Flows[i])
			}
		}
		if !reflect.DeepEqual(serial.Rules, parallel.Rules) || serial.Verdict != parallel.Verdict {
			t.Errorf("%s: rule results or verdict differ", ref)
		}
	}
}

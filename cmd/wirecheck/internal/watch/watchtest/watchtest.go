// Package watchtest reads what the watch service writes, for its tests and
// the command's: Prometheus metrics scraped from it, its JSON-lines
// events, its alert lines and the flows of its report. It holds no service
// logic.
package watchtest

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wirecheck/wirecheck/classify/report"
)

// ParseMetrics parses a /metrics response body, failing t on a bad one.
func ParseMetrics(t testing.TB, body io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return mf
}

// MetricValue returns the value of the series of family name whose labels
// include every name=value pair given, failing t when there is none.
func MetricValue(t testing.TB, mf map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	v, ok := LookupMetric(mf, name, labels...)
	if !ok {
		t.Fatalf("metric %s%v not scraped", name, labels)
	}
	return v
}

// LookupMetric is MetricValue that reports a missing series instead.
func LookupMetric(mf map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	fam := mf[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// ReadEvents decodes an events file, failing on any line that is not a
// JSON object with a time and a type.
func ReadEvents(t testing.TB, name string) []map[string]any {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("event line %q: %v", sc.Text(), err)
		}
		ts, _ := e["time"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("event %v: time: %v", e, err)
		}
		if e["type"] == nil {
			t.Errorf("event %v has no type", e)
		}
		out = append(out, e)
	}
	return out
}

// EventsOf returns the events of type typ.
func EventsOf(evs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

// Flows returns the report's flows of proto to server port.
func Flows(rep *report.Report, proto string, port uint16) []report.Flow {
	var out []report.Flow
	for _, f := range rep.Flows {
		if f.Proto == proto && f.ServerPort == port {
			out = append(out, f)
		}
	}
	return out
}

// alertPattern matches the service's alert lines ("15:04:05 unexpected: ...").
var alertPattern = regexp.MustCompile(`^\d\d:\d\d:\d\d (unexpected|forbidden): `)

// AlertLines returns the alert lines among lines of standard error.
func AlertLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if alertPattern.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

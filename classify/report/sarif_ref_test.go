package report

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
)

// sarifByLibrary is the SARIF writer as it was before results were
// streamed: the whole log built with go-sarif and written by its
// PrettyWrite. TestSARIFStreamsWhatTheLibraryWrites holds SARIF to its
// bytes.
func sarifByLibrary(w io.Writer, res *match.Result) error {
	rep := Build(res)
	run := sarif.NewRunWithInformationURI("wirecheck", "https://github.com/wirecheck/wirecheck")
	for i := range res.Rules {
		r := res.Rules[i].Rule
		desc := r.How
		if desc == "" {
			desc = ruleWhat(r)
		}
		props := sarif.NewPropertyBag().Add("level", res.Rules[i].Level.String()).Add("status", rep.Rules[i].Status)
		if len(r.Sources) > 0 {
			props.Add("sources", rep.Rules[i].Sources)
		}
		d := run.AddRule(r.ID()).WithName(r.Name).
			WithShortDescription(sarif.NewMultiformatMessageString().WithText(ruleWhat(r))).
			WithFullDescription(sarif.NewMultiformatMessageString().WithText(desc)).
			WithProperties(props)
		if r.Note != "" {
			d.WithHelp(sarif.NewMultiformatMessageString().WithText(r.Note))
		}
	}
	run.AddRule(sarifUnexpected).WithName("unexpected flow").
		WithShortDescription(sarif.NewMultiformatMessageString().WithText("a flow that no profile rule allows"))
	run.AddRule(sarifMismatch).WithName("protocol mismatch").
		WithShortDescription(sarif.NewMultiformatMessageString().WithText("a port that carried another protocol than its usual one"))
	run.AddRule(sarifFolded).WithName("folded flows").
		WithShortDescription(sarif.NewMultiformatMessageString().WithText("flows beyond --max-flows that were counted but not judged"))

	var locs []*sarif.Location
	for _, in := range rep.Inputs {
		uri := (&url.URL{Path: filepath.ToSlash(in.Name)}).String()
		run.AddDistinctArtifact(uri)
		locs = append(locs, sarif.NewLocationWithPhysicalLocation(
			sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(uri))))
	}

	for _, p := range res.Findings(res.Problems()).List {
		id := sarifUnexpected
		switch {
		case p.Kind == match.ProblemMismatch:
			id = sarifMismatch
		case p.Kind == match.ProblemFolded:
			id = sarifFolded
		case p.Rule != nil:
			id = p.Rule.ID()
		}
		level := "warning"
		if p.Fails {
			level = "error"
		}
		// The fingerprint says which finding this is across recordings, so
		// that a dashboard tracks it rather than opening a new one each run.
		fp := p.Kind.String() + " " + id
		props := sarif.NewPropertyBag().Add("kind", p.Kind.String())
		if p.Flow >= 0 {
			f := &res.Flows[p.Flow]
			fp += " " + flowWhat(f)
			props.Add("flow", flowLine(&rep.Flows[p.Flow]))
			if p.Flows > 1 {
				props.Add("flows", p.Flows)
			}
		}
		r := run.CreateResultForRule(id).WithLevel(level).WithMessage(sarif.NewTextMessage(findingText(res, &p))).
			WithLocations(locs).WithProperties(props).
			WithPartialFingerprints(map[string]string{"wirecheck/v1": fp})
		if len(locs) == 0 {
			r.WithLocations([]*sarif.Location{})
		}
	}

	run.Properties = sarifRunProps(res, rep)
	log := sarif.NewReport()
	log.AddRun(run)
	if err := log.PrettyWrite(w); err != nil {
		return fmt.Errorf("sarif: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// TestSARIFStreamsWhatTheLibraryWrites holds SARIF to the bytes go-sarif
// writes for the whole log, on streamCases and on no input at all.
func TestSARIFStreamsWhatTheLibraryWrites(t *testing.T) {
	results := streamCases(t)
	none := *results["misc"]
	none.Obs = &classify.Observation{}
	none.Flows = nil
	none.Rules = append([]match.RuleResult(nil), none.Rules...)
	for i := range none.Rules {
		none.Rules[i].Flows = nil
	}
	results["no input"] = &none
	for name, res := range results {
		want := render(t, func(b *bytes.Buffer, r *match.Result) error { return sarifByLibrary(b, r) }, res)
		got := render(t, func(b *bytes.Buffer, r *match.Result) error { return SARIF(b, r) }, res)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: streamed SARIF differs from go-sarif's:\n%s", name, firstDiff(got, want))
		}
	}
}

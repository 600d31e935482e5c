package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/wirecheck/wirecheck/classify/match"
)

// Rule ids of SARIF results that no profile rule names.
const (
	sarifUnexpected = "unexpected-flow"
	sarifMismatch   = "protocol-mismatch"
	sarifFolded     = "folded-flows"
)

// SARIF writes the problems as a SARIF 2.1.0 log for code-scanning
// dashboards: one result per problem (folded: match.Finding), whose rule
// id is the profile rule's id ("storage-gateway/common:ntp"), or
// unexpected-flow, protocol-mismatch or folded-flows; failures are errors,
// the rest warnings. Each result is located in the capture files, which
// have no lines to point at.
//
// go-sarif builds the log and writes it, but not its results: a result
// per problem in its object model held 3 KB each until the end (323 MB
// for 100,000) and took seconds to encode. The results are written in
// the place the empty list takes, from templates go-sarif writes once
// (sarifTemplate), by the CPUs in order (inOrder).
func SARIF(w io.Writer, res *match.Result) error {
	rep := buildHead(res, nil)
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
		// Related flows raise no result (they are expected); the rule
		// lists them, so the dashboard still shows what was accepted
		// through a control flow's announcement.
		var relatedFlows []string
		for _, fi := range rep.Rules[i].Flows {
			if res.Flows[fi].Related() != nil {
				relatedFlows = append(relatedFlows, flowLineOf(&res.Flows[fi]))
			}
		}
		if len(relatedFlows) > 0 {
			props.Add("related_flows", relatedFlows)
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

	locs := []*sarif.Location{}
	for _, in := range rep.Inputs {
		uri := (&url.URL{Path: filepath.ToSlash(in.Name)}).String()
		run.AddDistinctArtifact(uri)
		locs = append(locs, sarif.NewLocationWithPhysicalLocation(
			sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(uri))))
	}

	run.Properties = sarifRunProps(res, rep)
	log := sarif.NewReport()
	log.AddRun(run)
	var head bytes.Buffer
	if err := log.PrettyWrite(&head); err != nil {
		return fmt.Errorf("sarif: %w", err)
	}
	at := bytes.Index(head.Bytes(), sarifResultsKey)
	if at < 0 {
		return errors.New("sarif: no results list in the encoded log") // the library changed
	}
	at += len(sarifResultsKey) - 1 // before the closing bracket
	var tpl [3]sarifTemplate       // by the properties a result has: kind; flow, kind; flow, flows, kind
	for i := range tpl {
		t, err := newSARIFTemplate(locs, i)
		if err != nil {
			return fmt.Errorf("sarif: %w", err)
		}
		tpl[i] = t
	}
	ruleIndex := map[string]int{}
	for i, d := range run.Tool.Driver.Rules {
		ruleIndex[*d.ID] = i
	}

	fs := res.Findings(res.Problems()).List
	bw := bufio.NewWriter(w)
	bw.Write(head.Bytes()[:at])
	err := inOrder(bw, len(fs), 0, newFlowScratch, func(b []byte, i int, s *flowScratch) []byte {
		p := &fs[i]
		id := sarifUnexpected
		switch {
		case p.Kind == match.ProblemMismatch:
			id = sarifMismatch
		case p.Kind == match.ProblemFolded:
			id = sarifFolded
		case p.Rule != nil:
			id = s.ruleID(p.Rule)
		}
		level := "warning"
		if p.Fails {
			level = "error"
		}
		// The fingerprint says which finding this is across recordings, so
		// that a dashboard tracks it rather than opening a new one each run.
		v := sarifValues{kind: p.Kind.String(), level: level, message: findingText(res, p), ruleID: id, ruleIndex: ruleIndex[id]}
		v.fingerprint = v.kind + " " + id
		t := &tpl[0]
		if p.Flow >= 0 {
			f := &res.Flows[p.Flow]
			v.fingerprint += " " + flowWhat(f)
			v.flow = flowLineOf(f)
			t = &tpl[1]
			if p.Flows > 1 {
				v.flows = p.Flows
				t = &tpl[2]
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		return t.append(b, &v)
	})
	if err != nil {
		return fmt.Errorf("sarif: %w", err)
	}
	if len(fs) > 0 {
		bw.WriteString("\n      ")
	}
	bw.Write(head.Bytes()[at:])
	bw.WriteByte('\n')
	return bw.Flush()
}

// sarifResultsKey is how the run's empty results list reads in the log.
var sarifResultsKey = []byte("\n      \"results\": []")

// sarifValues are what differs from one result to the next.
type sarifValues struct {
	fingerprint, kind, level, message, ruleID, flow string
	flows, ruleIndex                                int
}

// sarifTemplate is a result as go-sarif writes it in the log (every
// default, optional list and -1 it adds), cut where the values go: a
// result is the pieces with the values between them, each value written
// by appendJSONString as encoding/json would.
type sarifTemplate struct {
	pieces [][]byte
	holes  []int // holes[i] follows pieces[i]: an index into sarifHoles
}

// sarifHoles are the placeholders newSARIFTemplate fills a result with,
// in sarifValues' order; the rule index is a number.
var sarifHoles = [...]string{`"\u0000fingerprint"`, `"\u0000kind"`, `"\u0000level"`, `"\u0000message"`, `"\u0000ruleID"`, `"\u0000flow"`, `987654321`, `987654322`}

// sarifRunProps are the run's properties, its header (dashboards show them
// with the run): the capture filter and the tunnels decapsulated, or nil.
func sarifRunProps(res *match.Result, rep *Report) *sarif.PropertyBag {
	f, tt := filterText(rep), tunnelTexts(res, rep)
	if f == "" && len(tt) == 0 {
		return nil
	}
	props := sarif.NewPropertyBag()
	if f != "" {
		props.Add("filter", f)
	}
	if len(tt) > 0 {
		props.Add("tunnels", tt)
		props.Add("tunnels_note", tunnelsNote)
	}
	return props
}

func (v *sarifValues) appendHole(b []byte, h int) []byte {
	switch h {
	case 0:
		return appendJSONString(b, v.fingerprint)
	case 1:
		return appendJSONString(b, v.kind)
	case 2:
		return appendJSONString(b, v.level)
	case 3:
		return appendJSONString(b, v.message)
	case 4:
		return appendJSONString(b, v.ruleID)
	case 5:
		return appendJSONString(b, v.flow)
	case 6:
		return strconv.AppendInt(b, int64(v.flows), 10)
	}
	return strconv.AppendInt(b, int64(v.ruleIndex), 10)
}

// newSARIFTemplate has go-sarif write a result with placeholders as an
// element of the run's results; props is 0 for a result with only a kind,
// 1 with a flow too, 2 with a flow and a count of flows.
func newSARIFTemplate(locs []*sarif.Location, props int) (sarifTemplate, error) {
	bag := sarif.NewPropertyBag().Add("kind", "\x00kind")
	if props > 0 {
		bag.Add("flow", "\x00flow")
	}
	if props > 1 {
		bag.Add("flows", 987654321)
	}
	r := sarif.NewRuleResult("\x00ruleID").WithRuleIndex(987654322).WithLevel("\x00level").
		WithMessage(sarif.NewTextMessage("\x00message")).WithLocations(locs).WithProperties(bag).
		WithPartialFingerprints(map[string]string{"wirecheck/v1": "\x00fingerprint"})
	// As the log writes a result: an element of the results list, eight
	// spaces in.
	run := sarif.NewRunWithInformationURI("t", "t")
	run.AddResult(r)
	log := sarif.NewReport()
	log.AddRun(run)
	var all bytes.Buffer
	if err := log.PrettyWrite(&all); err != nil {
		return sarifTemplate{}, err
	}
	b := all.Bytes()
	start := bytes.Index(b, []byte("\"results\": ["))
	end := bytes.Index(b, []byte("\n        }\n      ]"))
	if start < 0 || end < 0 {
		return sarifTemplate{}, errors.New("no result in the template log")
	}
	b = b[start+len("\"results\": [") : end+len("\n        }")]
	var t sarifTemplate
	for {
		next, hole := -1, -1
		for h, s := range sarifHoles {
			if i := bytes.Index(b, []byte(s)); i >= 0 && (next < 0 || i < next) {
				next, hole = i, h
			}
		}
		if next < 0 {
			t.pieces = append(t.pieces, b)
			return t, nil
		}
		t.pieces = append(t.pieces, b[:next])
		t.holes = append(t.holes, hole)
		b = b[next+len(sarifHoles[hole]):]
	}
}

func (t *sarifTemplate) append(b []byte, v *sarifValues) []byte {
	for i, h := range t.holes {
		b = append(b, t.pieces[i]...)
		b = v.appendHole(b, h)
	}
	return append(b, t.pieces[len(t.pieces)-1]...)
}

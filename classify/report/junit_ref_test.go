package report

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// The JUnit XML elements, in the shape Jenkins, GitLab, GitHub test
// reporters and Azure Pipelines read (Jenkins' junit-10.xsd is the
// loosest common schema; FORMATS.md says how wirecheck fills it).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string             `xml:"name,attr"`
	Tests      int                `xml:"tests,attr"`
	Failures   int                `xml:"failures,attr"`
	Errors     int                `xml:"errors,attr"`
	Skipped    int                `xml:"skipped,attr"`
	Timestamp  string             `xml:"timestamp,attr,omitempty"`
	Properties []refJUnitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase        `xml:"testcase"`
	SystemOut  *junitText         `xml:"system-out,omitempty"`
}

type refJUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitOutcome `xml:"failure,omitempty"`
	Error     *junitOutcome `xml:"error,omitempty"`
	Skipped   *junitOutcome `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

// Multi-line texts are CDATA, which keeps their line breaks readable in
// the file (the encoder splits any "]]>" inside them).
type junitOutcome struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

func refCDATA(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{s}
}

// junitByEncoder is the JUnit writer as it was before it streamed: the
// whole document built as structs and written by encoding/xml.
// TestJUnitStreamsWhatEncodingXMLWrites holds JUnit to its bytes.
//
// It wrote the report as JUnit XML, so that any CI system shows
// conformance as tests: a suite per profile with a test case per rule, and
// a suite of flows with a failing test case per unexpected or forbidden
// flow (flows that differ only in the client port are one case).
//
// A rule's case fails when the rule is blocked or missing, or is forbidden
// and was seen; it is an error when the rule is inconclusive (the capture
// is incomplete, so the test could not be decided; the exit status is
// non-zero too), and skipped when the rule's phase is not being checked.
// Flows folded beyond --max-flows are an error case in the flows suite.
func junitByEncoder(w io.Writer, res *match.Result) error {
	rep := Build(res)
	problems := res.Problems()
	byRule := ruleProblems(problems)
	props := refJUnitProps(rep)
	stamp := ""
	if rep.Summary.First != nil {
		// JUnit's timestamp has no zone; it is the capture's start in UTC.
		if t, err := time.Parse(time.RFC3339Nano, *rep.Summary.First); err == nil {
			stamp = t.UTC().Format("2006-01-02T15:04:05")
		}
	}

	var suites []junitSuite
	at := map[string]int{}
	for i := range res.Rules {
		rr := &res.Rules[i]
		name := rr.Rule.Profile
		j, ok := at[name]
		if !ok {
			j = len(suites)
			at[name] = j
			suites = append(suites, junitSuite{Name: name, Timestamp: stamp, Properties: props})
		}
		suites[j].Cases = append(suites[j].Cases, refRuleCase(res, rep, rr, i, byRule[rr.Rule]))
	}

	flows := junitSuite{Name: "flows", Timestamp: stamp, Properties: props}
	findings := res.Findings(problems)
	groups := failingFlows(res, problems, findings)
	for _, g := range groups {
		flows.Cases = append(flows.Cases, refFlowCase(res, rep, g))
	}
	if len(groups) == 0 {
		flows.Cases = append(flows.Cases, junitCase{Classname: "flows", Name: "no unexpected or forbidden flow",
			SystemOut: refCDATA(textout.Count(uint64(len(res.Flows)), "flow") + ", each allowed by a rule\n")})
	}
	var warn strings.Builder
	var unbound []junitCase // after the folded ones, as the streamed writer puts them
	for _, p := range findings.List {
		if p.Kind == match.ProblemFolded {
			// Flows that were not judged leave the check undecided, as an
			// inconclusive rule does.
			flows.Cases = append(flows.Cases, junitCase{Classname: "flows", Name: "every flow judged",
				Error: &junitOutcome{Message: ProblemText(res, &p.Problem), Type: "folded"}})
			continue
		}
		if p.Kind == match.ProblemUnbound && p.Fails {
			unbound = append(unbound, junitCase{Classname: "flows", Name: unboundCaseName(&p),
				Failure: &junitOutcome{Message: ProblemText(res, &p.Problem), Type: "unbound"}})
			continue
		}
		if !p.Fails && p.Kind != match.ProblemInconclusive {
			warn.WriteString("warning: " + findingText(res, &p) + "\n")
		}
	}
	flows.Cases = append(flows.Cases, unbound...)
	junitRunNotes(&warn, res, rep)
	flows.SystemOut = refCDATA(warn.String())
	suites = append(suites, flows)

	top := junitSuites{Name: "wirecheck"}
	for i := range suites {
		s := &suites[i]
		for _, c := range s.Cases {
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		top.Tests += s.Tests
		top.Failures += s.Failures
		top.Errors += s.Errors
	}
	top.Suites = suites

	ew := textout.Printer{Writer: bufio.NewWriter(w)}
	ew.Printf("%s", xml.Header)
	enc := xml.NewEncoder(ew)
	enc.Indent("", "  ")
	if err := enc.Encode(top); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	ew.Printf("\n")
	return ew.Flush()
}

// refJUnitProps are the production writer's properties (junitProps) in
// the reference's element type: what they say is not what the reference
// checks, how they are written is.
func refJUnitProps(rep *Report) []refJUnitProperty {
	var props []refJUnitProperty
	for _, p := range junitProps(rep) {
		props = append(props, refJUnitProperty{p.name, p.value})
	}
	return props
}

func refRuleCase(res *match.Result, rep *Report, rr *match.RuleResult, i int, p match.Problem) junitCase {
	r := rr.Rule
	c := junitCase{Classname: r.Profile, Name: r.Name + " (" + ruleWhat(r) + ")"}
	var b strings.Builder
	fmt.Fprintf(&b, "level: %s\n", ruleLevel(rr))
	if r.How != "" {
		fmt.Fprintf(&b, "how: %s\n", r.How)
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "note: %s\n", r.Note)
	}
	for _, s := range r.Sources {
		fmt.Fprintf(&b, "source: %s\n", s)
	}
	for _, fi := range rr.Flows {
		fmt.Fprintf(&b, "flow: %s\n", flowLine(&rep.Flows[fi]))
	}
	details := b.String()
	status := rep.Rules[i].Status
	switch {
	case rr.Status == match.RuleBlocked || rr.Status == match.RuleMissing:
		c.Failure = &junitOutcome{Message: ProblemText(res, &p), Type: status, Text: details}
	case rr.Status == match.RuleInconclusive:
		c.Error = &junitOutcome{Message: ProblemText(res, &p), Type: status, Text: details}
	case rr.Status == match.RuleInactive:
		c.Skipped = &junitOutcome{Message: fmt.Sprintf("phase %s is not checked (--phase %s)", r.Phase, res.Phase)}
		c.SystemOut = refCDATA(details)
	case rr.Level == profile.LevelForbidden && len(rr.Flows) > 0:
		c.Failure = &junitOutcome{Message: fmt.Sprintf("forbidden: %d %s matched rule %s", len(rr.Flows),
			textout.Plural(len(rr.Flows), "flow", "flows"), r.ID()), Type: "forbidden", Text: details}
	default:
		c.SystemOut = refCDATA("status: " + status + "\n" + details)
	}
	return c
}

func refFlowCase(res *match.Result, rep *Report, g flowGroup) junitCase {
	class := "flows"
	if g.rule != nil {
		class = g.rule.Profile
	}
	var b strings.Builder
	if g.rule != nil {
		fmt.Fprintf(&b, "rule: %s (%s)\n", g.rule.ID(), g.rule.Level)
	}
	for _, fi := range g.flows {
		f := &rep.Flows[fi]
		fmt.Fprintf(&b, "flow: %s\n", flowLine(f))
		for _, why := range f.Why {
			fmt.Fprintf(&b, "  why no rule: %s\n", why)
		}
	}
	msg := ProblemText(res, &g.finding.Problem)
	if n := len(g.flows); n > 1 {
		msg += fmt.Sprintf(" (%d flows like it)", n)
	}
	return junitCase{Classname: class, Name: g.verdict.String() + ": " + flowWhat(&res.Flows[g.flows[0]]),
		Failure: &junitOutcome{Message: msg, Type: g.verdict.String(), Text: b.String()}}
}

// TestJUnitStreamsWhatEncodingXMLWrites holds JUnit to the bytes
// encoding/xml writes for the document built as structs: every rule status
// and markup with "]]>" (the fixture), folded findings (monitor), flows
// folded beyond --max-flows with an input that stopped early, and several
// chunks of cases (generated). TestEmptyCapture covers no input.
func TestJUnitStreamsWhatEncodingXMLWrites(t *testing.T) {
	results := streamCases(t)
	for name, res := range results {
		want := render(t, func(b *bytes.Buffer, r *match.Result) error { return junitByEncoder(b, r) }, res)
		got := render(t, func(b *bytes.Buffer, r *match.Result) error { return JUnit(b, r) }, res)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: streamed JUnit differs from encoding/xml's:\n%s", name, firstDiff(got, want))
		}
	}
}

// streamCases are the results the streaming writers (JUnit, SARIF) are
// compared with their references on: every rule status and markup with
// "]]>" (the fixtures), IPv6 and names (misc), folded findings (monitor),
// several chunks (generated), every flow allowed, flows folded beyond
// --max-flows with an input that stopped early, and a capture filter.
func streamCases(t *testing.T) map[string]*match.Result {
	t.Helper()
	results := map[string]*match.Result{
		"faulty":    evaluate(t, "filegw-faulty.pcap", false),
		"fixture":   evaluate(t, "filegw-conformant.pcapng", true),
		"fixture2":  evaluate(t, "filegw-faulty.pcap", true),
		"misc":      evaluate(t, "misc.pcapng", false),
		"monitor":   judged(t, testobs.File(t, monitorCapture), "storage-gateway/common"),
		"generated": judged(t, testobs.Generated(t, gencap.Config{Packets: 12_000, Flows: 3 * streamChunk, Seed: 4}), "storage-gateway/common"),
		"allowed":   judged(t, testobs.Generated(t, gencap.Config{Packets: 4_000, Flows: 1_000, Seed: 4}), "../../bench/profile.yaml"),
	}
	folded := *results["faulty"]
	obs := *folded.Obs
	obs.Folded = classify.Folded{Flows: 7, Services: []classify.FoldedService{{FoldKey: classify.FoldKey{Proto: ipproto.TCP, ServerPort: 443}, Flows: 7, Packets: 9, Bytes: 900}}}
	obs.Inputs = append([]classify.Input(nil), obs.Inputs...)
	obs.Inputs[0].Stopped = errors.New("truncated <record> ]]> at packet 9")
	folded.Obs = &obs
	results["folded"] = &folded
	filtered := *results["faulty"]
	fobs := *filtered.Obs
	fobs.Filter, fobs.FilterExcluded, fobs.FilterCounted = `tcp port 443 and host "x<y>"`, 12, true
	filtered.Obs = &fobs
	results["filtered"] = &filtered
	// --strict, with flows accepted only through an unbound group: JUnit
	// fails a case in the flows suite for each such rule.
	set, err := profile.Load("storage-gateway/file-nfs")
	if err != nil {
		t.Fatal(err)
	}
	m, err := match.New(set, match.Options{Host: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	results["strict"] = m.Evaluate(testobs.File(t, filepath.Join(captures, "filegw-conformant.pcapng")))
	return results
}

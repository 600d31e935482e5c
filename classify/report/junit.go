package report

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// JUnit writes the report as JUnit XML, so that any CI system shows
// conformance as tests: a suite per profile with a test case per rule, and
// a suite of flows with a failing test case per unexpected or forbidden
// finding (flows that differ only in the client port, times and counts are
// one case), in the shape Jenkins, GitLab, GitHub test reporters and Azure
// Pipelines read (Jenkins' junit-10.xsd is the loosest common schema;
// FORMATS.md says how wirecheck fills it).
//
// A rule's case fails when the rule is blocked or missing, or is forbidden
// and was seen; it is an error when the rule is inconclusive (the capture
// is incomplete, so the test could not be decided; the exit status is
// non-zero too), and skipped when the rule's phase is not being checked.
// Flows folded beyond --max-flows are an error case in the flows suite.
//
// The document is written as it is made, with the bytes encoding/xml
// writes for it indented (junitw): built as structs first, it held every
// case and every flow line until the end (287 MB for 100,000 flows). The
// counts the suites open with are taken first; the flows suite's cases are
// formatted by the CPUs in order (inOrder).
func JUnit(w io.Writer, res *match.Result) error {
	rep := buildHead(res, nil)
	problems := res.Problems()
	findings := res.Findings(problems)
	byRule := ruleProblems(problems)
	props := junitProps(rep)
	stamp := ""
	if rep.Summary.First != nil {
		// JUnit's timestamp has no zone; it is the capture's start in UTC.
		if t, err := time.Parse(time.RFC3339Nano, *rep.Summary.First); err == nil {
			stamp = t.UTC().Format("2006-01-02T15:04:05")
		}
	}

	// The suites: one per profile, in the order of their first rule.
	type suite struct {
		name                             string
		rules                            []int
		tests, failures, errors, skipped int
	}
	var suites []suite
	at := map[string]int{}
	for i := range res.Rules {
		rr := &res.Rules[i]
		j, ok := at[rr.Rule.Profile]
		if !ok {
			j = len(suites)
			at[rr.Rule.Profile] = j
			suites = append(suites, suite{name: rr.Rule.Profile})
		}
		s := &suites[j]
		s.rules = append(s.rules, i)
		s.tests++
		switch ruleOutcome(rr) {
		case "failure":
			s.failures++
		case "error":
			s.errors++
		case "skipped":
			s.skipped++
		}
	}
	groups := failingFlows(res, problems, findings)
	var warn strings.Builder
	var foldedProblems, unboundFails []*match.Finding
	for i := range findings.List {
		p := &findings.List[i]
		if p.Kind == match.ProblemFolded {
			foldedProblems = append(foldedProblems, p)
			continue
		}
		if p.Kind == match.ProblemUnbound && p.Fails {
			unboundFails = append(unboundFails, p) // --strict: a failing case
			continue
		}
		if !p.Fails && p.Kind != match.ProblemInconclusive {
			warn.WriteString("warning: " + findingText(res, p) + "\n")
		}
	}
	junitRunNotes(&warn, res, rep)
	flows := suite{name: "flows", tests: len(groups) + len(foldedProblems) + len(unboundFails),
		failures: len(groups) + len(unboundFails), errors: len(foldedProblems)}
	if len(groups) == 0 {
		flows.tests++
	}
	var tests, failures, errs int
	for _, s := range append(suites, flows) {
		tests, failures, errs = tests+s.tests, failures+s.failures, errs+s.errors
	}

	bw := bufio.NewWriter(w)
	x := junitw{}
	x.b = append(x.b, xml.Header...)
	x.b = append(x.b, `<testsuites name="wirecheck" tests="`...)
	x.b = strconv.AppendInt(x.b, int64(tests), 10)
	x.b = append(x.b, `" failures="`...)
	x.b = strconv.AppendInt(x.b, int64(failures), 10)
	x.b = append(x.b, `" errors="`...)
	x.b = strconv.AppendInt(x.b, int64(errs), 10)
	x.b = append(x.b, `">`...)
	openSuite := func(s *suite) {
		x.line(1)
		x.b = append(x.b, `<testsuite name="`...)
		x.attr(s.name)
		for _, n := range [...]struct {
			k string
			v int
		}{{"tests", s.tests}, {"failures", s.failures}, {"errors", s.errors}, {"skipped", s.skipped}} {
			x.b = append(x.b, `" `...)
			x.b = append(x.b, n.k...)
			x.b = append(x.b, `="`...)
			x.b = strconv.AppendInt(x.b, int64(n.v), 10)
		}
		x.b = append(x.b, '"')
		if stamp != "" {
			x.b = append(x.b, ` timestamp="`...)
			x.b = append(x.b, stamp...)
			x.b = append(x.b, '"')
		}
		x.b = append(x.b, '>')
		x.line(2)
		x.b = append(x.b, "<properties>"...)
		for _, p := range props {
			x.line(3)
			x.b = append(x.b, `<property name="`...)
			x.attr(p.name)
			x.b = append(x.b, `" value="`...)
			x.attr(p.value)
			x.b = append(x.b, `"></property>`...)
		}
		x.line(2)
		x.b = append(x.b, "</properties>"...)
	}
	for si := range suites {
		s := &suites[si]
		openSuite(s)
		for _, i := range s.rules {
			x.ruleCase(res, rep, &res.Rules[i], i, byRule[res.Rules[i].Rule], bw)
		}
		x.line(1)
		x.b = append(x.b, "</testsuite>"...)
	}
	openSuite(&flows)
	bw.Write(x.b)
	x.b = x.b[:0]
	err := inOrder(bw, len(groups), 0, func() *junitw { return &junitw{} }, func(b []byte, i int, cw *junitw) []byte {
		cw.b = b
		cw.flowCase(res, &groups[i])
		return cw.b
	})
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if len(groups) == 0 {
		x.testcase("flows", "no unexpected or forbidden flow")
		x.systemOut(3, textout.Count(uint64(len(res.Flows)), "flow")+", each allowed by a rule\n")
		x.endTestcase()
	}
	for _, p := range foldedProblems {
		// Flows that were not judged leave the check undecided, as an
		// inconclusive rule does.
		x.testcase("flows", "every flow judged")
		x.outcome("error", ProblemText(res, &p.Problem), "folded", "")
		x.endTestcase()
	}
	for _, p := range unboundFails {
		x.testcase("flows", unboundCaseName(p))
		x.outcome("failure", ProblemText(res, &p.Problem), "unbound", "")
		x.endTestcase()
	}
	if s := warn.String(); s != "" {
		x.systemOut(2, s)
	}
	x.line(1)
	x.b = append(x.b, "</testsuite>"...)
	x.line(0)
	x.b = append(x.b, "</testsuites>\n"...)
	bw.Write(x.b)
	return bw.Flush()
}

// unboundCaseName names the failing case of a --strict run's rule that
// accepted flows only through an unbound peer group.
func unboundCaseName(p *match.Finding) string {
	return "no flow accepted only through an unbound group (" + p.Rule.ID() + ")"
}

// junitRunNotes appends to warn what the flows suite's output says of the
// run itself: inputs that stopped early, losses, the capture filter, the
// tunnels decapsulated.
func junitRunNotes(warn *strings.Builder, res *match.Result, rep *Report) {
	for _, in := range rep.Inputs {
		if in.Stopped != nil {
			fmt.Fprintf(warn, "input %s incomplete: %s\n", in.Name, *in.Stopped)
		}
	}
	for _, l := range rep.Losses {
		if l.Count > 0 {
			fmt.Fprintf(warn, "lost: %d %s\n", l.Count, l.What)
		}
	}
	if f := filterText(rep); f != "" {
		fmt.Fprintf(warn, "filter: %s\n", f)
	}
	for _, t := range tunnelTexts(res, rep) {
		fmt.Fprintf(warn, "tunnel (%s): %s\n", tunnelsNote, t)
	}
}

type junitProperty struct{ name, value string }

func junitProps(rep *Report) []junitProperty {
	props := []junitProperty{
		{"verdict", rep.Verdict},
		{"host", strings.Join(rep.Host.Addresses, ",") + map[bool]string{true: hostAbsent}[rep.Host.Absent]},
		{"profiles", strings.Join(rep.Profiles, ",")},
		{"phase", cmp.Or(rep.Phase, "all")},
		{"region", cmp.Or(rep.Region, "any")},
		{"complete", fmt.Sprint(rep.Complete)},
	}
	for _, in := range rep.Inputs {
		props = append(props, junitProperty{"input", in.Name})
	}
	if f := filterText(rep); f != "" {
		props = append(props, junitProperty{"filter", f})
	}
	return props
}

// ruleOutcome is the element a rule's case reports its status with, or ""
// for a case that passed.
func ruleOutcome(rr *match.RuleResult) string {
	switch {
	case rr.Status == match.RuleBlocked || rr.Status == match.RuleMissing:
		return "failure"
	case rr.Status == match.RuleInconclusive:
		return "error"
	case rr.Status == match.RuleInactive:
		return "skipped"
	case rr.Level == profile.LevelForbidden && len(rr.Flows) > 0:
		return "failure"
	}
	return ""
}

// junitw appends JUnit XML as encoding/xml's Encoder with Indent("", "  ")
// writes the document's structs (TestJUnitStreamsWhatEncodingXMLWrites).
// Attribute values are escaped by encoding/xml; texts are CDATA, which
// keeps their line breaks readable in the file.
type junitw struct {
	b   []byte
	esc bytes.Buffer
}

func (x *junitw) line(depth int) {
	x.b = append(x.b, '\n')
	x.b = append(x.b, spaces[:2*depth]...)
}

// attr appends s escaped for an attribute value: the one place a capture
// or profile string is written into JUnit XML outside CDATA.
func (x *junitw) attr(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\'' || c == '&' || c == '<' || c == '>' {
			// Something to escape, or not ASCII: encoding/xml decides
			// (it also replaces what XML cannot carry).
			x.esc.Reset()
			xml.EscapeText(&x.esc, []byte(s))
			x.b = append(x.b, x.esc.Bytes()...)
			return
		}
	}
	x.b = append(x.b, s...)
}

// cdata appends s as CDATA, "]]>" split as encoding/xml splits it; s is
// one or more whole lines, so a "]]>" never spans two calls.
func (x *junitw) cdata(s string) {
	for {
		before, after, ok := strings.Cut(s, "]]>")
		if !ok {
			break
		}
		x.b = append(x.b, before...)
		x.b = append(x.b, "]]]]><![CDATA[>"...)
		s = after
	}
	x.b = append(x.b, s...)
}

func (x *junitw) testcase(class, name string) {
	x.line(2)
	x.b = append(x.b, `<testcase classname="`...)
	x.attr(class)
	x.b = append(x.b, `" name="`...)
	x.attr(name)
	x.b = append(x.b, `">`...)
}

func (x *junitw) endTestcase() {
	x.line(2)
	x.b = append(x.b, "</testcase>"...)
}

// outcome appends a failure, error or skipped element with its message,
// type (none when "") and text (none when "").
func (x *junitw) outcome(tag, message, typ, text string) {
	x.line(3)
	x.b = append(x.b, '<')
	x.b = append(x.b, tag...)
	x.b = append(x.b, ` message="`...)
	x.attr(message)
	x.b = append(x.b, '"')
	if typ != "" {
		x.b = append(x.b, ` type="`...)
		x.attr(typ)
		x.b = append(x.b, '"')
	}
	x.b = append(x.b, '>')
	if text != "" {
		x.b = append(x.b, "<![CDATA["...)
		x.cdata(text)
		x.b = append(x.b, "]]>"...)
	}
	x.b = append(x.b, "</"...)
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>')
}

// systemOut appends a system-out element at depth with text, or nothing
// when text is "".
func (x *junitw) systemOut(depth int, text string) {
	if text == "" {
		return
	}
	x.line(depth)
	x.b = append(x.b, "<system-out><![CDATA["...)
	x.cdata(text)
	x.b = append(x.b, "]]></system-out>"...)
}

// ruleCase appends the case of rule result rr (the i-th), whose problem
// is p, and writes what it has to bw when its flows make it long: a rule
// may have matched most of a million flows.
func (x *junitw) ruleCase(res *match.Result, rep *Report, rr *match.RuleResult, i int, p match.Problem, bw *bufio.Writer) {
	r := rr.Rule
	x.testcase(r.Profile, r.Name+" ("+ruleWhat(r)+")")
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
	status := rep.Rules[i].Status
	var tag, message, typ string
	// The rule's problem, worded only when its case fails on it: a rule
	// without one (a forbidden rule seen, a case that passed) has p zero.
	problem := func() string {
		if p.Rule == nil {
			return ""
		}
		return ProblemText(res, &p)
	}
	switch ruleOutcome(rr) {
	case "failure":
		tag, typ = "failure", status
		if rr.Status != match.RuleBlocked && rr.Status != match.RuleMissing {
			message = fmt.Sprintf("forbidden: %d %s matched rule %s", len(rr.Flows), textout.Plural(len(rr.Flows), "flow", "flows"), r.ID())
			typ = "forbidden"
		} else {
			message = problem()
		}
	case "error":
		tag, message, typ = "error", problem(), status
	case "skipped":
		x.outcome("skipped", fmt.Sprintf("phase %s is not checked (--phase %s)", r.Phase, res.Phase), "", "")
		tag = "system-out"
	default:
		tag = "system-out"
		x.line(3)
		x.b = append(x.b, "<system-out><![CDATA["...)
		x.cdata("status: " + status + "\n")
		x.cdata(b.String())
		x.ruleFlows(res, rr, bw)
		x.b = append(x.b, "]]></system-out>"...)
		x.endTestcase()
		return
	}
	x.line(3)
	x.b = append(x.b, '<')
	x.b = append(x.b, tag...)
	if tag != "system-out" {
		x.b = append(x.b, ` message="`...)
		x.attr(message)
		x.b = append(x.b, `" type="`...)
		x.attr(typ)
		x.b = append(x.b, '"')
	}
	x.b = append(x.b, "><![CDATA["...)
	x.cdata(b.String())
	x.ruleFlows(res, rr, bw)
	x.b = append(x.b, "]]></"...)
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>')
	x.endTestcase()
}

// ruleFlows appends a line per flow of rr, handing x's bytes to bw as they
// grow.
func (x *junitw) ruleFlows(res *match.Result, rr *match.RuleResult, bw *bufio.Writer) {
	for _, fi := range rr.Flows {
		x.b = append(x.b, "flow: "...)
		x.b = appendFlowLine(x.b, &res.Flows[fi])
		x.b = append(x.b, '\n')
		if len(x.b) > 64<<10 {
			bw.Write(x.b)
			x.b = x.b[:0]
		}
	}
}

// flowCase appends the failing case of a finding of unexpected or
// forbidden flows, with a line per flow.
func (x *junitw) flowCase(res *match.Result, g *flowGroup) {
	class := "flows"
	if g.rule != nil {
		class = g.rule.Profile
	}
	x.testcase(class, g.verdict.String()+": "+flowWhat(&res.Flows[g.flows[0]]))
	msg := ProblemText(res, &g.finding.Problem)
	if n := len(g.flows); n > 1 {
		msg += fmt.Sprintf(" (%d flows like it)", n)
	}
	x.line(3)
	x.b = append(x.b, `<failure message="`...)
	x.attr(msg)
	x.b = append(x.b, `" type="`...)
	x.attr(g.verdict.String())
	x.b = append(x.b, `"><![CDATA[`...)
	if g.rule != nil {
		x.cdata(fmt.Sprintf("rule: %s (%s)\n", g.rule.ID(), g.rule.Level))
	}
	for _, fi := range g.flows {
		f := &res.Flows[fi]
		x.b = append(x.b, "flow: "...)
		x.b = appendFlowLine(x.b, f)
		x.b = append(x.b, '\n')
		for _, why := range f.Why() {
			x.cdata("  why no rule: " + why + "\n")
		}
	}
	x.b = append(x.b, "]]></failure>"...)
	x.endTestcase()
}

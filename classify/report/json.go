package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/wirecheck/wirecheck/classify/match"
)

// How the empty top-level problems and flows lists, and a rule's empty
// flows list, read in indented JSON. A newline is never inside a string
// (encoding/json escapes it), so these bytes are only ever these members.
var (
	problemsKey  = []byte("\n  \"problems\": []")
	flowsKey     = []byte("\n  \"flows\": []")
	ruleFlowsKey = []byte("\n      \"flows\": []")
)

// ruleFlowsPiece is how many of a rule's flows JSON writes at a time.
const ruleFlowsPiece = 4096

// JSON writes the report as indented JSON, with the bytes
// json.MarshalIndent gives for the whole report (Build). The head is
// encoded by encoding/json without its problems, its flows and the rules'
// lists of flows; those are appended into the places their lists take,
// the problems (by jsonw) and the flows by the CPUs in chunks (inOrder),
// the rules' lists of flows as numbers: encoding/json builds a
// document in memory, twice over to indent it, which for a million flows
// meant gigabytes, reflected over every field of 100,000 flows for two
// thirds of the report's time, and, for the rules' lists (a line for every
// flow), grew and indented a buffer of megabytes before the first flow
// could be written.
func JSON(w io.Writer, res *match.Result) error {
	fs := res.Findings(res.Problems())
	hr := buildHead(res, nil)
	ruleFlows := make([][]int, len(hr.Rules))
	for k := range hr.Rules {
		ruleFlows[k], hr.Rules[k].Flows = hr.Rules[k].Flows, []int{}
	}
	head, err := json.MarshalIndent(hr, "", "  ")
	if err != nil {
		return err
	}
	pat := bytes.Index(head, problemsKey)
	fat := bytes.Index(head, flowsKey)
	if pat < 0 || fat < pat {
		return errors.New("report: no problems or flows list in the encoded report") // a renamed field
	}
	pat += len(problemsKey) - 1 // before the closing bracket
	fat += len(flowsKey) - 1
	// Where each rule's flows list goes, between the problems and the
	// flows, in the rules' order: before its "[]".
	rat := make([]int, len(ruleFlows))
	at := pat
	for k := range rat {
		i := bytes.Index(head[at:fat], ruleFlowsKey)
		if i < 0 {
			return errors.New("report: a rule's flows list is not in the encoded report") // a renamed field
		}
		rat[k] = at + i + len(ruleFlowsKey) - 2
		at = rat[k] + 2
	}
	if bytes.Contains(head[at:fat], ruleFlowsKey) {
		return errors.New("report: more flows lists than rules in the encoded report")
	}
	bw := bufio.NewWriter(w)
	bw.Write(head[:pat])
	if len(fs.List) > 0 {
		// Worded by the CPUs, as SARIF's results: when every flow is a
		// problem, wording them is most of the report's time.
		err := inOrder(bw, len(fs.List), 0, newFlowScratch, func(b []byte, i int, s *flowScratch) []byte {
			return appendProblemJSON(b, res, &fs.List[i], i, s)
		})
		if err != nil {
			return err
		}
		bw.WriteString("\n  ")
	}
	at = pat
	var b []byte
	for k, flows := range ruleFlows {
		bw.Write(head[at:rat[k]])
		at = rat[k] + 2
		if len(flows) == 0 {
			bw.WriteString("[]")
			continue
		}
		// A list can be a line for every flow: written in pieces through
		// a buffer of a few pages, not built whole in fresh memory.
		sep := byte('[')
		for len(flows) > 0 {
			n := min(len(flows), ruleFlowsPiece)
			b = appendInts(append(b[:0], sep), 8, flows[:n])
			bw.Write(b)
			flows, sep = flows[n:], ','
		}
		bw.WriteString("\n      ]")
	}
	bw.Write(head[at:fat])
	if len(res.Flows) > 0 {
		err := inOrder(bw, len(res.Flows), jsonFlowBytes, newFlowScratch, func(b []byte, i int, s *flowScratch) []byte {
			return appendFlowJSON(b, res, fs, i, s)
		})
		if err != nil {
			return err
		}
		bw.WriteString("\n  ")
	}
	bw.Write(head[fat:])
	bw.WriteByte('\n') // as json.Encoder ends a value
	return bw.Flush()
}

// appendProblemJSON appends p, problem i, as an element of the "problems"
// list, as json.MarshalIndent writes buildHead's Problem.
func appendProblemJSON(b []byte, res *match.Result, p *match.Finding, i int, s *flowScratch) []byte {
	j := &s.j
	j.b, j.base, j.depth = b, 4, 0
	j.empty[0] = i == 0
	j.elem()
	j.open('{')
	j.str("kind", p.Kind.String())
	j.bool("fails", p.Fails)
	if p.Rule != nil {
		j.str("rule", s.ruleID(p.Rule))
	} else {
		j.null("rule")
	}
	if p.Flow >= 0 {
		j.key("flow")
		j.b = strconv.AppendInt(j.b, int64(p.Flow), 10)
	} else {
		j.null("flow")
	}
	j.uint("count", uint64(p.Flows))
	j.str("text", findingText(res, p))
	j.close('}')
	return j.b
}

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

// How the empty top-level problems and flows lists read in indented JSON.
var (
	problemsKey = []byte("\n  \"problems\": []")
	flowsKey    = []byte("\n  \"flows\": []")
)

// JSON writes the report as indented JSON, with the bytes
// json.MarshalIndent gives for the whole report (Build). The head is
// encoded by encoding/json without its problems and flows; those are
// appended one at a time by jsonw (problems) and by the CPUs in chunks
// (flows, inOrder) into the places their lists take: encoding/json builds
// a document in memory, twice over to indent it, which for a million flows
// meant gigabytes, and reflected over every field of 100,000 flows for two
// thirds of the report's time.
func JSON(w io.Writer, res *match.Result) error {
	fs := res.Findings(res.Problems())
	hr := buildHead(res, nil)
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
	bw := bufio.NewWriter(w)
	bw.Write(head[:pat])
	if len(fs.List) > 0 {
		j := jsonw{base: 4}
		for i := range fs.List {
			j.b = j.b[:0]
			j.empty[0] = i == 0
			appendProblemJSON(&j, res, &fs.List[i])
			bw.Write(j.b)
		}
		bw.WriteString("\n  ")
	}
	bw.Write(head[pat:fat])
	if len(res.Flows) > 0 {
		err := inOrder(bw, len(res.Flows), 0, newFlowScratch, func(b []byte, i int, s *flowScratch) []byte {
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

// appendProblemJSON appends p as an element of the "problems" list, as
// json.MarshalIndent writes buildHead's Problem.
func appendProblemJSON(j *jsonw, res *match.Result, p *match.Finding) {
	j.depth = 0
	j.elem()
	j.open('{')
	j.str("kind", p.Kind.String())
	j.bool("fails", p.Fails)
	if p.Rule != nil {
		j.str("rule", p.Rule.ID())
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
}

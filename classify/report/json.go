package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/wirecheck/wirecheck/classify/match"
)

// flowsKey is how the empty top-level flows list reads in indented JSON.
var flowsKey = []byte("\n  \"flows\": []")

// JSON writes the report as indented JSON. The flows are encoded one at a
// time into the place the top-level "flows" list takes, with the same
// bytes json.MarshalIndent gives for the whole report: encoding/json
// builds a document in memory, twice over to indent it, which for a
// million flows meant gigabytes.
func JSON(w io.Writer, res *match.Result) error {
	fs := res.Findings(res.Problems())
	head, err := json.MarshalIndent(buildHead(res, fs.List), "", "  ")
	if err != nil {
		return err
	}
	at := bytes.Index(head, flowsKey)
	if at < 0 {
		return errors.New("report: no flows list in the encoded report") // a renamed field
	}
	at += len(flowsKey) - 1 // before the closing bracket
	bw := bufio.NewWriter(w)
	bw.Write(head[:at])
	if len(res.Flows) > 0 {
		var buf bytes.Buffer
		for i := range res.Flows {
			raw, err := json.Marshal(buildFlow(&res.Flows[i], res.Obs.Tunneled, fs, i))
			if err != nil {
				return err
			}
			buf.Reset()
			if err := json.Indent(&buf, raw, "    ", "  "); err != nil {
				return err
			}
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n    ")
			bw.Write(buf.Bytes())
		}
		bw.WriteString("\n  ")
	}
	bw.Write(head[at:])
	bw.WriteByte('\n') // as json.Encoder ends a value
	return bw.Flush()
}

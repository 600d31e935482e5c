package report

import (
	"encoding/json"
	"io"

	"github.com/wirecheck/wirecheck/classify/match"
)

// JSON writes the report as indented JSON.
func JSON(w io.Writer, res *match.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Build(res))
}

package drift

import (
	"io"

	"github.com/wirecheck/wirecheck/internal/textout"
)

// formats are the diff formats, in the order to list them.
var formats = textout.FormatsOf("diff",
	textout.Named("text", (*Diff).Text),
	textout.Named("json", (*Diff).JSON),
)

// Formats names the formats Write takes, in the order to list them.
func Formats() []string { return formats.Names() }

// CheckFormat says whether Write takes the format, before a run that
// ends in writing it.
func CheckFormat(format string) error { return formats.Check(format) }

// Write writes d to w in the named format: text for people, json for
// programs (schema Version).
func Write(w io.Writer, format string, d *Diff) error {
	write, err := formats.Writer(format)
	if err != nil {
		return err
	}
	return write(d, w)
}

package suggest

import (
	"io"

	"github.com/wirecheck/wirecheck/internal/textout"
)

// formats are the draft formats, in the order to list them.
var formats = textout.FormatsOf("draft",
	textout.Named("yaml", (*Draft).YAML),
	textout.Named("sg-json", (*Draft).SecurityGroupJSON),
	textout.Named("nftables", (*Draft).NFTables),
)

// Formats names the formats Write takes, in the order to list them.
func Formats() []string { return formats.Names() }

// CheckFormat says whether Write takes the format, before a run that
// ends in writing it.
func CheckFormat(format string) error { return formats.Check(format) }

// Write writes d to w in the named format: yaml (a profile), sg-json
// (security-group permissions) or nftables (a ruleset).
func Write(w io.Writer, format string, d *Draft) error {
	write, err := formats.Writer(format)
	if err != nil {
		return err
	}
	return write(d, w)
}

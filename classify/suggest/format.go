package suggest

import (
	"fmt"
	"io"
	"strings"
)

// writers are the draft formats by name.
var writers = map[string]func(*Draft, io.Writer) error{
	"yaml":     (*Draft).YAML,
	"sg-json":  (*Draft).SecurityGroupJSON,
	"nftables": (*Draft).NFTables,
}

// Formats names the formats Write takes, in the order to list them.
func Formats() []string { return []string{"yaml", "sg-json", "nftables"} }

// CheckFormat says whether Write takes the format, before a run that
// ends in writing it.
func CheckFormat(format string) error {
	if _, ok := writers[format]; !ok {
		return fmt.Errorf("no draft format %q: use one of %s", format, strings.Join(Formats(), ", "))
	}
	return nil
}

// Write writes d to w in the named format: yaml (a profile), sg-json
// (security-group permissions) or nftables (a ruleset).
func Write(w io.Writer, format string, d *Draft) error {
	write, ok := writers[format]
	if !ok {
		return CheckFormat(format)
	}
	return write(d, w)
}

package drift

import (
	"fmt"
	"io"
	"strings"
)

// writers are the diff formats by name.
var writers = map[string]func(*Diff, io.Writer) error{
	"text": (*Diff).Text,
	"json": (*Diff).JSON,
}

// Formats names the formats Write takes, in the order to list them.
func Formats() []string { return []string{"text", "json"} }

// CheckFormat says whether Write takes the format, before a run that
// ends in writing it.
func CheckFormat(format string) error {
	if _, ok := writers[format]; !ok {
		return fmt.Errorf("no diff format %q: use one of %s", format, strings.Join(Formats(), ", "))
	}
	return nil
}

// Write writes d to w in the named format: text for people, json for
// programs (schema Version).
func Write(w io.Writer, format string, d *Diff) error {
	write, ok := writers[format]
	if !ok {
		return CheckFormat(format)
	}
	return write(d, w)
}

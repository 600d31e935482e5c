package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/wirecheck/wirecheck/classify/match"
)

// writers are the formats by name.
var writers = map[string]func(io.Writer, *match.Result) error{
	"text":     Text,
	"json":     JSON,
	"markdown": Markdown,
	"junit":    JUnit,
	"html":     HTML,
	"sarif":    SARIF,
}

// Formats names the formats Write takes, in the order to list them.
func Formats() []string {
	return []string{"text", "json", "markdown", "junit", "html", "sarif"}
}

// CheckFormat says whether Write takes the format, before a run that
// ends in writing it.
func CheckFormat(format string) error {
	if _, ok := writers[format]; !ok {
		return fmt.Errorf("no report format %q: use one of %s", format, strings.Join(Formats(), ", "))
	}
	return nil
}

// Write writes res to w in the named format. width, when positive, is the
// width of the terminal w is: the text format then fits its lines to it
// (TextWidth); files and pipes get the wide layout, a line per flow.
func Write(w io.Writer, format string, res *match.Result, width int) error {
	write, ok := writers[format]
	if !ok {
		return CheckFormat(format)
	}
	if format == "text" && width > 0 {
		write = func(w io.Writer, res *match.Result) error { return TextWidth(w, res, width) }
	}
	// Buffered: the text report's table writer writes each cell on its
	// own, which unbuffered was a system call per cell.
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := write(bw, res); err != nil {
		return err
	}
	return bw.Flush()
}

package report

import (
	"bufio"
	"io"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// formats are the report formats, in the order to list them.
var formats = textout.FormatsOf("report",
	textout.Named("text", Text),
	textout.Named("json", JSON),
	textout.Named("markdown", Markdown),
	textout.Named("junit", JUnit),
	textout.Named("html", HTML),
	textout.Named("sarif", SARIF),
)

// Formats names the formats Write takes, in the order to list them.
func Formats() []string { return formats.Names() }

// CheckFormat says whether Write takes the format, before a run that
// ends in writing it.
func CheckFormat(format string) error { return formats.Check(format) }

// Write writes res to w in the named format. width, when positive, is the
// width of the terminal w is: the text format then fits its lines to it
// (TextWidth); files and pipes get the wide layout, a line per flow.
func Write(w io.Writer, format string, res *match.Result, width int) error {
	write, err := formats.Writer(format)
	if err != nil {
		return err
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

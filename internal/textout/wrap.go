package textout

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"golang.org/x/term"
)

// Wrapper is an io.Writer that wraps each line it is given to Width
// columns (runes) before writing it on: a line breaks at its last space
// that fits, or within a word longer than the line (a long host name
// must not push the terminal's edge). A continuation line is indented as
// far as the line's text starts: past its leading spaces and a list
// marker ("  3. ", "  - ") or a first column ("  expected     "), or two
// spaces for a line that starts at the margin. Call Flush after the last line if it may lack its newline.
type Wrapper struct {
	W     io.Writer
	Width int
	line  []byte
	out   []byte
}

func (wr *Wrapper) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			wr.line = append(wr.line, p...)
			break
		}
		wr.line = append(wr.line, p[:i]...)
		wr.out = AppendWrapped(wr.out, wr.line, wr.Width)
		wr.line = wr.line[:0]
		p = p[i+1:]
		if len(wr.out) > 32<<10 {
			if err := wr.flushOut(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (wr *Wrapper) flushOut() error {
	_, err := wr.W.Write(wr.out)
	wr.out = wr.out[:0]
	return err
}

// Flush writes what is held, a last line without its newline included.
func (wr *Wrapper) Flush() error {
	if len(wr.line) > 0 {
		wr.out = AppendWrapped(wr.out, wr.line, wr.Width)
		wr.out = wr.out[:len(wr.out)-1] // the line had no newline
		wr.line = wr.line[:0]
	}
	return wr.flushOut()
}

// AppendWrapped appends line (without its newline) wrapped to width
// columns, each output line ending in a newline.
func AppendWrapped(b, line []byte, width int) []byte {
	if width <= 0 || utf8.RuneCount(line) <= width {
		return append(append(b, line...), '\n')
	}
	width = max(width, 20) // room for text past any indent
	indent := hangingIndent(line)
	if indent > width/2 {
		indent = 2
	}
	first := true
	for len(line) > 0 {
		room := width
		if !first {
			room -= indent
			for range indent {
				b = append(b, ' ')
			}
		}
		if utf8.RuneCount(line) <= room {
			b = append(append(b, line...), '\n')
			break
		}
		// cut is the byte offset of the room-th rune; brk the last space
		// at or before it, past the line's own indentation.
		cut, runes := 0, 0
		for cut < len(line) && runes < room {
			_, size := utf8.DecodeRune(line[cut:])
			cut += size
			runes++
		}
		start := 0
		if first {
			start = indent
		}
		brk := bytes.LastIndexByte(line[:min(cut+1, len(line))], ' ')
		if brk <= start {
			brk = cut // a word longer than the room: split it
		}
		b = append(append(b, bytes.TrimRight(line[:brk], " ")...), '\n')
		line = bytes.TrimLeft(line[brk:], " ")
		first = false
	}
	return b
}

// hangingIndent is where a line's text starts: after its leading spaces
// and a list marker ("3. ", "- ", "[3] ") or a first column (a word and two or
// more spaces); 2 for a line at the margin.
func hangingIndent(line []byte) int {
	i := 0
	for i < len(line) && line[i] == ' ' {
		i++
	}
	j := i
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	switch {
	case j > i && j+1 < len(line) && line[j] == '.' && line[j+1] == ' ':
		return j + 2
	case j == i && i+1 < len(line) && line[i] == '-' && line[i+1] == ' ':
		return i + 2
	case j == i && i < len(line) && line[i] == '[':
		// A note's number: "[3] ".
		if k := bytes.Index(line[i:], []byte("] ")); k > 0 && k < 6 {
			return i + k + 2
		}
	}
	// A first column ("  expected     tcp ..."): its word, then two or
	// more spaces.
	if w := bytes.IndexByte(line[i:], ' '); i > 0 && w > 0 && i+w+1 < len(line) && line[i+w+1] == ' ' {
		k := i + w
		for k < len(line) && line[k] == ' ' {
			k++
		}
		return k
	}
	if i == 0 {
		return 2
	}
	return i
}

// TerminalWidth returns the columns to lay text out in for w: 0 (no
// limit) unless w is a terminal, and then COLUMNS when it is a number, else
// the terminal's width, else 80.
func TerminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if n, _, err := term.GetSize(int(f.Fd())); err == nil && n > 0 {
		return n
	}
	return 80
}

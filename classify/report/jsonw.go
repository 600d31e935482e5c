package report

import (
	"strconv"
	"unicode/utf8"
)

// jsonw appends indented JSON with the bytes json.MarshalIndent would
// write for the same values (two-space indent after a prefix of base
// spaces), for the values streamed one at a time that are not a flow (a
// problem, a flow's related object): encoding/json reflects over every
// field and indents in a second pass, which for 100,000 flows was two
// thirds of a JSON report's time. The flows themselves, nearly all of the
// bytes, are written with constant openings (appendFlowJSON). Its zero
// value writes at the left margin.
type jsonw struct {
	b     []byte
	base  int
	depth int
	// empty[d] is set while the container open at depth d has no member.
	empty [8]bool
}

func (j *jsonw) newline() {
	j.b = append(j.b, '\n')
	n := j.base + 2*j.depth
	for n > len(spaces) {
		j.b = append(j.b, spaces...)
		n -= len(spaces)
	}
	j.b = append(j.b, spaces[:n]...)
}

// open starts an object ('{') or a list ('[').
func (j *jsonw) open(c byte) {
	j.b = append(j.b, c)
	j.depth++
	j.empty[j.depth] = true
}

// close ends the container open, with c ('}' or ']').
func (j *jsonw) close(c byte) {
	j.depth--
	if !j.empty[j.depth+1] {
		j.newline()
	}
	j.b = append(j.b, c)
}

// elem starts a member of the open list.
func (j *jsonw) elem() {
	if !j.empty[j.depth] {
		j.b = append(j.b, ',')
	}
	j.empty[j.depth] = false
	j.newline()
}

// key starts a member of the open object; k needs no escaping.
func (j *jsonw) key(k string) {
	j.elem()
	j.b = append(j.b, '"')
	j.b = append(j.b, k...)
	j.b = append(j.b, `": `...)
}

func (j *jsonw) str(k, v string) { j.key(k); j.b = appendJSONString(j.b, v) }
func (j *jsonw) uint(k string, v uint64) {
	j.key(k)
	j.b = strconv.AppendUint(j.b, v, 10)
}
func (j *jsonw) bool(k string, v bool) { j.key(k); j.b = strconv.AppendBool(j.b, v) }
func (j *jsonw) null(k string)         { j.key(k); j.b = append(j.b, "null"...) }

// strs writes a list of strings.
func (j *jsonw) strs(k string, vs []string) {
	j.key(k)
	j.open('[')
	for _, v := range vs {
		j.elem()
		j.b = appendJSONString(j.b, v)
	}
	j.close(']')
}

// appendJSONString is the one place a string from a capture or a profile
// is written into streamed JSON: quoted and escaped as encoding/json
// escapes it (HTML-safe: <, > and & as \u003c..., invalid UTF-8 as
// \ufffd, U+2028 and U+2029 escaped), so that the streamed bytes are
// encoding/json's.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

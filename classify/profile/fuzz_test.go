package profile

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that any bytes either parse into a profile that keeps
// the format's promises or fail with one *Error on one line that names the
// file, line and column, within a second and 32 MB allocated (the bounds
// TestProfileBombs also holds the parser to). Seeds: the
// built-in profiles, the good profile, every bad one of TestParseErrors
// and small nesting bombs.
func FuzzParse(f *testing.F) {
	fs.WalkDir(builtinFS, "builtin", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := builtinFS.ReadFile(p)
			f.Add(b)
		}
		return nil
	})
	f.Add([]byte(good))
	for _, tc := range parseErrorTests {
		f.Add([]byte(tc.doc))
	}
	f.Add([]byte("rules: " + strings.Repeat("[", 40) + strings.Repeat("]", 40)))
	f.Add([]byte("rules:\n" + strings.Repeat("- ", 40) + "x\n"))
	f.Add([]byte("\ufeffprofile: x\nrules: [{a: [[[{b: c}]]]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		stop := watchdog(data)
		p, err := Parse("f.yaml", data)
		stop()
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; took > time.Second || alloc > 32<<20 {
			t.Fatalf("Parse of %d bytes took %v and allocated %d MB", len(data), took, alloc>>20)
		}
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %q is not a *profile.Error", err, err)
			}
			msg := err.Error()
			if pe.Pos.File != "f.yaml" || pe.Pos.Line < 1 || pe.Pos.Col < 1 || !strings.HasPrefix(msg, pe.Pos.String()+": ") {
				t.Fatalf("error %q has no file:line:column (pos %+v)", msg, pe.Pos)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error is not one line: %q", msg)
			}
			return
		}
		if !profileName.MatchString(p.Name) || p.File != "f.yaml" {
			t.Fatalf("profile name %q, file %q", p.Name, p.File)
		}
		if len(p.Rules) == 0 && len(p.Includes) == 0 {
			t.Fatal("a profile with no rules and no includes parsed")
		}
		for _, inc := range p.Includes {
			if !profileName.MatchString(inc) {
				t.Fatalf("include %q is not a profile name", inc)
			}
		}
		for _, r := range p.Rules {
			if !ident.MatchString(r.Name) || r.Protos == 0 || r.Level == 0 || r.From == "" || r.To == "" || r.Pos.Line < 1 {
				t.Fatalf("rule %+v", r)
			}
			for _, pr := range r.Ports {
				if pr.First == 0 || pr.First > pr.Last {
					t.Fatalf("rule %s: port range %+v", r.Name, pr)
				}
			}
		}
	})
}

// watchdog crashes the fuzzing process when Parse takes more than ten
// seconds, so that the fuzzer records the input (it has no per-input
// timeout of its own and would wait forever).
func watchdog(data []byte) (stop func()) {
	t := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("Parse hung on %q", data)) })
	return func() { t.Stop() }
}

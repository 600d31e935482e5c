package profile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// wantError checks that err is a one-line *Error starting with want (which
// holds file:line:column).
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want a *profile.Error", err, err)
	}
	if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q, want one line starting %q", err, want)
	}
}

// rule is a one-rule profile whose ports line is line 4; its first port is
// at column 14.
func rule(ports string) string {
	return "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: allowed,\n     ports: " + ports + "}\n"
}

func TestImpossiblePorts(t *testing.T) {
	tests := []struct{ ports, want string }{
		{"[0]", `bad.yaml:4:14: port "0": ports are numbers from 1 to 65535`},
		{"[65536]", `bad.yaml:4:14: port "65536"`},
		{"[4294967297]", `bad.yaml:4:14: port "4294967297"`},
		{"[-1]", `bad.yaml:4:14: port "-1"`},
		{"[22, \"0-10\"]", `bad.yaml:4:18: port "0-10"`},
		{"[\"20-10\"]", `bad.yaml:4:14: port range "20-10" runs backwards`},
		{"[\"1-65536\"]", `bad.yaml:4:14: port "1-65536"`},
		{"[\"1-2-3\"]", `bad.yaml:4:14: port "1-2-3"`},
		{"[\"\"]", `bad.yaml:4:14: port ""`},
		{"[http]", `bad.yaml:4:14: port "http"`},
		{"[1.5]", `bad.yaml:4:14: port "1.5"`},
	}
	for _, tc := range tests {
		t.Run(tc.ports, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(rule(tc.ports)))
			wantError(t, err, tc.want)
		})
	}
	// The edges themselves are ports.
	p, err := Parse("ok.yaml", []byte(rule(`[1, "65535", "1-65535"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Rules[0].Ports; len(got) != 3 || got[2] != (PortRange{1, 65535}) {
		t.Errorf("ports %+v", got)
	}
}

func TestWrongTypesAndUnknownKeys(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"ports mapping", rule("[{from: 1}]"), `bad.yaml:4:14: port must be a string, not a mapping`},
		{"rules scalar", "profile: x\nrules: everything\n", `bad.yaml:2:8: a rule must be a mapping, not a string`},
		{"peers list", "profile: x\npeers: [a, b]\n", `bad.yaml:2:8: peers must be a mapping, not a list`},
		{"profile list", "profile: [a]\n", `bad.yaml:1:10: profile must be a string, not a list`},
		{"include mapping", "profile: x\ninclude: {a: b}\n", `bad.yaml:2:10: include must be a string, not a mapping`},
		{"top level list", "- a\n- b\n", `bad.yaml:1:1: the profile must be a mapping, not a list`},
		{"top level scalar", "hello\n", `bad.yaml:1:1: the profile must be a mapping, not a string`},
		{"two documents", "profile: x\n---\nprofile: y\n", `bad.yaml:1:1: a profile file holds exactly one YAML document`},
		{"cidrs number", "profile: x\npeers:\n  p: {cidrs: [12]}\n", `bad.yaml:3:15: peer group p: "12" is not an address or CIDR`},
		{"unknown peer key", "profile: x\npeers:\n  p: {cidr: [10.0.0.0/8]}\n", `bad.yaml:3:7: unknown key "cidr" in peer group p`},
		{"unknown source key", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: allowed, source: {doc: d, page: 3}}\n", `bad.yaml:3:81: unknown key "page" in a source`},
		{"unknown tls key", "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: allowed, tls: {version: [1.2]}}\n", `bad.yaml:3:70: unknown key "version" in a tls condition`},
		{"repeated key", "profile: x\nprofile: y\n", `bad.yaml:2:1: mapping key "profile" already defined at [1:1]`},
		{"tag", "profile: !!str x\n", `bad.yaml:1:10: tags are not supported`},
		{"merge key", "profile: x\npeers:\n  p:\n    <<: {cidrs: [10.0.0.0/8]}\n", `bad.yaml:4:5: merge keys (<<) are not supported`},
		{"version", "version: 2\nprofile: x\n", `bad.yaml:1:10: unsupported profile format version "2"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.doc))
			wantError(t, err, tc.want)
		})
	}
}

// catalogue parses profiles for load, as a stand-in for the built-ins:
// those are fixed and cannot form cycles, so cycle detection is tested here.
func catalogue(t *testing.T, docs map[string]string) func(string) (*Profile, bool) {
	t.Helper()
	m := map[string]*Profile{}
	for name, doc := range docs {
		p, err := Parse("builtin:"+name, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		m[name] = p
	}
	return func(name string) (*Profile, bool) { p, ok := m[name]; return p, ok }
}

func TestIncludeCycle(t *testing.T) {
	cat := catalogue(t, map[string]string{
		"a": "profile: a\ninclude: [b]\n",
		"b": "profile: b\ninclude:\n  - c\n  - a\n",
		"c": "profile: c\nrules: [{name: r, from: host, to: any, proto: udp, level: allowed}]\n",
	})
	_, err := load(cat, nil, "a")
	wantError(t, err, "builtin:b:4:5: include cycle: a -> b -> a")

	// A profile including itself.
	cat = catalogue(t, map[string]string{"s": "profile: s\ninclude: [s]\n"})
	_, err = load(cat, nil, "s")
	wantError(t, err, "builtin:s:2:11: include cycle: s -> s")
}

func TestIncludeDepthBounded(t *testing.T) {
	docs := map[string]string{}
	for i := range maxIncludeDepth + 2 {
		docs[string(rune('a'+i))] = "profile: " + string(rune('a'+i)) + "\ninclude: [" + string(rune('a'+i+1)) + "]\n"
	}
	_, err := load(catalogue(t, docs), nil, "a")
	wantError(t, err, "builtin:p:2:11: includes nested more than 16 deep")
}

func TestIncludesNeverReadFiles(t *testing.T) {
	// A profile can name only built-in profiles: whatever it includes,
	// wirecheck reads no file but the ones the user named.
	user := "profile: site/x\ninclude:\n  - storage-gateway/common\n  - etc/passwd\n"
	var read []string
	readFile := func(name string) ([]byte, error) {
		read = append(read, name)
		if name == "user.yaml" {
			return []byte(user), nil
		}
		return os.ReadFile(name)
	}
	_, err := LoadWith(readFile, "user.yaml")
	wantError(t, err, `user.yaml:4:5: include "etc/passwd": no built-in profile of that name`)
	if !slices.Equal(read, []string{"user.yaml"}) {
		t.Errorf("read %q, want only the file the user named", read)
	}

	for _, inc := range []string{"../../etc/passwd", "/etc/passwd", "./x.yaml", "storage-gateway/../../../etc/passwd", "C:\\\\x", "x.yaml\\n"} {
		_, err := Parse("user.yaml", []byte("profile: site/x\ninclude: [\""+inc+"\"]\n"))
		wantError(t, err, "user.yaml:2:11: include ")
	}
}

func TestHugeProfileFile(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("profile: x\n"+strings.Repeat("#", 3<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(big)
	wantError(t, err, big+":2:262134: profile is larger than 262144 bytes")

	// An endless file costs 256 KiB, not all memory.
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err := Load("/dev/zero")
		wantError(t, err, "/dev/zero:1:262145: profile is larger than")
	}
}

// TestProfileBombs: profiles built to make the YAML parser's work explode
// (it grows with the square of the nesting, and faster than linearly with
// the tokens inside brackets) are refused or parsed within a fraction of a
// second and a few megabytes. Before the limits, 50,000 nested brackets
// in 100 KB took tens of seconds and gigabytes. Each case is also built at the most the
// token limit lets through, where the parser really runs.
func TestProfileBombs(t *testing.T) {
	// most repeats unit as often as the token limit allows.
	most := func(prefix, unit, suffix string) string {
		lo, hi := 0, MaxTokens
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if checkTokens("", []byte(prefix+strings.Repeat(unit, mid)+suffix)) == nil {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		return prefix + strings.Repeat(unit, lo) + suffix
	}
	var indent strings.Builder
	indent.WriteString("profile: x\n")
	for i := 0; indent.Len() < 100_000; i++ {
		indent.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	refused := []struct{ name, doc, want string }{
		{"brackets 50k", "rules: " + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000), "b.yaml:1:20006: profile has more than 20000 YAML tokens"},
		{"braces", "rules: " + strings.Repeat("{a: ", 50_000) + strings.Repeat("}", 50_000), "b.yaml:1:26672: profile has more than 20000 YAML tokens"},
		{"dashes", "rules:\n" + strings.Repeat("- ", 50_000) + "x\n", "b.yaml:2:39997: profile has more than 20000 YAML tokens"},
		{"brackets 33", "rules: " + strings.Repeat("[", 33) + strings.Repeat("]", 33), "b.yaml:1:39: nested more than 32 levels deep"},
		{"dashes 33", "rules:\n" + strings.Repeat("- ", 33) + "x\n", "b.yaml:2:65: nested more than 32 levels deep"},
		{"indented keys", indent.String(), "b.yaml:34:34: nested more than 32 levels deep"},
		{"wide brackets", "profile: x\nrules: [" + strings.Repeat("a,", 20_000) + "a]\n", "b.yaml:2:20003: profile has more than 20000 YAML tokens"},
	}
	accepted := []struct{ name, doc string }{
		{"nested 31, as often as allowed", most("profile: x\nrules: [", strings.Repeat("[", 30)+strings.Repeat("]", 30)+",", "a]\n")},
		{"wide brackets", most("profile: x\nrules: [", "a,", "a]\n")},
		{"wide dashes", most("profile: x\nrules:\n", "- a\n", "")},
		{"keys", most("profile: x\npeers:\n  p: {", "a: 1, ", "}\n")},
		{"rules", most("profile: x\nrules:\n", "  - {name: a, from: host, to: any, proto: tcp, level: allowed, ports: [22]}\n", "")},
		{"block rules", most("profile: x\nrules:\n", "  - name: a\n    from: host\n    to: any\n    proto: tcp\n    ports: [22]\n", "")},
		{"quoted", most("profile: x\nrules: [", "\"a\",", "\"a\"]\n")},
		{"one long string", "profile: \"" + strings.Repeat("a", MaxFileSize-20) + "\"\n"},
	}
	bounded := func(t *testing.T, doc string) error {
		t.Helper()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := Parse("b.yaml", []byte(doc))
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		// The bounds are several times what a quiet machine takes,
		// leaving room for a busy one.
		if alloc := after.TotalAlloc - before.TotalAlloc; took > time.Second || alloc > 24<<20 {
			t.Errorf("%d bytes: %v and %d MB allocated", len(doc), took, alloc>>20)
		}
		if err != nil && (len(err.Error()) > 300 || strings.Contains(err.Error(), "\n")) {
			t.Errorf("error is not one short line: %.300q", err)
		}
		return err
	}
	for _, c := range refused {
		t.Run("refused/"+c.name, func(t *testing.T) {
			wantError(t, bounded(t, c.doc), c.want)
		})
	}
	for _, c := range accepted {
		t.Run("parsed/"+c.name, func(t *testing.T) {
			// These are no valid profiles: the parser ran, and the
			// decoder said what is wrong at a position.
			err := bounded(t, c.doc)
			var pe *Error
			if !errors.As(err, &pe) || strings.Contains(err.Error(), "YAML tokens") || strings.Contains(err.Error(), "levels deep") {
				t.Errorf("want an error from the decoder, got %v", err)
			}
		})
	}
}

// TestByteOrderMark: a profile saved by an editor that writes a UTF-8
// byte-order mark parses as without it.
func TestByteOrderMark(t *testing.T) {
	p, err := Parse("bom.yaml", []byte("\ufeff"+rule("[22]")))
	if err != nil || p.Name != "x" || len(p.Rules) != 1 {
		t.Fatalf("%v %+v", err, p)
	}
}

package profiletable

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/profile"
)

// TestShowTable: to a writer that is not a terminal, a profile is the wide
// table, one line per rule, with its peer groups below it.
func TestShowTable(t *testing.T) {
	set, err := profile.Load("ecs/ssh")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Show(&b, set); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if len(lines) < 6 || !strings.HasPrefix(lines[0], "ecs/ssh — ") {
		t.Fatalf("output:\n%s", b.String())
	}
	for i, want := range [][]string{
		1: {"From", "To", "Scope", "Protocol", "Port", "Level", "How used", "Source"},
		2: {"ssh-clients", "host", "inbound", "TCP", "22 (ssh)", "required"},
		3: {"Peer groups:"},
		5: {"= 0.0.0.0/0"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
}

// TestList: a line per profile, its name first.
func TestList(t *testing.T) {
	all, err := profile.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := List(&b, all); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(all) {
		t.Fatalf("%d lines for %d profiles", len(lines), len(all))
	}
	for i, p := range all {
		if !strings.HasPrefix(lines[i], p.Name+" ") || !strings.HasSuffix(lines[i], p.Description) {
			t.Errorf("line %d %q: want %s and its description", i, lines[i], p.Name)
		}
	}
}

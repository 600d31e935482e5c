package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// shellWords splits a command line as sh does for the README's commands:
// words separated by blanks, single and double quotes kept together, a
// comment from an unquoted " #".
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == '#' && !in:
			return words
		case c == ' ' || c == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// TestREADMECommands checks every command the README shows: each
// wirecheck command names a real command with flags it takes, each make
// target exists, the binary the service section installs is the one
// `make build` writes, and the README says how to build and install.
func TestREADMECommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(string(makefile), -1) {
		targets[m[1]] = true
	}
	var lines []string
	inBlock := false
	for _, l := range strings.Split(string(readme), "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			inBlock = true
		case strings.HasPrefix(l, "```"):
			inBlock = false
		case inBlock:
			if n := len(lines); n > 0 && strings.HasSuffix(lines[n-1], "\\") {
				lines[n-1] = strings.TrimSuffix(lines[n-1], "\\") + " " + strings.TrimSpace(l)
			} else {
				lines = append(lines, l)
			}
		}
	}
	var wirecheckCmds, makeCmds int
	var built bool
	for _, line := range lines {
		for _, seg := range regexp.MustCompile(`\|\||&&|\||;`).Split(line, -1) {
			words := shellWords(seg)
			for len(words) > 0 && (words[0] == "sudo" || strings.Contains(words[0], "=")) {
				words = words[1:]
			}
			if len(words) == 0 {
				continue
			}
			// Redirections are the shell's, not the command's.
			var args []string
			for i := 1; i < len(words); i++ {
				if words[i] == ">" || words[i] == "<" || words[i] == "2>" {
					i++
					continue
				}
				args = append(args, words[i])
			}
			switch words[0] {
			case "wirecheck", "bin/wirecheck":
				wirecheckCmds++
				root := newRoot(nil, nil, nil)
				cmd, rest, err := root.Find(args)
				if err != nil {
					t.Errorf("%q: %v", seg, err)
					continue
				}
				cmd.InitDefaultHelpFlag() // as Execute does
				root.InitDefaultVersionFlag()
				if err := cmd.ParseFlags(rest); err != nil {
					t.Errorf("%q: %v", seg, err)
				} else if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil && cmd != root {
					t.Errorf("%q: %v", seg, err)
				}
				if cmd == root && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
					t.Errorf("%q: no such command", seg)
				}
			case "make":
				makeCmds++
				for _, a := range args {
					if !targets[a] {
						t.Errorf("%q: the Makefile has no target %s", seg, a)
					}
					built = built || a == "build"
				}
			case "install":
				for _, a := range args {
					if strings.HasPrefix(a, "bin/") && (!built || !strings.Contains(string(makefile), "BIN := "+a+"\n")) {
						t.Errorf("%q installs %s, which no make build before it writes", seg, a)
					}
				}
			case "go":
				if len(args) > 1 && args[0] == "install" {
					if _, err := os.Stat("../../" + args[1]); err != nil {
						t.Errorf("%q: %v", seg, err)
					}
				}
			}
		}
	}
	if wirecheckCmds < 20 || makeCmds < 4 {
		t.Errorf("found %d wirecheck and %d make commands in the README's sh blocks; did the README change shape?", wirecheckCmds, makeCmds)
	}
	for _, want := range []string{"make build ", "go install ./cmd/wirecheck ", "## Building and installing"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("the README does not show %q", want)
		}
	}
}

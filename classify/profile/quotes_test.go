package profile

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// seedDir is ../shared/seeds beside the checkout, where the seed documents
// live (outside the repository, as the capture corpus does).
func seedDir(t *testing.T) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(self), "..", "..", "..", "shared", "seeds")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("seed documents missing in CI: %v (put them at ../shared/seeds beside the checkout)", err)
		}
		t.Skipf("seed documents not available (%v)", err)
	}
	return dir
}

var quoted = regexp.MustCompile(`"([^"]{12,})"`)

// normal makes a seed's text and a note's quote comparable: Markdown
// escapes dropped, every run of white space one space.
func normal(s string) string {
	s = strings.NewReplacer(`\`, "", "’", "'").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// TestNotesQuoteTheSeed: every passage a rule's note puts in double quotes
// is in a seed document the rule cites, word for word, so a note that says
// what the document says cannot drift into what it does not.
func TestNotesQuoteTheSeed(t *testing.T) {
	dir := seedDir(t)
	docs := map[string]string{}
	all, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range all {
		for _, r := range p.Rules {
			for _, m := range quoted.FindAllStringSubmatch(r.Note, -1) {
				q := normal(m[1])
				found := false
				for _, s := range r.Sources {
					text, ok := docs[s.Doc]
					if !ok {
						b, err := os.ReadFile(filepath.Join(dir, s.Doc))
						if err != nil {
							t.Fatalf("rule %s cites %s: %v", r.ID(), s.Doc, err)
						}
						text = normal(string(b))
						docs[s.Doc] = text
					}
					found = found || strings.Contains(text, q)
				}
				if !found {
					t.Errorf("rule %s's note quotes %q, which its seed documents do not say", r.ID(), q)
				}
				n++
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d quotes in the notes: the departures should quote the seed", n)
	}
}

// TestEveryRuleCitesARow: every built-in rule cites a row of a seed
// document's table (the seed tests then hold it to that row).
func TestEveryRuleCitesARow(t *testing.T) {
	seeds := map[string]bool{seedSGW: true, seedDataSync: true, seedS3: true, seedECS: true, seedSGWSec: true}
	all, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		for _, r := range p.Rules {
			ok := false
			for _, s := range r.Sources {
				ok = ok || seeds[s.Doc] && s.Table != "" && s.Row != ""
			}
			if !ok {
				t.Errorf("rule %s cites no row of a seed table: %v", r.ID(), r.Sources)
			}
		}
	}
}

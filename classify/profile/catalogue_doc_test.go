package profile

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestCatalogueDocListsEveryProfile keeps CATALOGUE.md (which the README
// links) in step with the built-in profiles: every one listed, none invented.
func TestCatalogueDocListsEveryProfile(t *testing.T) {
	doc, err := os.ReadFile("CATALOGUE.md")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9/-]+)` \\|").FindAllSubmatch(doc, -1) {
		listed = append(listed, string(m[1]))
	}
	all, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if !slices.Contains(listed, p.Name) {
			t.Errorf("CATALOGUE.md does not list %s", p.Name)
		}
	}
	for _, name := range listed {
		if _, ok := Builtin(name); !ok {
			t.Errorf("CATALOGUE.md lists %s, which is not a built-in profile", name)
		}
	}
}

package classify

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestDocListsSubpackages holds the list of sub-packages in doc.go to the
// tree: one line per directory that holds a package, none for one that is
// gone.
func TestDocListsSubpackages(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^//   - ([a-z0-9]+) `).FindAllSubmatch(doc, -1) {
		listed = append(listed, string(m[1]))
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var tree []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if gos, _ := filepath.Glob(filepath.Join(e.Name(), "*.go")); len(gos) > 0 {
			tree = append(tree, e.Name())
		}
	}
	if len(tree) == 0 {
		t.Fatal("no sub-packages found: the test is not reading the tree")
	}
	for _, d := range tree {
		if !slices.Contains(listed, d) {
			t.Errorf("classify/%s is not listed in doc.go's sub-packages", d)
		}
	}
	for _, d := range listed {
		if !slices.Contains(tree, d) {
			t.Errorf("doc.go lists %s, which is not a sub-package of classify", d)
		}
	}
}

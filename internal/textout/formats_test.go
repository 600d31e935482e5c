package textout

import (
	"slices"
	"testing"
)

// TestFormats: the names come in the order given, a name finds its own
// writer, and an unknown one is refused in the words every writer
// package uses, listing the names there are.
func TestFormats(t *testing.T) {
	fs := FormatsOf("draft", Named("yaml", 1), Named("sg-json", 2), Named("nftables", 3))
	if got := fs.Names(); !slices.Equal(got, []string{"yaml", "sg-json", "nftables"}) {
		t.Errorf("Names() = %q", got)
	}
	for i, name := range fs.Names() {
		if w, err := fs.Writer(name); err != nil || w != i+1 {
			t.Errorf("Writer(%q) = %d, %v; want %d", name, w, err, i+1)
		}
	}
	const want = `no draft format "json": use one of yaml, sg-json, nftables`
	if w, err := fs.Writer("json"); err == nil || err.Error() != want || w != 0 {
		t.Errorf("Writer(json) = %d, %v; want 0, %q", w, err, want)
	}
	if err := fs.Check("json"); err == nil || err.Error() != want {
		t.Errorf("Check(json) = %v, want %q", err, want)
	}
	if err := fs.Check("sg-json"); err != nil {
		t.Errorf("Check(sg-json) = %v", err)
	}
}

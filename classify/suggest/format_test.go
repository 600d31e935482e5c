package suggest

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestWriteFormats: Write writes each format Formats lists exactly as the
// Draft's own writer does, and refuses a format it does not list.
func TestWriteFormats(t *testing.T) {
	d := draft(t, testobs.File(t, filepath.Join(captures, "filegw-faulty.pcap")))
	own := map[string]func(*Draft, io.Writer) error{"yaml": (*Draft).YAML, "sg-json": (*Draft).SecurityGroupJSON, "nftables": (*Draft).NFTables}
	if got := Formats(); !slices.Equal(got, []string{"yaml", "sg-json", "nftables"}) {
		t.Fatalf("Formats() = %q", got)
	}
	for _, f := range Formats() {
		var got, want bytes.Buffer
		if err := CheckFormat(f); err != nil {
			t.Errorf("CheckFormat(%q): %v", f, err)
		}
		if err := Write(&got, f, d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := own[f](d, &want); err != nil {
			t.Fatal(err)
		}
		if got.Len() == 0 || !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: Write wrote %d bytes, the Draft's writer %d, or they differ", f, got.Len(), want.Len())
		}
	}
	var b bytes.Buffer
	const wantErr = `no draft format "json": use one of yaml, sg-json, nftables`
	if err := Write(&b, "json", d); err == nil || err.Error() != wantErr || b.Len() != 0 {
		t.Errorf("Write(json) = %v with %d bytes, want %q and nothing written", err, b.Len(), wantErr)
	}
}

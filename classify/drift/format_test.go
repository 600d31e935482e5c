package drift

import (
	"bytes"
	"io"
	"slices"
	"testing"
)

// TestWriteFormats: Write writes each format Formats lists exactly as the
// Diff's own writer does, and refuses a format it does not list.
func TestWriteFormats(t *testing.T) {
	d := Compare("good", analyse(t, "filegw-conformant.pcapng"), "bad", analyse(t, "filegw-faulty.pcap"))
	own := map[string]func(*Diff, io.Writer) error{"text": (*Diff).Text, "json": (*Diff).JSON}
	if got := Formats(); !slices.Equal(got, []string{"text", "json"}) {
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
			t.Errorf("%s: Write wrote %d bytes, the Diff's writer %d, or they differ", f, got.Len(), want.Len())
		}
	}
	var b bytes.Buffer
	const wantErr = `no diff format "html": use one of text, json`
	if err := Write(&b, "html", d); err == nil || err.Error() != wantErr || b.Len() != 0 {
		t.Errorf("Write(html) = %v with %d bytes, want %q and nothing written", err, b.Len(), wantErr)
	}
}

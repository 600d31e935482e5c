package suggest

import "testing"

func TestDraftName(t *testing.T) {
	for in, want := range map[string]string{
		"captures/gw-1.pcapng":   "draft/gw-1",
		"/tmp/Site A.pcap.gz":    "draft/site-a",
		"-":                      "draft/observed",
		"x/__.pcap":              "draft/observed",
		"filegw-conformant.pcap": "draft/filegw-conformant",
	} {
		if got := DraftName(in); got != want {
			t.Errorf("DraftName(%q) = %q, want %q", in, got, want)
		}
	}
}

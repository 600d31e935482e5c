package profile

import (
	"strings"
	"testing"
)

func TestParseOverlay(t *testing.T) {
	const ok = "profile: x\nrules:\n  - {name: a, from: host, to: any, proto: tcp, level: discouraged, overlay: true}\n"
	p, err := Parse("ok.yaml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Rules[0].Overlay {
		t.Error("overlay: true was not recorded")
	}
	// An allowed or required overlay would do nothing (or make a stray flow
	// required), so the parser says what to use instead.
	for _, level := range []string{"allowed", "required"} {
		doc := "profile: x\nrules:\n  - name: a\n    from: host\n    to: any\n    proto: tcp\n    level: " + level + "\n    overlay: true\n"
		_, err := Parse("bad.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), "bad.yaml:8:14: rule a: an overlay rule") || !strings.Contains(err.Error(), "use level discouraged or forbidden") {
			t.Errorf("level %s: error %v", level, err)
		}
	}
}

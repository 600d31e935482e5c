package kernel

import "testing"

func TestParseRelease(t *testing.T) {
	for rel, want := range map[string][2]int{
		"6.18.44-fc-v769": {6, 18},
		"5.4.0":           {5, 4},
		"6.6-rc1":         {6, 6},
		"4.19.0-26-amd64": {4, 19},
	} {
		got, err := ParseRelease(rel)
		if err != nil || got != want {
			t.Errorf("ParseRelease(%q) = %v, %v; want %v", rel, got, err, want)
		}
	}
	for _, bad := range []string{"", "6", "x.y"} {
		if _, err := ParseRelease(bad); err == nil {
			t.Errorf("ParseRelease(%q) accepted", bad)
		}
	}
}

func TestAtLeast(t *testing.T) {
	if !AtLeast([2]int{6, 18}, 5, 12) || !AtLeast([2]int{5, 12}, 5, 12) || AtLeast([2]int{5, 11}, 5, 12) || AtLeast([2]int{4, 19}, 5, 0) {
		t.Error("AtLeast is wrong")
	}
}

func TestVersion(t *testing.T) {
	v, err := Version()
	if err != nil || v[0] < 3 {
		t.Errorf("Version() = %v, %v", v, err)
	}
}

package profile

import (
	"slices"
	"strings"
	"testing"
)

func relatedRule(related, extra string) string {
	return `version: 1
profile: t/related
rules:
  - name: ctl
    from: any
    to: host
    proto: tcp
    ports: [21]
    level: allowed
` + extra + `    related: ` + related + "\n"
}

func TestRelatedParse(t *testing.T) {
	for _, tc := range []struct {
		related string
		want    []string
		rpc     map[uint32]bool
	}{
		{"[ftp]", []string{"ftp"}, map[uint32]bool{100005: false}},
		{"[rpc]", []string{"rpc"}, map[uint32]bool{100005: true, 100021: true}},
		{"[rpc:mountd, \"rpc:100021\", epm]", []string{"rpc:mountd", "rpc:nlockmgr", "epm"}, map[uint32]bool{100005: true, 100021: true, 100024: false}},
		{"[rpc:status, rpc]", []string{"rpc"}, map[uint32]bool{100003: true}},
	} {
		p, err := Parse("t.yaml", []byte(relatedRule(tc.related, "")))
		if err != nil {
			t.Fatalf("%s: %v", tc.related, err)
		}
		rel := p.Rules[0].Related
		if rel == nil || !slices.Equal(rel.Strings(), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.related, rel, tc.want)
			continue
		}
		for prog, want := range tc.rpc {
			if rel.AllowsRPC(prog) != want {
				t.Errorf("%s: AllowsRPC(%d) = %v, want %v", tc.related, prog, !want, want)
			}
		}
	}
}

func TestRelatedErrors(t *testing.T) {
	for _, tc := range []struct {
		related, extra, want string
	}{
		{"[tftp]", "", `t.yaml:10:15: related "tftp": use ftp, rpc, rpc:PROGRAM or epm`},
		{"[rpc:bogus]", "", `related "rpc:bogus": name an RPC program by number`},
		{"[\"rpc:0\"]", "", `related "rpc:0"`},
		{"[ftp:passive]", "", `related "ftp:passive": use ftp`},
		{"[]", "", "related needs a list"},
		{"[ftp]", "    overlay: true\n", "overlay"}, // level allowed with overlay fails first
	} {
		_, err := Parse("t.yaml", []byte(relatedRule(tc.related, tc.extra)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("related %s: error %v, want one containing %q", tc.related, err, tc.want)
		}
	}
	forbidden := strings.Replace(relatedRule("[ftp]", ""), "level: allowed", "level: forbidden", 1)
	if _, err := Parse("t.yaml", []byte(forbidden)); err == nil || !strings.Contains(err.Error(), "forbidden rule cannot have related") {
		t.Errorf("forbidden rule with related: error %v", err)
	}
}

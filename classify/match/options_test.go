package match

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/profile"
)

// TestNewRefusesOptions: New refuses a peer group, phase or region the
// profiles cannot mean with an *OptionError naming the Options field, in
// the library's terms (the command line names its flags).
func TestNewRefusesOptions(t *testing.T) {
	set, err := profile.Load("storage-gateway/file-nfs")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts  Options
		field string
		says  string
	}{
		{Options{Peers: map[string][]netip.Prefix{"nfs-clientz": {netip.MustParsePrefix("10.0.0.0/24")}}}, "Peers", "nfs-clientz: no profile defines a peer group of that name (groups: "},
		{Options{Phase: "Activation"}, "Phase", "Activation: use one of activation, operation"},
		{Options{Region: "US East"}, "Region", `"US East": not an AWS Region code`},
	} {
		_, err := New(set, tc.opts)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Field != tc.field || !strings.HasPrefix(oe.Detail, tc.says) {
			t.Errorf("%+v: %v, want an OptionError for %s saying %q", tc.opts, err, tc.field, tc.says)
			continue
		}
		if !strings.HasPrefix(err.Error(), "Options."+tc.field+" ") || strings.Contains(err.Error(), "--") {
			t.Errorf("%+v: %q names a flag, or not the field", tc.opts, err)
		}
	}
	if _, err := New(set, Options{Phase: "activation", Region: "us-east-1"}); err != nil {
		t.Errorf("good options refused: %v", err)
	}
}

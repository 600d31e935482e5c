package main

import (
	"path/filepath"
	"testing"
)

// TestFlagErrorWording: an option an action refuses in its own terms
// reaches the user as the flag that set it, one line, exit status 2; these
// are the refusals no other command test words in full.
func TestFlagErrorWording(t *testing.T) {
	good := filepath.Join(captures, "filegw-conformant.pcapng")
	p := "storage-gateway/file-nfs"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyse", "-p", p, "--tunnels", "maybe", good}, `wirecheck: --tunnels "maybe": want auto or off` + "\n"},
		{[]string{"analyse", "-p", p, "--max-flows", "-1", good}, "wirecheck: --max-flows -1: use a positive number, or 0 for no limit\n"},
		{[]string{"analyse", good}, "wirecheck: no profile: name one with -p (list them with: wirecheck profiles)\n"},
		{[]string{"suggest", "--collapse6", "129", good}, "wirecheck: --collapse must be 1 to 32 and --collapse6 1 to 128\n"},
		{[]string{"watch", "-i", "lo", "-p", p, "--host", "127.0.0.1", "--idle", "-1s"}, "wirecheck: --idle must not be negative\n"},
		{[]string{"watch", "-i", "lo", "-p", p, "--host", "127.0.0.1", "--report-dir", t.TempDir(), "--report-every", "1ms"}, "wirecheck: --report-every must be at least 1s and --report-keep at least 1\n"},
		{[]string{"watch", "-i", "lo", "--interval", "0s"}, "wirecheck: --interval 0s: use a positive duration, e.g. 10s\n"},
	} {
		_, stderr, code := wirecheck(t, nil, tc.args...)
		if code != exitError || stderr != tc.want {
			t.Errorf("%q: exit %d stderr %q, want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

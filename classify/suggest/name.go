package suggest

import (
	"path/filepath"
	"strings"
)

// DraftName makes a profile name of a capture file's name:
// "captures/gw-1.pcapng" gives "draft/gw-1"; a name with nothing usable
// (or standard input, "-") gives DefaultName.
func DraftName(file string) string {
	base := strings.ToLower(filepath.Base(file))
	for _, ext := range []string{".gz", ".pcapng", ".pcap", ".cap"} {
		base = strings.TrimSuffix(base, ext)
	}
	var b strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-._")
	if s == "" || base == "-" {
		return DefaultName
	}
	return "draft/" + s
}

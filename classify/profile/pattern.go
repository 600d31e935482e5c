package profile

import (
	"fmt"
	"regexp"
	"strings"
)

// RegionParam is the placeholder for an AWS Region in host name patterns.
const RegionParam = "{region}"

// PhaseOperation is the phase after every phased rule (activation ...):
// the one a profile never names, in which phased rules are disabled.
const PhaseOperation = "operation"

// region is an AWS Region code (us-east-1, us-gov-west-1, cn-north-1):
// it goes into host name patterns and into every report's header.
var region = regexp.MustCompile(`^[a-z]{2}(-[a-z]+){1,3}-[0-9]{1,2}$`)

// CheckRegion checks a Region given to bind {region}; empty (any Region)
// is valid.
func CheckRegion(r string) error {
	if r == "" || region.MatchString(r) {
		return nil
	}
	return fmt.Errorf("%q: not an AWS Region code; use one such as us-east-1 or eu-central-1, or leave it out to match any Region", r)
}

// ValidName reports whether s may name a profile: lower-case words of
// letters, digits, '.', '_' and '-', separated by '/' (my-site/gateway).
func ValidName(s string) bool { return profileName.MatchString(s) }

var patternChars = regexp.MustCompile(`^[a-zA-Z0-9.*_-]+$`)

func checkPattern(s string) error {
	rest := strings.ReplaceAll(s, RegionParam, "r")
	if !patternChars.MatchString(rest) {
		return fmt.Errorf("name pattern %q: use host name characters, * and {region}", s)
	}
	if strings.Contains(rest, "**") || strings.HasPrefix(rest, ".") || strings.HasSuffix(rest, ".") {
		return fmt.Errorf("name pattern %q: not a host name pattern", s)
	}
	return nil
}

// NamePattern matches host names against one pattern of a peer group.
type NamePattern struct {
	Pattern string // as written in the profile
	re      *regexp.Regexp
}

// CompilePattern compiles a host name pattern. "*" matches one or more
// characters, dots included (so *.amazonaws.com covers every subdomain);
// "{region}" matches region when it is set, and any single label otherwise.
func CompilePattern(pattern, region string) NamePattern {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); {
		switch {
		case strings.HasPrefix(pattern[i:], RegionParam):
			if region != "" {
				b.WriteString(regexp.QuoteMeta(strings.ToLower(region)))
			} else {
				b.WriteString(`[a-z0-9-]+`)
			}
			i += len(RegionParam)
		case pattern[i] == '*':
			b.WriteString(`[a-z0-9_.-]+`)
			i++
		default:
			j := i + 1
			for j < len(pattern) && pattern[j] != '*' && !strings.HasPrefix(pattern[j:], RegionParam) {
				j++
			}
			b.WriteString(regexp.QuoteMeta(pattern[i:j]))
			i = j
		}
	}
	b.WriteString("$")
	return NamePattern{Pattern: pattern, re: regexp.MustCompile(b.String())}
}

// Match reports whether host (lower-case, no trailing dot) matches.
func (p NamePattern) Match(host string) bool { return p.re.MatchString(host) }

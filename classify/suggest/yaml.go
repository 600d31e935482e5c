package suggest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// YAML writes the draft as a profile in the format classify/profile reads.
// Comments at the top say how it was made and how to use it.
func (d *Draft) YAML(w io.Writer) error {
	ew := textout.Printer{Writer: bufio.NewWriter(w)}
	ew.Printf("# Draft profile written by `wirecheck suggest` from observed traffic.\n")
	ew.Printf("# It allows everything the capture showed, including what should not have\n")
	ew.Printf("# happened: read every rule, delete what is not needed, make the flows that\n")
	ew.Printf("# must happen `level: required`, and bind or widen the peer groups.\n")
	if len(d.Host) > 0 {
		hosts := textout.Prefixes(d.Host)
		if d.HostInferred {
			ew.Printf("# The host was inferred from the traffic as %s; use the profile with\n#   --host %s\n", strings.Join(hosts, ", "), strings.Join(hosts, " --host "))
		} else {
			ew.Printf("# Host: %s (use the profile with the same --host).\n", strings.Join(hosts, ", "))
		}
	}
	for _, s := range d.Skipped {
		ew.Printf("# Not drafted: %s\n", s)
	}
	ew.Printf("version: 1\n")
	ew.Printf("profile: %s\n", quote(d.Name))
	desc := "Drafted from observed traffic"
	if len(d.Inputs) > 0 {
		desc += ": " + strings.Join(d.Inputs, ", ")
	}
	ew.Printf("description: %s\n", quote(desc))
	if len(d.Includes) > 0 {
		ew.Printf("include: [%s]\n", strings.Join(quoteAll(d.Includes), ", "))
	}
	if len(d.Groups) > 0 {
		ew.Printf("\npeers:\n")
		for _, g := range d.Groups {
			ew.Printf("  %s:\n", g.Name)
			ew.Printf("    description: %s\n", quote(g.Description))
			if len(g.CIDRs) > 0 {
				ew.Printf("    cidrs: [%s]\n", strings.Join(quoteAll(textout.Prefixes(g.CIDRs)), ", "))
			}
			if len(g.Names) > 0 {
				ew.Printf("    names:\n")
				for _, n := range g.Names {
					ew.Printf("      - %s\n", quote(n))
				}
			}
			if named := namedPeers(g); named != "" {
				ew.Printf("    # seen: %s\n", named)
			}
		}
	}
	if len(d.Rules) == 0 {
		// A profile with no rules does not parse unless it includes one.
		if len(d.Includes) == 0 {
			return fmt.Errorf("nothing to draft: the capture has no port flows")
		}
		ew.Printf("\nrules: []\n")
		return ew.Flush()
	}
	ew.Printf("\nrules:\n")
	for i, r := range d.Rules {
		if i > 0 {
			ew.Printf("\n")
		}
		ew.Printf("  - name: %s\n", r.Name)
		ew.Printf("    from: %s\n", r.From)
		ew.Printf("    to: %s\n", r.To)
		ew.Printf("    proto: %s\n", r.Protos)
		if r.Protos != profile.ICMP {
			ew.Printf("    ports: [%d]\n", r.Port)
		}
		ew.Printf("    level: allowed\n")
		ew.Printf("    note: %s\n", quote(r.observed()))
	}
	return ew.Flush()
}

// namedPeers lists the addresses behind name patterns, which the profile
// itself does not keep, as a comment for the person editing it.
func namedPeers(g *Group) string {
	var parts []string
	for _, p := range g.Addrs {
		if len(p.Names) > 0 {
			parts = append(parts, fmt.Sprintf("%s = %s", strings.Join(p.Names, ", "), p.Addr))
		}
	}
	const maxShown = 8
	if len(parts) > maxShown {
		parts = append(parts[:maxShown], fmt.Sprintf("and %d more", len(parts)-maxShown))
	}
	return strings.Join(parts, "; ")
}

var plainScalar = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*$`)

// quote writes s as a YAML scalar: plain when that cannot be misread (no
// leading *, no colon, not a number), else double-quoted. JSON's escapes
// are a subset of YAML's double-quoted ones.
func quote(s string) string {
	if plainScalar.MatchString(s) && strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") && s != "true" && s != "false" && s != "null" && s != "yes" && s != "no" {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quote(s)
	}
	return out
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

// TestSuggestGolden keeps the three drafts of the conforming file gateway
// as golden files, read by a person: the profile, the security group and
// the nftables ruleset.
func TestSuggestGolden(t *testing.T) {
	capture := filepath.Join(captures, "filegw-conformant.pcapng")
	for _, c := range []struct{ format, ext string }{{"yaml", "yaml"}, {"sg-json", "sg.json"}, {"nftables", "nft"}} {
		t.Run(c.format, func(t *testing.T) {
			out, stderr, code := wirecheck(t, nil, "suggest", "--format", c.format, "--host", "10.0.0.5", capture)
			if code != 0 {
				t.Fatalf("exit %d; stderr: %s", code, stderr)
			}
			checkGolden(t, "suggest-filegw-conformant."+c.ext, out)
		})
	}
}

// TestSuggestRoundTrip is the acceptance test through the command
// line: the draft of the conforming capture, written to a file and used
// with -p, finds that capture conformant; and so for every capture.
func TestSuggestRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(captures, "*.pcap*"))
	if len(files) == 0 {
		t.Fatal("no captures")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			draft := filepath.Join(t.TempDir(), "draft.yaml")
			hosts := []string{"--host", "10.0.0.5", "--host", "fd00::5"}
			_, stderr, code := wirecheck(t, nil, append(append([]string{"suggest", "-o", draft}, hosts...), file)...)
			if code != 0 {
				t.Fatalf("suggest: exit %d: %s", code, stderr)
			}
			out, stderr, code := wirecheck(t, nil, append(append([]string{"analyse", "-p", draft}, hosts...), file)...)
			if code != exitConformant || !strings.HasPrefix(out, "CONFORMANT") {
				y, _ := os.ReadFile(draft)
				t.Fatalf("analyse with the draft: exit %d, stderr %s\n%s\ndraft:\n%s", code, stderr, out, y)
			}
		})
	}
}

// TestSuggestRoundTripTunnels: suggest reads a tunnel capture as analyse
// does with the same --host: inside the tunnel for a mirror target, the
// outer packets when the host is a tunnel end. It drafted the flows inside
// the tunnel for a tunnel end, a profile analyse then found the outer
// flows unexpected against.
func TestSuggestRoundTripTunnels(t *testing.T) {
	dir := testcorpus.Dir(t)
	for _, tc := range []struct {
		file, host string
		rule       string // a rule the draft must hold
	}{
		{"protocols/libpcap__geneve.pcap", "20.0.0.1", "proto: udp\n    ports: [6081]"},     // a tunnel end: the outer flows
		{"protocols/libpcap__geneve.pcap", "30.0.0.1", "proto: tcp\n    ports: [22]"},       // inside: the host's own flows
		{"protocols/libpcap__vxlan.pcap", "192.168.202.1", "proto: udp\n    ports: [4789]"}, // a tunnel end
	} {
		t.Run(filepath.Base(tc.file)+" "+tc.host, func(t *testing.T) {
			file := filepath.Join(dir, tc.file)
			draft := filepath.Join(t.TempDir(), "draft.yaml")
			if _, stderr, code := wirecheck(t, nil, "suggest", "-q", "--host", tc.host, "-o", draft, file); code != 0 {
				t.Fatalf("suggest: exit %d: %s", code, stderr)
			}
			y, _ := os.ReadFile(draft)
			if !strings.Contains(string(y), tc.rule) {
				t.Errorf("draft lacks %q:\n%s", tc.rule, y)
			}
			out, stderr, code := wirecheck(t, nil, "analyse", "-q", "-p", draft, "--host", tc.host, file)
			if code != exitConformant {
				t.Errorf("analyse with the draft: exit %d, stderr %s\n%s\ndraft:\n%s", code, stderr, out, y)
			}
		})
	}
}

// TestSuggestWithProfile drafts only what the profile leaves unexpected;
// with the draft the telnet and SMTP flows are expected, and what remains
// is the two faults no rule can fix: the blocked and the missing flow.
func TestSuggestWithProfile(t *testing.T) {
	file := filepath.Join(captures, "filegw-faulty.pcap")
	draft := filepath.Join(t.TempDir(), "extra.yaml")
	_, stderr, code := wirecheck(t, nil, "suggest", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "--name", "site/extra", "-o", draft, file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep, code := analyseJSON(t, "-p", draft, "--host", "10.0.0.5", file)
	if code != exitNotConformant || len(rep.Profiles) != 3 || rep.Profiles[2] != "site/extra" {
		t.Fatalf("exit %d, profiles %v", code, rep.Profiles)
	}
	var kinds []string
	for _, p := range rep.Problems {
		if p.Fails {
			kinds = append(kinds, p.Kind)
		}
	}
	if strings.Join(kinds, " ") != "blocked missing" {
		t.Errorf("problems %v, want blocked and missing only", kinds)
	}
}

// TestSuggestFormatsWithProfile: with -p, suggest's draft formats are not
// report formats, and the matcher it builds does not ask for one.
func TestSuggestFormatsWithProfile(t *testing.T) {
	file := filepath.Join(captures, "filegw-faulty.pcap")
	for format, want := range map[string][]string{
		"sg-json":  {`"Description": "telnet-in"`, `"Description": "smtp-out: mail.example.net`},
		"nftables": {`tcp dport 23 accept comment "telnet-in"`, `tcp dport 25 accept comment "smtp-out: mail.example.net"`},
	} {
		out, stderr, code := wirecheck(t, nil, "suggest", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "--format", format, file)
		for _, w := range want {
			if code != 0 || !strings.Contains(out, w) {
				t.Errorf("--format %s: exit %d, stderr %q; draft lacks %q:\n%s", format, code, stderr, w, out)
			}
		}
	}
}

func TestSuggestErrors(t *testing.T) {
	file := filepath.Join(captures, "misc.pcapng")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad format", []string{"suggest", "--format", "iptables", file}, "--format iptables: use yaml, sg-json or nftables"},
		{"peer without profile", []string{"suggest", "--peer", "x=10.0.0.1", file}, "need a profile (-p)"},
		{"bad host", []string{"suggest", "--host", "10.0.0.5/8", file}, "--host: \"10.0.0.5/8\" has host bits set"},
		{"bad host with profile", []string{"suggest", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.300", file}, "--host: \"10.0.0.300\" is not an address or CIDR"},
		{"bad peer with profile", []string{"suggest", "-p", "storage-gateway/file-nfs", "--peer", "nfs-clients=", file}, "--peer \"nfs-clients=\": use NAME=ADDR|CIDR[,ADDR|CIDR...]"},
		{"bad collapse", []string{"suggest", "--collapse", "40", file}, "--collapse must be 1 to 32"},
		{"missing capture", []string{"suggest", "nope.pcap"}, "nope.pcap: no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := wirecheck(t, nil, tc.args...)
			if code != exitError || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", code, out, stderr, tc.want)
			}
		})
	}
}

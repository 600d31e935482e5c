package suggest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

const captures = "../../testdata/captures"

// The lab host of every reference capture (testdata/captures/README.md).
var labHost = []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32"), netip.MustParsePrefix("fd00::5/128")}

func captureFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(captures, "*.pcap*"))
	if len(files) == 0 {
		t.Fatalf("no captures in %s", captures)
	}
	return files
}

// evaluate judges obs against profiles loaded from refs, where files holds
// the YAML of profiles that are not built in.
func evaluate(t *testing.T, obs *classify.Observation, files map[string][]byte, refs ...string) *match.Result {
	t.Helper()
	set, err := profile.LoadWith(func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return b, nil
		}
		return nil, fs.ErrNotExist
	}, refs...)
	if err != nil {
		t.Fatalf("the draft does not load: %v", err)
	}
	m, err := match.New(set, match.Options{Host: labHost})
	if err != nil {
		t.Fatal(err)
	}
	return m.Evaluate(obs)
}

func draft(t *testing.T, obs *classify.Observation, refs ...string) *Draft {
	t.Helper()
	var res *match.Result
	if len(refs) == 0 {
		m, err := match.New(&profile.Set{}, match.Options{Host: labHost})
		if err != nil {
			t.Fatal(err)
		}
		res = m.Evaluate(obs)
	} else {
		res = evaluate(t, obs, nil, refs...)
	}
	return Build(res, Options{})
}

// TestRoundTrip: the draft of a capture is a profile under which that same
// capture conforms, for every reference capture (the faulty ones too: the
// draft allows what was seen, faults included).
func TestRoundTrip(t *testing.T) {
	for _, file := range captureFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			obs := testobs.File(t, file)
			d := draft(t, obs)
			var y bytes.Buffer
			if err := d.YAML(&y); err != nil {
				t.Fatal(err)
			}
			res := evaluate(t, obs, map[string][]byte{"draft.yaml": y.Bytes()}, "draft.yaml")
			if res.Verdict != match.Conformant {
				for _, p := range res.Problems() {
					t.Log(report.ProblemText(res, &p))
				}
				t.Fatalf("capture does not conform to its own draft (%s):\n%s", res.Verdict, y.String())
			}
			// Every flow is decided by a drafted rule, and every rule
			// was used: the draft allows what was seen and nothing idle.
			for _, rr := range res.Rules {
				if rr.Status != match.RuleSeen {
					t.Errorf("rule %s is %s", rr.Rule.ID(), rr.Status)
				}
			}
		})
	}
}

// TestFaultyDraft checks the drafted groups of the faulty gateway by hand:
// names where DNS or SNI named the peer (with the Region generalised), the
// address where nothing did, one group for the NFS client of three services.
func TestFaultyDraft(t *testing.T) {
	d := draft(t, testobs.File(t, filepath.Join(captures, "filegw-faulty.pcap")))
	type row struct{ name, from, to, proto string }
	var got []row
	for _, r := range d.Rules {
		got = append(got, row{r.Name, r.From, r.To, r.Protos.String()})
	}
	want := []row{
		{"smtp-out", "host", "smtp-servers", "tcp"},
		{"dns-out", "host", "dns-servers", "udp"},
		{"https-out", "host", "https-servers", "tcp"},
		{"telnet-in", "telnet-clients", "host", "tcp"},
		{"http-in", "http-clients", "host", "tcp"},
		{"sunrpc-in", "clients-10-0-0-10", "host", "both"},
		{"nfs-in", "clients-10-0-0-10", "host", "tcp"},
		{"mountd-in", "clients-10-0-0-10", "host", "tcp"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("rules\n got %v\nwant %v", got, want)
	}
	groups := map[string]*Group{}
	for _, g := range d.Groups {
		groups[g.Name] = g
	}
	if g := groups["https-servers"]; g == nil || !slices.Equal(g.Names, []string{"s3.{region}.amazonaws.com", "storagegateway.{region}.amazonaws.com"}) || len(g.CIDRs) != 0 {
		t.Errorf("https-servers: %+v", g)
	}
	if g := groups["clients-10-0-0-10"]; g == nil || len(g.CIDRs) != 1 || g.CIDRs[0].String() != "10.0.0.10/32" {
		t.Errorf("NFS client group: %+v", g)
	}
	for _, r := range d.Rules {
		if r.Failed != (r.Name == "telnet-in") {
			t.Errorf("rule %s: failed = %v (only the refused telnet attempt failed every time)", r.Name, r.Failed)
		}
	}
}

// TestDraftWithProfile: against a profile, only what it leaves unexpected
// is drafted, and the draft includes the profile, so that the two together
// allow every flow (the blocked and missing rules still fail).
func TestDraftWithProfile(t *testing.T) {
	obs := testobs.File(t, filepath.Join(captures, "filegw-faulty.pcap"))
	d := draft(t, obs, "storage-gateway/file-nfs")
	var names []string
	for _, r := range d.Rules {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"smtp-out", "telnet-in"}) {
		t.Errorf("drafted %v, want the two unexpected flows", names)
	}
	var y bytes.Buffer
	if err := d.YAML(&y); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(y.String(), "include: [storage-gateway/common, storage-gateway/file-nfs]") {
		t.Errorf("draft does not include the profile:\n%s", y.String())
	}
	res := evaluate(t, obs, map[string][]byte{"extra.yaml": y.Bytes()}, "extra.yaml")
	var kinds []string
	for _, p := range res.Problems() {
		if p.Fails {
			kinds = append(kinds, p.Kind.String())
		}
	}
	if !slices.Equal(kinds, []string{"blocked", "missing"}) {
		t.Errorf("problems with the draft: %v, want only the blocked and missing rules", kinds)
	}
}

func TestCollapseNames(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"storagegateway.us-east-1.amazonaws.com"}, []string{"storagegateway.{region}.amazonaws.com"}},
		{[]string{"s3.eu-central-1.amazonaws.com", "s3.us-gov-west-1.amazonaws.com"}, []string{"s3.{region}.amazonaws.com"}},
		// three under one parent of three labels collapse; two do not
		{[]string{"a.hdfs.example.internal", "b.hdfs.example.internal", "c.hdfs.example.internal", "mail.example.net"},
			[]string{"*.hdfs.example.internal", "mail.example.net"}},
		{[]string{"a.hdfs.example.internal", "b.hdfs.example.internal"}, []string{"a.hdfs.example.internal", "b.hdfs.example.internal"}},
		// never *.amazonaws.com: a parent needs three labels
		{[]string{"ec2.amazonaws.com", "sts.amazonaws.com", "iam.amazonaws.com"}, []string{"ec2.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com"}},
		// a label that only looks like a Region stays
		{[]string{"us-east.example.com"}, []string{"us-east.example.com"}},
	}
	for _, tc := range tests {
		if got := collapseNames(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("collapseNames(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCollapseAddrs(t *testing.T) {
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	tests := []struct {
		in     []netip.Addr
		v4, v6 int
		want   string
	}{
		{addrs("10.0.0.10", "10.0.0.20", "10.0.1.5"), 24, 64, "10.0.0.0/24 10.0.1.5/32"},
		{addrs("10.0.0.10", "10.0.0.20"), 32, 64, "10.0.0.10/32 10.0.0.20/32"},
		{addrs("fd00::1", "fd00::2", "fd01::1"), 24, 64, "fd00::/64 fd01::1/128"},
		{addrs("10.0.0.10", "10.0.0.20"), 16, 64, "10.0.0.0/16"},
	}
	for _, tc := range tests {
		var got []string
		for _, p := range collapseAddrs(tc.in, tc.v4, tc.v6) {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("collapseAddrs(%v, %d, %d) = %v, want %s", tc.in, tc.v4, tc.v6, got, tc.want)
		}
	}
}

// TestSecurityGroup checks the EC2 shape: a "both" rule becomes a tcp and a
// udp permission, named peers their observed addresses, ICMP echo type 8.
func TestSecurityGroup(t *testing.T) {
	sg := draft(t, testobs.File(t, filepath.Join(captures, "filegw-faulty.pcap"))).SecurityGroup()
	perm := func(list []IpPermission, proto string, port int) *IpPermission {
		for i := range list {
			if list[i].IpProtocol == proto && list[i].FromPort == port {
				return &list[i]
			}
		}
		return nil
	}
	for _, proto := range []string{"tcp", "udp"} {
		p := perm(sg.IpPermissions, proto, 111)
		if p == nil || p.ToPort != 111 || len(p.IpRanges) != 1 || p.IpRanges[0].CidrIp != "10.0.0.10/32" {
			t.Errorf("ingress %s 111: %+v", proto, p)
		}
	}
	p := perm(sg.IpPermissionsEgress, "tcp", 443)
	if p == nil || len(p.IpRanges) != 2 || p.IpRanges[0].CidrIp != "198.51.100.10/32" ||
		!strings.Contains(p.IpRanges[0].Description, "storagegateway.us-east-1.amazonaws.com") {
		t.Errorf("egress tcp 443: %+v", p)
	}
	if len(sg.IpPermissions) != 6 || len(sg.IpPermissionsEgress) != 3 {
		t.Errorf("%d ingress and %d egress permissions, want 6 and 3", len(sg.IpPermissions), len(sg.IpPermissionsEgress))
	}

	misc := draft(t, testobs.File(t, filepath.Join(captures, "misc.pcapng"))).SecurityGroup()
	if p := perm(misc.IpPermissionsEgress, "icmp", 8); p == nil || p.ToPort != -1 || p.IpRanges[0].CidrIp != "10.0.0.1/32" {
		t.Errorf("ICMP echo: %+v", p)
	}
	if p := perm(misc.IpPermissionsEgress, "icmpv6", 128); p == nil || p.Ipv6Ranges[0].CidrIpv6 != "fd00::1/128" {
		t.Errorf("ICMPv6 echo: %+v", p)
	}
	// The JSON has exactly the EC2 field names.
	var buf bytes.Buffer
	if err := draft(t, testobs.File(t, filepath.Join(captures, "misc.pcapng"))).SecurityGroupJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var raw map[string][]map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"IpPermissions", "IpPermissionsEgress"} {
		for _, p := range raw[key] {
			for k := range p {
				if !slices.Contains([]string{"IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges"}, k) {
					t.Errorf("%s has field %s, which EC2 does not know", key, k)
				}
			}
		}
	}
}

// TestNFTablesAccepted runs every capture's ruleset through nft -c, which
// checks it against the kernel without loading it.
func TestNFTablesAccepted(t *testing.T) {
	testenv.RequireTools(t, "nft")
	testenv.RequirePrivileged(t) // nft -c talks to the kernel over netlink
	for _, file := range captureFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			var rs bytes.Buffer
			if err := draft(t, testobs.File(t, file)).NFTables(&rs); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(t.TempDir(), "draft.nft")
			if err := os.WriteFile(name, rs.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("nft", "-c", "-f", name).CombinedOutput()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					t.Fatalf("nft -c rejects the ruleset: %s\n%s", out, rs.String())
				}
				t.Fatal(err)
			}
			// Every drafted host flow has an accept rule.
			for _, r := range draft(t, testobs.File(t, file)).Rules {
				if (r.Direction == match.Inbound || r.Direction == match.Outbound) && !strings.Contains(rs.String(), `comment "`+r.Name) {
					t.Errorf("no nft rule for %s", r.Name)
				}
			}
		})
	}
}

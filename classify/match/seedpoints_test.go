package match

import (
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// These tests hold the points of issue 17 on captures that gencap writes
// (Scenario): real frames read by the classifier, judged by built-in
// profiles.

var (
	spHost     = netip.MustParseAddr("10.0.0.5")
	spResolver = netip.MustParseAddr("10.0.0.2")
	spNTP      = netip.MustParseAddr("203.0.113.123")
)

// evaluate judges the scenario's capture with the profiles, --host 10.0.0.5,
// --region us-east-1 and the given bindings.
func evalScenario(t *testing.T, sc gencap.Scenario, opts Options, profiles ...string) *Result {
	t.Helper()
	set, err := profile.Load(profiles...)
	if err != nil {
		t.Fatal(err)
	}
	opts.Host = []netip.Prefix{netip.PrefixFrom(spHost, 32)}
	opts.Region = "us-east-1"
	m, err := New(set, opts)
	if err != nil {
		t.Fatal(err)
	}
	sc.Resolver = spResolver
	return m.Evaluate(testobs.Scenario(t, sc))
}

func ruleOf(t *testing.T, res *Result, id string) *RuleResult {
	t.Helper()
	for i := range res.Rules {
		if res.Rules[i].Rule.ID() == id {
			return &res.Rules[i]
		}
	}
	t.Fatalf("no rule %s", id)
	return nil
}

// problemsOf returns the problems of a kind, as "fails|text".
func problemsOf(res *Result, kind ProblemKind) []Problem {
	var out []Problem
	for _, p := range res.Problems() {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// gatewayBasics are the flows every gateway has: NTP to the Amazon pool.
func gatewayBasics() []gencap.Conv {
	return []gencap.Conv{
		{UDP: true, Client: spHost, Server: spNTP, ServerPort: 123, Name: "0.amazon.pool.ntp.org"},
	}
}

// Point 1: HTTPS to one Storage Gateway endpoint dropped (three SYNs) while
// HTTPS to another endpoint of the same rule works is a blocked problem;
// once a later flow reaches the dropped endpoint it is a warning only.
func TestBlockedEndpointBesideWorkingOne(t *testing.T) {
	works := netip.MustParseAddr("198.51.100.10")
	dropped := netip.MustParseAddr("198.51.100.11")
	convs := append(gatewayBasics(),
		gencap.Conv{Client: spHost, Server: works, ServerPort: 443, Name: "storagegateway.us-east-1.amazonaws.com"},
		gencap.Conv{Client: spHost, Server: dropped, ServerPort: 443, Outcome: gencap.Unanswered, Name: "abc.storagegateway.us-east-1.amazonaws.com"},
	)
	opts := Options{Peers: map[string][]netip.Prefix{"dns-servers": {netip.MustParsePrefix("10.0.0.2/32")}}}
	res := evalScenario(t, gencap.Scenario{Convs: convs}, opts, "storage-gateway/common")
	rr := ruleOf(t, res, "storage-gateway/common:https-service")
	if rr.Status != RuleBlocked {
		t.Errorf("https-service %s, want blocked: one of its endpoints never answered", rr.Status)
	}
	if res.Verdict != NotConformant {
		t.Errorf("verdict %s, want not-conformant", res.Verdict)
	}
	blocked := problemsOf(res, ProblemBlocked)
	if len(blocked) != 1 || !blocked[0].Fails || res.Flows[blocked[0].Flow].Server() != dropped {
		t.Fatalf("blocked problems %+v, want one naming %s", blocked, dropped)
	}
	if txt := WordProblem(res, &blocked[0]); !strings.Contains(txt, "198.51.100.11") || !strings.Contains(txt, "3 SYNs, no answer") || !strings.Contains(txt, "while TCP 443 to 198.51.100.10 worked") {
		t.Errorf("blocked text %q does not name the dropped endpoint, its SYNs and the one that worked", txt)
	}
	if len(rr.Failed) != 1 || rr.Failed[0].Addr != dropped || rr.Failed[0].Reached {
		t.Errorf("failed endpoints %+v", rr.Failed)
	}

	// The same endpoint reached later (a retry that worked): a warning.
	convs = append(convs, gencap.Conv{Client: spHost, Server: dropped, ServerPort: 443})
	res = evalScenario(t, gencap.Scenario{Convs: convs}, opts, "storage-gateway/common")
	rr = ruleOf(t, res, "storage-gateway/common:https-service")
	if rr.Status != RuleSeen || len(problemsOf(res, ProblemBlocked)) != 0 {
		t.Errorf("reached later: status %s, blocked problems %v; want seen and none", rr.Status, problemsOf(res, ProblemBlocked))
	}
	warn := problemsOf(res, ProblemFailedAttempt)
	if len(warn) != 1 || warn[0].Fails || res.Flows[warn[0].Flow].Server() != dropped || !strings.Contains(WordProblem(res, &warn[0]), "a later flow reached") {
		t.Errorf("failed-attempt warnings %+v, want one for %s, reached later, that does not fail", warn, dropped)
	}

	// Reached first, then dropped: still only a warning, worded so.
	convs = append(gatewayBasics(),
		gencap.Conv{Client: spHost, Server: dropped, ServerPort: 443, Name: "abc.storagegateway.us-east-1.amazonaws.com"},
		gencap.Conv{Client: spHost, Server: dropped, ServerPort: 443, Outcome: gencap.Unanswered},
	)
	res = evalScenario(t, gencap.Scenario{Convs: convs}, opts, "storage-gateway/common")
	warn = problemsOf(res, ProblemFailedAttempt)
	if len(warn) != 1 || !strings.Contains(WordProblem(res, &warn[0]), "then this one failed") || len(problemsOf(res, ProblemBlocked)) != 0 {
		t.Errorf("reached, then dropped: warnings %+v, blocked %v", warn, problemsOf(res, ProblemBlocked))
	}
	if res.Verdict != Conformant {
		t.Errorf("reached later: verdict %s, want conformant (a warning only)", res.Verdict)
	}

	// A half-open handshake (SYN-ACKs never acknowledged: the client's
	// ACKs dropped on the way) is a failed attempt too.
	convs = append(gatewayBasics(),
		gencap.Conv{Client: spHost, Server: works, ServerPort: 443, Name: "storagegateway.us-east-1.amazonaws.com"},
		gencap.Conv{Client: spHost, Server: dropped, ServerPort: 443, Outcome: gencap.HalfOpen, Name: "abc.storagegateway.us-east-1.amazonaws.com"},
	)
	res = evalScenario(t, gencap.Scenario{Convs: convs}, opts, "storage-gateway/common")
	if rr := ruleOf(t, res, "storage-gateway/common:https-service"); rr.Status != RuleBlocked {
		t.Errorf("half-open endpoint: %s, want blocked", rr.Status)
	}
	for _, f := range res.Flows {
		if f.Server() == dropped && f.State != flow.StateHalfOpen {
			t.Errorf("the half-open conversation reads as %s", f.State)
		}
	}

	// Refused works the same way as unanswered.
	convs = append(gatewayBasics(),
		gencap.Conv{Client: spHost, Server: works, ServerPort: 443, Name: "storagegateway.us-east-1.amazonaws.com"},
		gencap.Conv{Client: spHost, Server: dropped, ServerPort: 443, Outcome: gencap.Refused, Name: "abc.storagegateway.us-east-1.amazonaws.com"},
	)
	res = evalScenario(t, gencap.Scenario{Convs: convs}, opts, "storage-gateway/common")
	if rr := ruleOf(t, res, "storage-gateway/common:https-service"); rr.Status != RuleBlocked {
		t.Errorf("refused endpoint: %s, want blocked", rr.Status)
	}
}

// Point 2: datasync/agent requires each service endpoint — the API, the
// task's data plane and the control plane — not any one of them.
func TestEachServiceEndpointRequired(t *testing.T) {
	api := gencap.Conv{Client: spHost, Server: netip.MustParseAddr("198.51.100.20"), ServerPort: 443, Name: "datasync.us-east-1.amazonaws.com"}
	dp := gencap.Conv{Client: spHost, Server: netip.MustParseAddr("198.51.100.21"), ServerPort: 443, Name: "task-0123.datasync-dp.us-east-1.amazonaws.com"}
	cp := gencap.Conv{Client: spHost, Server: netip.MustParseAddr("198.51.100.22"), ServerPort: 443, Name: "cp.datasync.us-east-1.amazonaws.com"}
	basics := []gencap.Conv{{UDP: true, Client: spHost, Server: spNTP, ServerPort: 123, Name: "1.amazon.pool.ntp.org"}}
	opts := Options{Peers: map[string][]netip.Prefix{"dns-servers": {netip.MustParsePrefix("10.0.0.2/32")}}}
	const id = "datasync/agent:service-https"
	cpBlocked := cp
	cpBlocked.Outcome = gencap.Unanswered
	cpUnnamed := cp
	cpUnnamed.Name = ""
	for _, tc := range []struct {
		name    string
		convs   []gencap.Conv
		status  RuleStatus
		kind    ProblemKind
		part    string // the part the problem names
		verdict Verdict
	}{
		{"all three", []gencap.Conv{api, dp, cp}, RuleSeen, 0, "", Conformant},
		{"control plane never attempted", []gencap.Conv{api, dp}, RuleMissing, ProblemMissing, "cp.datasync.{region}.amazonaws.com", NotConformant},
		{"control plane dropped", []gencap.Conv{api, dp, cpBlocked}, RuleBlocked, ProblemBlocked, "198.51.100.22", NotConformant},
		{"control plane reached, name unknown", []gencap.Conv{api, dp, cpUnnamed}, RuleInconclusive, ProblemInconclusive, "cp.datasync.{region}.amazonaws.com", Inconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := evalScenario(t, gencap.Scenario{Convs: append(slices.Clone(basics), tc.convs...)}, opts, "datasync/agent")
			rr := ruleOf(t, res, id)
			if rr.Status != tc.status {
				t.Errorf("status %s, want %s (parts %+v)", rr.Status, tc.status, rr.Parts)
			}
			if len(rr.Parts) != 3 {
				t.Errorf("parts %+v, want one per endpoint pattern", rr.Parts)
			}
			if res.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s", res.Verdict, tc.verdict)
			}
			if tc.part == "" {
				return
			}
			ps := problemsOf(res, tc.kind)
			if len(ps) != 1 || ps[0].Rule.ID() != id || !strings.Contains(WordProblem(res, &ps[0]), tc.part) {
				t.Errorf("%s problems %+v, want one of %s naming %s", tc.kind, ps, id, tc.part)
			}
		})
	}
}

// Point 2: datasync/fsx-ontap-nfs requires each of 111, 635 and 2049.
func TestEachPortRequired(t *testing.T) {
	iface := netip.MustParseAddr("10.0.1.7")
	svm := netip.MustParseAddr("10.0.1.50")
	opts := Options{Peers: map[string][]netip.Prefix{
		"datasync-interfaces": {netip.PrefixFrom(iface, 32)}, "fsx-ontap": {netip.PrefixFrom(svm, 32)},
	}}
	conv := func(port uint16) gencap.Conv { return gencap.Conv{Client: iface, Server: svm, ServerPort: port} }
	res := evalScenario(t, gencap.Scenario{Convs: []gencap.Conv{conv(111), conv(2049)}}, opts, "datasync/fsx-ontap-nfs")
	rr := ruleOf(t, res, "datasync/fsx-ontap-nfs:nfs")
	if rr.Status != RuleMissing || res.Verdict != NotConformant {
		t.Errorf("635 never attempted: status %s verdict %s, want missing and not-conformant", rr.Status, res.Verdict)
	}
	ps := problemsOf(res, ProblemMissing)
	if len(ps) != 1 || !strings.Contains(WordProblem(res, &ps[0]), "port 635") || !strings.Contains(WordProblem(res, &ps[0]), "seen: port 111, port 2049") {
		t.Errorf("missing problems %+v, want one naming port 635 and the ports seen", ps)
	}
	res = evalScenario(t, gencap.Scenario{Convs: []gencap.Conv{conv(111), conv(635), conv(2049)}}, opts, "datasync/fsx-ontap-nfs")
	if rr := ruleOf(t, res, "datasync/fsx-ontap-nfs:nfs"); rr.Status != RuleSeen || res.Verdict != Conformant {
		t.Errorf("all three ports: status %s verdict %s", rr.Status, res.Verdict)
	}
}

// Point 3: rules whose traffic never passes the agent are not satisfied by
// the host's own flows (scope network).
func TestHostFlowsDoNotSatisfyNetworkRules(t *testing.T) {
	s3 := netip.MustParseAddr("198.51.100.30")
	own := gencap.Scenario{Convs: []gencap.Conv{{Client: spHost, Server: s3, ServerPort: 443, Name: "bucket.s3.us-east-1.amazonaws.com"}}}
	res := evalScenario(t, own, Options{}, "datasync/s3")
	rr := ruleOf(t, res, "datasync/s3:https")
	if rr.Status != RuleMissing || len(rr.Flows) != 0 {
		t.Errorf("the host's own HTTPS to S3: status %s with %d flows, want missing", rr.Status, len(rr.Flows))
	}
	for _, f := range res.Flows {
		if f.ServerPort == 443 && f.Verdict != Unexpected {
			t.Errorf("the host's HTTPS to S3 is %s, want unexpected", f.Verdict)
		}
	}

	// DataSync's interface in the same subnet, seen by a capture of it.
	iface := netip.MustParseAddr("10.0.0.77")
	theirs := gencap.Scenario{Convs: []gencap.Conv{{Client: iface, Server: s3, ServerPort: 443, Name: "bucket.s3.us-east-1.amazonaws.com"}}}
	res = evalScenario(t, theirs, Options{Peers: map[string][]netip.Prefix{"datasync-interfaces": {netip.PrefixFrom(iface, 32)}}}, "datasync/s3")
	if rr := ruleOf(t, res, "datasync/s3:https"); rr.Status != RuleSeen {
		t.Errorf("DataSync's interface to S3: %s, want seen", rr.Status)
	}

	for _, prof := range []string{"datasync/efs", "datasync/fsx-ontap-nfs", "datasync/fsx-ontap-smb"} {
		set, err := profile.Load(prof)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range set.Rules() {
			if r.Scope != profile.ScopeNetwork {
				t.Errorf("%s: scope %s, want network (the seed's From is the DataSync service)", r.ID(), r.Scope)
			}
		}
	}
}

// Point 3: a flow accepted only because a group is unbound is a warning
// that names the group and the --peer to bind; --strict and a profile's
// strict: true make it fail; binding the group ends it.
func TestUnboundGroupAcceptance(t *testing.T) {
	browser := netip.MustParseAddr("10.0.0.66")
	sc := gencap.Scenario{Convs: append(gatewayBasics(),
		gencap.Conv{Client: spHost, Server: netip.MustParseAddr("198.51.100.10"), ServerPort: 443, Name: "storagegateway.us-east-1.amazonaws.com"},
		gencap.Conv{Client: browser, Server: spHost, ServerPort: 80},
	)}
	dns := netip.MustParsePrefix("10.0.0.2/32")
	opts := Options{Phase: "activation", Peers: map[string][]netip.Prefix{"dns-servers": {dns}}}
	res := evalScenario(t, sc, opts, "storage-gateway/common")
	ps := problemsOf(res, ProblemUnbound)
	if len(ps) != 1 || ps[0].Fails || ps[0].Rule.ID() != "storage-gateway/common:http-activation" {
		t.Fatalf("unbound problems %+v, want one warning for http-activation", ps)
	}
	if txt := WordProblem(res, &ps[0]); !strings.Contains(txt, "group browser") || !strings.Contains(txt, "--peer browser=CIDR") || !strings.Contains(txt, "1 inbound") {
		t.Errorf("unbound text %q does not name the group, the inbound flow and the --peer to bind", txt)
	}
	if f := &res.Flows[ps[0].Flow]; f.Client() != browser || !slices.Equal(res.UnboundOf(f), []string{"browser"}) {
		t.Errorf("the problem's flow is %s with unbound %v", WordFlow(f), res.UnboundOf(f))
	}
	if res.Verdict != Conformant {
		t.Errorf("verdict %s, want conformant (the unbound group is a warning)", res.Verdict)
	}

	opts.Strict = true
	res = evalScenario(t, sc, opts, "storage-gateway/common")
	if ps := problemsOf(res, ProblemUnbound); len(ps) != 1 || !ps[0].Fails || res.Verdict != NotConformant {
		t.Errorf("--strict: problems %+v verdict %s, want one failing problem", ps, res.Verdict)
	}

	opts.Strict = false
	opts.Peers["browser"] = []netip.Prefix{netip.PrefixFrom(browser, 32)}
	res = evalScenario(t, sc, opts, "storage-gateway/common")
	if ps := problemsOf(res, ProblemUnbound); len(ps) != 0 || res.Verdict != Conformant {
		t.Errorf("browser bound: problems %+v verdict %s, want none", ps, res.Verdict)
	}

	// A profile that asks for strictness.
	strict := `version: 1
profile: site/strict
strict: true
include: [storage-gateway/common]
`
	set, err := profile.LoadWith(func(string) ([]byte, error) { return []byte(strict), nil }, "strict.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(set, Options{Host: []netip.Prefix{netip.PrefixFrom(spHost, 32)}, Region: "us-east-1", Phase: "activation",
		Peers: map[string][]netip.Prefix{"dns-servers": {dns}}})
	if err != nil {
		t.Fatal(err)
	}
	sc.Resolver = spResolver
	res = m.Evaluate(testobs.Scenario(t, sc))
	if ps := problemsOf(res, ProblemUnbound); len(ps) != 1 || !ps[0].Fails || res.Verdict != NotConformant {
		t.Errorf("strict: true: problems %+v verdict %s, want one failing problem", ps, res.Verdict)
	}
	_ = fs.ErrNotExist
}

// The rows issue 17 found departing from the seeds, each on a capture.
func TestRowsAsTheSeedsSay(t *testing.T) {
	dns := map[string][]netip.Prefix{"dns-servers": {netip.MustParsePrefix("10.0.0.2/32")}}
	verdictOf := func(res *Result, port uint16) FlowVerdict {
		t.Helper()
		for _, f := range res.Flows {
			if f.ServerPort == port {
				return f.Verdict
			}
		}
		t.Fatalf("no flow to port %d", port)
		return 0
	}

	t.Run("ecs/ftp: port 21 from the specified CIDR only", func(t *testing.T) {
		client := netip.MustParseAddr("192.0.2.50")
		sc := gencap.Scenario{Convs: []gencap.Conv{{Client: client, Server: spHost, ServerPort: 21}}}
		res := evalScenario(t, sc, Options{}, "ecs/ftp")
		if v := verdictOf(res, 21); v != Unexpected {
			t.Errorf("unbound ftp-clients: FTP from %s is %s, want unexpected (the row says the specified CIDR block)", client, v)
		}
		ps := problemsOf(res, ProblemMissing)
		if len(ps) != 1 || !strings.Contains(WordProblem(res, &ps[0]), "--peer ftp-clients=CIDR") {
			t.Errorf("missing problems %+v, want one that says to bind ftp-clients", ps)
		}
		res = evalScenario(t, sc, Options{Peers: map[string][]netip.Prefix{"ftp-clients": {netip.MustParsePrefix("192.0.2.0/24")}}}, "ecs/ftp")
		if v := verdictOf(res, 21); v != Expected || res.Verdict != Conformant {
			t.Errorf("bound: FTP %s, verdict %s", v, res.Verdict)
		}
		sc = gencap.Scenario{Convs: []gencap.Conv{{Client: client, Server: spHost, ServerPort: 20}}}
		res = evalScenario(t, sc, Options{Peers: map[string][]netip.Prefix{"ftp-clients": {netip.MustParsePrefix("192.0.2.0/24")}}}, "ecs/ftp")
		if v := verdictOf(res, 20); v != Unexpected {
			t.Errorf("a client connecting to port 20 is %s, want unexpected (20 is the server's active-mode source port)", v)
		}
	})

	t.Run("file gateway console 443 only from bound browsers", func(t *testing.T) {
		sc := gencap.Scenario{Convs: []gencap.Conv{{Client: netip.MustParseAddr("203.0.113.9"), Server: spHost, ServerPort: 443}}}
		res := evalScenario(t, sc, Options{Peers: dns}, "storage-gateway/file-nfs")
		if v := verdictOf(res, 443); v != Unexpected {
			t.Errorf("inbound 443 from an unbound browser group is %s, want unexpected", v)
		}
	})

	t.Run("s3/client: the client's own DNS lookups are allowed", func(t *testing.T) {
		sc := gencap.Scenario{Convs: []gencap.Conv{{Client: spHost, Server: netip.MustParseAddr("198.51.100.60"), ServerPort: 443, Name: "bucket.s3.us-east-1.amazonaws.com"}}}
		res := evalScenario(t, sc, Options{Peers: dns}, "s3/client")
		if v := verdictOf(res, 53); v != Expected || res.Verdict != Conformant {
			t.Errorf("DNS lookup of the bucket is %s, verdict %s; want expected, conformant", v, res.Verdict)
		}
	})

	t.Run("datasync/agent-vpc: DNS and NTP not required", func(t *testing.T) {
		ep := netip.MustParseAddr("10.0.1.50")
		task := netip.MustParseAddr("10.0.1.60")
		sc := gencap.Scenario{Convs: []gencap.Conv{
			{Client: spHost, Server: ep, ServerPort: 1024}, {Client: spHost, Server: task, ServerPort: 443},
		}}
		res := evalScenario(t, sc, Options{Peers: map[string][]netip.Prefix{"vpc-endpoint": {netip.PrefixFrom(ep, 32)}, "task-interfaces": {netip.PrefixFrom(task, 32)}}}, "datasync/agent-vpc")
		for _, id := range []string{"datasync/agent-vpc:dns", "datasync/agent-vpc:ntp"} {
			if rr := ruleOf(t, res, id); rr.Required {
				t.Errorf("%s is required, but the seed says that access is not necessary with VPC endpoints", id)
			}
		}
		if res.Verdict != Conformant {
			t.Errorf("verdict %s, problems %v", res.Verdict, res.Problems())
		}
		res = evalScenario(t, sc, Options{}, "datasync/agent")
		if rr := ruleOf(t, res, "datasync/agent:ntp"); rr.Status != RuleMissing {
			t.Errorf("datasync/agent without NTP: %s, want missing", rr.Status)
		}
	})

	t.Run("volume gateway: HTTPS to any AWS service endpoint", func(t *testing.T) {
		sc := gencap.Scenario{Convs: append(gatewayBasics(),
			gencap.Conv{Client: spHost, Server: netip.MustParseAddr("198.51.100.70"), ServerPort: 443, Name: "ebs.us-east-1.amazonaws.com"})}
		res := evalScenario(t, sc, Options{Peers: dns}, "storage-gateway/volume")
		if v := verdictOf(res, 443); v != Expected {
			t.Errorf("a volume gateway's HTTPS to another AWS endpoint is %s, want expected (\"to an AWS service endpoint\")", v)
		}
	})
}

// storage-gateway/tls judges TLS to AWS endpoints only, SSL 3.0 fails, and
// forward secrecy is judged from the client's offer and the negotiated
// suite apart.
func TestTLSOverlayAsSeed004Says(t *testing.T) {
	const (
		ecdhe = 0xc02f // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
		rsa   = 0x009c // TLS_RSA_WITH_AES_128_GCM_SHA256
	)
	sg := netip.MustParseAddr("198.51.100.10")
	dc := netip.MustParseAddr("10.0.0.20")
	opts := Options{Peers: map[string][]netip.Prefix{
		"dns-servers": {netip.MustParsePrefix("10.0.0.2/32")}, "active-directory": {netip.PrefixFrom(dc, 32)},
		"smb-clients": {netip.MustParsePrefix("10.0.0.0/24")},
	}}
	for _, tc := range []struct {
		name    string
		server  netip.Addr
		port    uint16
		dnsName string
		hello   gencap.Hello
		verdict FlowVerdict
		rule    string
	}{
		{"LDAPS to a domain controller is not judged", dc, 636, "",
			gencap.Hello{Offered: []uint16{rsa}, Version: 0x0303, Suite: rsa}, Expected, "storage-gateway/file-smb:ad-ldaps"},
		{"SSL 3.0 to AWS fails", sg, 443, "storagegateway.us-east-1.amazonaws.com",
			gencap.Hello{Offered: []uint16{ecdhe, rsa}, Version: 0x0300, Suite: rsa}, Forbidden, "storage-gateway/tls:ssl3"},
		{"a client offering no forward secrecy fails", sg, 443, "storagegateway.us-east-1.amazonaws.com",
			gencap.Hello{Offered: []uint16{rsa}, Version: 0x0303, Suite: rsa}, Forbidden, "storage-gateway/tls:tls-client-no-forward-secrecy"},
		{"the server choosing RSA over an offered ECDHE is a warning", sg, 443, "storagegateway.us-east-1.amazonaws.com",
			gencap.Hello{Offered: []uint16{ecdhe, rsa}, Version: 0x0303, Suite: rsa}, Discouraged, "storage-gateway/tls:tls-no-forward-secrecy"},
		{"TLS 1.0 is a warning", sg, 443, "storagegateway.us-east-1.amazonaws.com",
			gencap.Hello{Offered: []uint16{ecdhe}, Version: 0x0301, Suite: ecdhe}, Discouraged, "storage-gateway/tls:tls-old-version"},
		{"TLS 1.3 passes", sg, 443, "storagegateway.us-east-1.amazonaws.com",
			gencap.Hello{Offered: []uint16{0x1301}, Version: 0x0304, Suite: 0x1301}, Expected, "storage-gateway/common:https-service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hello := tc.hello
			sc := gencap.Scenario{Convs: []gencap.Conv{{Client: spHost, Server: tc.server, ServerPort: tc.port, Name: tc.dnsName, TLS: &hello}}}
			res := evalScenario(t, sc, opts, "storage-gateway/file-smb", "storage-gateway/tls")
			for _, f := range res.Flows {
				if f.ServerPort != tc.port {
					continue
				}
				if f.Flow.TLSVersion != tc.hello.Version || f.Flow.TLSOffer == 0 {
					t.Fatalf("the capture's handshake was not read: version %#x offer %d", f.Flow.TLSVersion, f.Flow.TLSOffer)
				}
				if f.Verdict != tc.verdict || f.Rule == nil || f.Rule.ID() != tc.rule {
					t.Errorf("%s by %v, want %s by %s", f.Verdict, f.Rule, tc.verdict, tc.rule)
				}
				return
			}
			t.Fatal("no flow")
		})
	}
}

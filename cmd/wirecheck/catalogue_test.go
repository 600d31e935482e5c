package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
)

// flowKey names a flow of a report for these tests: "tcp 10.0.1.50:1024".
func flowKey(f report.Flow) string {
	return f.Proto + " " + f.Server + ":" + strconv.Itoa(int(f.ServerPort))
}

func ruleOf(f report.Flow) string {
	if f.Rule == nil {
		return ""
	}
	return *f.Rule
}

// TestCatalogueDataSyncVPC analyses the DataSync capture (an agent using a VPC
// endpoint, HDFS source; see testdata/captures/README.md) against the agent
// and HDFS profiles: the endpoint's listeners 1024, 1040 and 1064 lie inside
// the table's 1024-1064 and are expected, 1065 lies outside and is the one
// problem.
func TestCatalogueDataSyncVPC(t *testing.T) {
	args := []string{"-p", "datasync/agent-vpc", "-p", "datasync/hdfs", "--host", "10.0.0.5",
		"--peer", "vpc-endpoint=10.0.1.50", "--peer", "task-interfaces=10.0.1.60",
		"--peer", "hdfs-namenodes=10.0.2.10", "--peer", "hdfs-datanodes=10.0.2.11",
		"--peer", "hdfs-kms=10.0.2.12", "--peer", "kerberos-kdc=10.0.2.13", "--peer", "dns-servers=10.0.0.53"}
	for _, phase := range []string{"", "operation"} {
		t.Run("phase="+phase, func(t *testing.T) {
			a := args
			if phase != "" {
				a = append(append([]string(nil), args...), "--phase", phase)
			}
			rep, code := analyseJSON(t, append(a, filepath.Join(captures, "datasync-vpc.pcapng"))...)
			if code != 1 || rep.Verdict != "not-conformant" {
				t.Fatalf("exit %d verdict %s, want 1 not-conformant", code, rep.Verdict)
			}
			want := map[string][2]string{ // flow -> verdict, rule
				"tcp 10.0.1.50:1024":  {"expected", "datasync/agent-vpc:control"},
				"tcp 10.0.1.50:1040":  {"expected", "datasync/agent-vpc:control"},
				"tcp 10.0.1.50:1064":  {"expected", "datasync/agent-vpc:control"},
				"tcp 10.0.1.50:1065":  {"unexpected", ""},
				"tcp 10.0.1.60:443":   {"expected", "datasync/agent-vpc:data-https"},
				"tcp 10.0.2.10:8020":  {"expected", "datasync/hdfs:namenode"},
				"tcp 10.0.2.11:50010": {"expected", "datasync/hdfs:datanode"},
				"tcp 10.0.2.12:9600":  {"expected", "datasync/hdfs:kms"},
				"tcp 10.0.2.13:88":    {"expected", "datasync/hdfs:kerberos"},
				"udp 10.0.0.53:53":    {"expected", "datasync/agent-vpc:dns"},
				"udp 10.0.0.123:123":  {"expected", "datasync/agent-vpc:ntp"},
			}
			seen := map[string]bool{}
			for _, f := range rep.Flows {
				k := flowKey(f)
				w, ok := want[k]
				if !ok {
					t.Errorf("flow %s (%s) is not in the capture's ground truth", k, f.Verdict)
					continue
				}
				seen[k] = true
				if f.Verdict != w[0] || ruleOf(f) != w[1] {
					t.Errorf("%s from %s: %s by %q, want %s by %q (why %q)", k, f.Client, f.Verdict, ruleOf(f), w[0], w[1], f.Why)
				}
			}
			for k := range want {
				if !seen[k] {
					t.Errorf("no flow %s in the report", k)
				}
			}
			var fails []string
			for _, p := range rep.Problems {
				if p.Fails {
					fails = append(fails, p.Text)
				}
			}
			if len(fails) != 1 || !strings.HasPrefix(fails[0], "unexpected: outbound TCP 1065 ") {
				t.Errorf("failing problems %q, want only the unexpected TCP 1065", fails)
			}
			for _, r := range rep.Rules {
				if r.ID == "datasync/agent-vpc:control" && (r.Status != "seen" || len(r.Flows) != 3) {
					t.Errorf("rule %s: %s with %d flows, want seen with 3", r.ID, r.Status, len(r.Flows))
				}
				if r.ID == "datasync/agent-common:http-activation" {
					wantStatus := map[string]string{"": "unused", "operation": "inactive"}[phase]
					if r.Status != wantStatus {
						t.Errorf("rule %s under --phase %q: %s, want %s", r.ID, phase, r.Status, wantStatus)
					}
				}
			}
		})
	}
}

// TestCatalogueWrongName analyses the same capture as if the agent used
// public endpoints: the HTTPS flow goes to an address the capture's DNS
// named eni-task.datasync.example.internal, which is not a DataSync service
// name, so the flow is unexpected and the report says which rule's names it
// missed.
func TestCatalogueWrongName(t *testing.T) {
	rep, code := analyseJSON(t, "-p", "datasync/agent", "--host", "10.0.0.5", "--region", "us-east-1",
		filepath.Join(captures, "datasync-vpc.pcapng"))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, f := range rep.Flows {
		if flowKey(f) != "tcp 10.0.1.60:443" {
			continue
		}
		why := strings.Join(f.Why, "\n")
		if f.Verdict != "unexpected" || !strings.Contains(why,
			"rule datasync/agent:service-https: 10.0.1.60 is known as eni-task.datasync.example.internal, which does not match group datasync-service (datasync.{region}.amazonaws.com, *.datasync-dp.{region}.amazonaws.com, cp.datasync.{region}.amazonaws.com)") {
			t.Errorf("%s: %s, why:\n%s", flowKey(f), f.Verdict, why)
		}
		return
	}
	t.Fatal("no flow to 10.0.1.60:443")
}

// TestCatalogueTLSLegacy analyses the legacy-TLS capture under
// storage-gateway/tls composed with storage-gateway/common: the TLS 1.0
// handshake on 443 is discouraged (though https-service allows the flow), the
// TLS 1.2 handshake that settled on TLS_RSA_WITH_AES_128_GCM_SHA256 (0x009c)
// on 8443 after the client offered ECDHE suites is only discouraged by the
// overlay, which allows nothing, so, as the good TLS 1.3 one on 9443, it is
// judged by what allows it: nothing, so it is unexpected.
func TestCatalogueTLSLegacy(t *testing.T) {
	rep, code := analyseJSON(t, "-p", "storage-gateway/common", "-p", "storage-gateway/tls", "--host", "10.0.0.5",
		"--region", "us-east-1", filepath.Join(captures, "tls-legacy.pcapng"))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	type judged struct {
		verdict, rule, version, cipher string
		fs                             bool
	}
	want := map[string]judged{
		"tcp 198.51.100.30:443": {"discouraged", "storage-gateway/tls:tls-old-version", "TLS 1.0", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", true},
		// The client offered ECDHE suites and the server chose 0x009c: a
		// warning only (seed 004 asks clients to support forward secrecy),
		// and no rule allows port 8443, so the flow is unexpected.
		"tcp 198.51.100.30:8443": {"unexpected", "", "TLS 1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256", false}, // 0x009c
		"tcp 198.51.100.30:9443": {"unexpected", "", "TLS 1.3", "TLS_AES_256_GCM_SHA384", true},
	}
	got := map[string]bool{}
	for _, f := range rep.Flows {
		w, ok := want[flowKey(f)]
		if !ok {
			continue
		}
		got[flowKey(f)] = true
		if f.Verdict != w.verdict || ruleOf(f) != w.rule {
			t.Errorf("%s: %s by %q, want %s by %q", flowKey(f), f.Verdict, ruleOf(f), w.verdict, w.rule)
		}
		if f.TLS == nil || f.TLS.Version != w.version || f.TLS.Cipher != w.cipher || f.TLS.ForwardSecrecy != w.fs {
			t.Errorf("%s: TLS %+v, want %s with %s (forward secrecy %v)", flowKey(f), f.TLS, w.version, w.cipher, w.fs)
		}
		if flowKey(f) == "tcp 198.51.100.30:443" && !strings.Contains(strings.Join(f.Rules, " "), "storage-gateway/common:https-service") {
			t.Errorf("the TLS 1.0 flow to the service endpoint should still match https-service: rules %v", f.Rules)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("found %d of the %d TLS flows", len(got), len(want))
	}
	kinds := map[string]string{}
	for _, p := range rep.Problems {
		if p.Flow != nil {
			kinds[flowKey(rep.Flows[*p.Flow])] += p.Kind + " "
		}
	}
	if !strings.Contains(kinds["tcp 198.51.100.30:443"], "discouraged") || !strings.Contains(kinds["tcp 198.51.100.30:8443"], "unexpected") {
		t.Errorf("problems by flow %q: want the TLS 1.0 flow discouraged and the 0x009c flow unexpected", kinds)
	}
	for _, f := range rep.Flows {
		if f.TLSClient == nil || !f.TLSClient.OffersForwardSecrecy {
			if f.ServerPort == 443 || f.ServerPort == 8443 || f.ServerPort == 9443 {
				t.Errorf("%s: ClientHello %+v, want one that offers forward-secret suites (openssl's defaults)", flowKey(f), f.TLSClient)
			}
		}
	}
}

// TestProfilesCommands checks what a user sees of the catalogue: the list,
// each profile's vendor-shaped table, and profile checking.
func TestProfilesCommands(t *testing.T) {
	all, err := profile.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := wirecheck(t, nil, "profiles")
	if code != 0 {
		t.Fatalf("profiles: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(all) {
		t.Errorf("profiles lists %d lines for %d profiles", len(lines), len(all))
	}
	for i, p := range all {
		if i < len(lines) && (!strings.HasPrefix(lines[i], p.Name+" ") || !strings.HasSuffix(lines[i], p.Description) || p.Description == "") {
			t.Errorf("line %q, want %s and its description", lines[i], p.Name)
		}
	}

	for _, p := range all {
		out, stderr, code := wirecheck(t, nil, "profiles", "show", p.Name)
		if code != 0 {
			t.Errorf("profiles show %s: exit %d: %s", p.Name, code, stderr)
			continue
		}
		// The profile's own table comes last (includes are shown first).
		own := out[strings.LastIndex(out, p.Name+" — "):]
		lines := strings.Split(own, "\n")
		header := ""
		if len(lines) > 2 {
			header = strings.Join(strings.Fields(lines[1]), " ")
			if len(p.Includes) > 0 {
				header = strings.Join(strings.Fields(lines[2]), " ")
			}
		}
		if header != "From To Scope Protocol Port Level How used Source" {
			t.Errorf("profiles show %s: header %q", p.Name, header)
		}
		for _, r := range p.Rules {
			if !strings.Contains(own, r.Sources[0].String()) {
				t.Errorf("profiles show %s: rule %s's source %q is not shown", p.Name, r.Name, r.Sources[0])
			}
			if r.Note != "" && !strings.Contains(own, r.Name+": "+r.Note) {
				t.Errorf("profiles show %s: rule %s's note is not shown", p.Name, r.Name)
			}
		}
	}
	out, _, _ = wirecheck(t, nil, "profiles", "show", "datasync/agent-vpc")
	for _, want := range []string{
		"  host  vpc-endpoint*     outbound  TCP       1024-1064    required",
		"allowed (activation) [1]",
		"* unbound group: matches any address until --peer binds it",
		"= any address until bound with --peer vpc-endpoint=ADDR|CIDR",
		"= 0.amazon.pool.ntp.org, 1.amazon.pool.ntp.org, 2.amazon.pool.ntp.org, 3.amazon.pool.ntp.org",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("profiles show datasync/agent-vpc lacks %q:\n%s", want, out)
		}
	}

	dir := t.TempDir()
	good := filepath.Join(dir, "site.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("profile: site/agent\ninclude: [datasync/agent-vpc]\nrules:\n  - {name: extra, from: host, to: any, proto: tcp, ports: [8080], level: allowed, source: {doc: mine}}\n"), 0o644)
	os.WriteFile(bad, []byte("profile: site/agent\ninclude: [datasync/agent-vpc]\nrules:\n  - {name: extra, from: host, to: nowhere, proto: tcp, level: allowed}\n"), 0o644)
	out, stderr, code = wirecheck(t, nil, "profiles", "check", good)
	if code != 0 || !strings.Contains(out, "ok (9 rules with what it includes)") {
		t.Errorf("check %s: exit %d, %q %q", good, code, out, stderr)
	}
	_, stderr, code = wirecheck(t, nil, "profiles", "check", bad)
	if code != 2 || !strings.Contains(stderr, bad+":4:35: rule extra: peer group \"nowhere\" is not defined") {
		t.Errorf("check %s: exit %d, stderr %q", bad, code, stderr)
	}
}

package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// flowTruthProfile requires the client of testdata/netns/record-flowtruth.sh
// to reach its server on TCP 443.
const flowTruthProfile = `version: 1
profile: wirecheck-test/flowtruth
description: The flows of record-flowtruth.sh
peers:
  servers:
    description: the echo server
    cidrs: [10.16.0.1/32]
rules:
  - {name: https, from: host, to: servers, proto: tcp, ports: 443, level: required}
`

// TestHalfOpenIsBlocked: a SYN answered by SYN-ACKs the client never
// acknowledged (its ACKs dropped by nftables, halfopen.pcap) is half-open,
// a failed attempt: the required rule is blocked, never seen, and the
// problem says what happened.
func TestHalfOpenIsBlocked(t *testing.T) {
	prof := writeProfile(t, "flowtruth.yaml", flowTruthProfile)
	rep, code := analyseJSON(t, "-p", prof, "--host", "10.16.0.2", filepath.Join(captures, "halfopen.pcap"))
	if code != 1 || rep.Verdict != "not-conformant" {
		t.Fatalf("exit %d verdict %s, want 1 not-conformant", code, rep.Verdict)
	}
	if len(rep.Flows) != 1 || rep.Flows[0].State != "half-open" || rep.Flows[0].ClientMethod != "handshake" || rep.Flows[0].OneSided {
		t.Fatalf("flows %+v, want one half-open flow, client by handshake", rep.Flows)
	}
	if len(rep.Rules) != 1 || rep.Rules[0].Status != "blocked" {
		t.Errorf("rules %+v, want https blocked", rep.Rules)
	}
	var text string
	for _, p := range rep.Problems {
		if p.Kind == "blocked" {
			text = p.Text
		}
	}
	for _, want := range []string{"half-open (1 SYN answered by SYN-ACK, 3 packets from the server, never acknowledged by the client)", "handshake never completed"} {
		if !strings.Contains(text, want) {
			t.Errorf("blocked problem %q does not say %q", text, want)
		}
	}
}

// TestOneDirectionCaptureIsAnswered: tcpdump -Q out on the client
// (oneway-out.pcap) holds only the client's packets; its ACK after its SYN
// proves the server answered, so the rule is seen, the flow is one-sided
// and the report says the capture holds one direction.
func TestOneDirectionCaptureIsAnswered(t *testing.T) {
	prof := writeProfile(t, "flowtruth.yaml", flowTruthProfile)
	file := filepath.Join(captures, "oneway-out.pcap")
	rep, code := analyseJSON(t, "-p", prof, "--host", "10.16.0.2", file)
	if code != 0 || rep.Verdict != "conformant" {
		t.Fatalf("exit %d verdict %s problems %+v, want conformant", code, rep.Verdict, rep.Problems)
	}
	if len(rep.Flows) != 1 || rep.Flows[0].State != "closed" || !rep.Flows[0].OneSided || rep.Flows[0].ServerSent.Packets != 0 {
		t.Fatalf("flows %+v, want one closed one-sided flow with no server packets", rep.Flows)
	}
	if !rep.Summary.OneDirection {
		t.Errorf("summary %+v does not say the capture holds one direction", rep.Summary)
	}
	for format, wants := range map[string][]string{
		"text":     {"direction: the capture holds one direction of each flow only", "closed (one-sided)"},
		"markdown": {"- **Direction:** the capture holds one direction of each flow only"},
		"html":     {"<dt>Direction</dt><dd><strong>the capture holds one direction of each flow only"},
	} {
		out, _, _ := wirecheck(t, nil, "analyse", "--format", format, "-p", prof, "--host", "10.16.0.2", file)
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("%s report does not say %q:\n%s", format, want, out)
			}
		}
	}
}

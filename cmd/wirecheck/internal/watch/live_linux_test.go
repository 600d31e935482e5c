//go:build linux

package watch

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch/watchtest"
	"github.com/wirecheck/wirecheck/internal/netnslab"
)

// labProfile is the profile the live tests judge the lab's traffic by: one
// rule per fact the test makes happen, one rule nothing satisfies, and one
// that forbids a flow the test makes.
const labProfile = `version: 1
profile: wirecheck-test/watch-lab
description: Flows the watch tests make between two network namespaces
peers:
  lab:
    description: the other end of the veth
    cidrs: [10.214.0.0/24]
rules:
  - {name: tcp-echo, from: host, to: lab, proto: tcp, ports: 5000, level: required}
  - {name: udp-echo, from: host, to: lab, proto: udp, ports: 5001, level: required}
  - {name: refused, from: host, to: lab, proto: tcp, ports: 5002, level: required}
  - {name: firewalled, from: host, to: lab, proto: tcp, ports: 5003, level: required}
  - {name: unreachable, from: host, to: lab, proto: udp, ports: 5004, level: required}
  - {name: inbound, from: lab, to: host, proto: tcp, ports: 6000, level: required}
  - {name: never, from: host, to: lab, proto: udp, ports: 123, level: required}
  - {name: no-telnet, from: any, to: host, proto: tcp, ports: 23, level: forbidden}
`

// TestLiveTraffic runs Run on the host end of the lab while real programs
// (bash's /dev/tcp and /dev/udp, ncat, nft) make every kind of flow the
// report distinguishes, and checks that the result states each fact and
// that the unexpected flows were alerted while Run ran. The same test runs
// with each engine.
func TestLiveTraffic(t *testing.T) {
	for _, engine := range []string{"ebpf", "pcap"} {
		t.Run(engine, func(t *testing.T) { testLiveTraffic(t, engine) })
	}
}

func testLiveTraffic(t *testing.T, engine string) {
	l := newLab(t, true)
	testenv.RequireTools(t, "ncat", "nft", "ss")
	prof := writeProfile(t, "watch-lab.yaml", labProfile)

	// Servers: echo services on the peer and on the host, an unexpected
	// service on the peer, and a firewall on the peer that drops SYNs to
	// 5003 without an answer. 5002 (TCP), 5004 (UDP) and the host's 23
	// have no listener: the kernel refuses them.
	l.Listen(l.Peer, "tcp", peerAddr, 5000)
	l.Listen(l.Peer, "udp", peerAddr, 5001)
	l.Listen(l.Peer, "tcp", peerAddr, 7000)
	l.Listen(l.Host, "tcp", hostAddr, 6000)
	l.Run(l.Peer, `nft -f - <<'EOF'
table inet wc4test {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 5003 drop
	}
}
EOF`)

	// No Hosts: the host is the interface's own address. The interval is
	// long, so that an alert can only come from the new-flow path.
	w := startRun(t, l.Host, runSpec{Interface: hostIf, Engine: engine, Profile: prof,
		Interval: time.Hour, Duration: 2 * time.Minute})
	if !slices.Contains(w.StderrLines(), "wirecheck: watching "+hostIf+" ("+engine+" engine)") {
		t.Errorf("start line: %q", w.StderrLines())
	}

	// The unanswered SYNs take longest (retransmits after 1s): run them
	// meanwhile. timeout ends the connect after the first retransmission.
	firewalled := make(chan string, 1)
	go func() {
		out, _ := l.Sh(l.Host, "timeout 2.5 bash -c 'exec 3<>/dev/tcp/"+peerAddr+"/5003'; echo status=$?")
		firewalled <- out
	}()

	echo := func(ns, proto, addr string, port int) string {
		return fmt.Sprintf(`exec 3<>/dev/%s/%s/%d && echo ping >&3 && timeout 5 head -n1 <&3`, proto, addr, port)
	}
	for range 2 {
		if out := l.Run(l.Host, echo(l.Host, "tcp", peerAddr, 5000)); strings.TrimSpace(out) != "pong" {
			t.Errorf("tcp echo answered %q", out)
		}
	}
	if out := l.Run(l.Host, echo(l.Host, "udp", peerAddr, 5001)); strings.TrimSpace(out) != "pong" {
		t.Errorf("udp echo answered %q", out)
	}
	if out, err := l.Sh(l.Host, "exec 3<>/dev/tcp/"+peerAddr+"/5002"); err == nil || !strings.Contains(out, "Connection refused") {
		t.Errorf("connect to a closed port: %v %q, want connection refused", err, out)
	}
	// The ICMP port unreachable comes back to the socket as ECONNREFUSED.
	if out, err := l.Sh(l.Host, "exec 3<>/dev/udp/"+peerAddr+"/5004; echo ping >&3; read -t 3 r <&3"); err == nil || !strings.Contains(out, "Connection refused") {
		t.Errorf("udp to a closed port: %v %q, want connection refused (ICMP port unreachable)", err, out)
	}
	if out := l.Run(l.Peer, echo(l.Peer, "tcp", hostAddr, 6000)); strings.TrimSpace(out) != "pong" {
		t.Errorf("inbound tcp echo answered %q", out)
	}

	// A flow no rule allows and one a rule forbids: each must be alerted
	// while Run runs. The forbidden port is no server port for the
	// kernel's pre-filter (match.Matcher.ServerPorts), so the eBPF engine
	// announces that flow at once too.
	alerts := []struct {
		script, ns string
		parts      []string
	}{
		{echo(l.Host, "tcp", peerAddr, 7000), l.Host, []string{"unexpected: outbound TCP 7000", "from " + hostAddr, "to " + peerAddr}},
		{"exec 3<>/dev/tcp/" + hostAddr + "/23 || true", l.Peer, []string{"forbidden: inbound TCP 23", "from " + peerAddr, "to " + hostAddr}},
	}
	for _, a := range alerts {
		start := time.Now()
		l.Run(a.ns, a.script)
		ran := time.Since(start)
		line, ok := w.WaitLine(5*time.Second, a.parts...)
		if !ok {
			t.Errorf("no alert %q within 5s; stderr:\n%s", a.parts, w.StderrText())
			continue
		}
		t.Logf("alert %v after the client started (it ran %v): %s", time.Since(start).Round(time.Millisecond), ran.Round(time.Millisecond), line)
	}
	if out := <-firewalled; !strings.Contains(out, "status=124") {
		t.Errorf("connect through the firewall ended %q, want a timeout (124)", out)
	}
	time.Sleep(300 * time.Millisecond) // the last FINs and ACKs

	rep := w.stop(t, syscall.SIGINT)
	checkLabReport(t, rep, engine)

	// Alerts: exactly the two failing flows, each once.
	got := watchtest.AlertLines(w.StderrLines())
	if len(got) != 2 {
		t.Errorf("alerts %q, want one for TCP 7000 and one for TCP 23", got)
	}
	if engine == "ebpf" {
		netnslab.NothingAttached(t, l.Host, hostIf, 3*time.Second)
	}
}

func checkLabReport(t *testing.T, rep *report.Report, engine string) {
	t.Helper()
	if rep.Verdict != "not-conformant" {
		t.Errorf("verdict %s", rep.Verdict)
	}
	if !slices.Equal(rep.Host.Addresses, []string{hostAddr}) || rep.Host.Inferred {
		t.Errorf("host %+v, want the interface's address %s, not inferred", rep.Host, hostAddr)
	}
	if !rep.Complete {
		t.Errorf("report says it is incomplete: losses %+v", rep.Losses)
	}
	for _, l := range rep.Losses {
		if l.Count != 0 {
			t.Errorf("loss: %+v", l)
		}
	}
	if len(rep.Inputs) != 1 || !strings.Contains(rep.Inputs[0].Name, engine) {
		t.Errorf("inputs %+v, want the %s engine on %s", rep.Inputs, engine, hostIf)
	}

	type want struct {
		proto          string
		port           uint16
		n              int
		client, server string
		dir, state     string
		verdict, rule  string
		check          func(*report.Flow) string
	}
	rule := func(name string) string { return "wirecheck-test/watch-lab:" + name }
	wants := []want{
		{"tcp", 5000, 2, hostAddr, peerAddr, "outbound", "closed", "expected", rule("tcp-echo"), func(f *report.Flow) string {
			if f.ClientSent.Packets < 4 || f.ServerSent.Packets < 3 || f.SYNs != 1 {
				return fmt.Sprintf("client sent %+v, server %+v, %d SYNs: want a handshake, a line each way and FINs", f.ClientSent, f.ServerSent, f.SYNs)
			}
			return ""
		}},
		{"udp", 5001, 1, hostAddr, peerAddr, "outbound", "answered", "expected", rule("udp-echo"), func(f *report.Flow) string {
			if f.ClientSent.Packets != 1 || f.ServerSent.Packets != 1 || f.ClientSent.Bytes != 47 || f.ServerSent.Bytes != 47 {
				return fmt.Sprintf("client sent %+v, server %+v: want one 47-byte datagram each way (\"ping\\n\", \"pong\\n\")", f.ClientSent, f.ServerSent)
			}
			return ""
		}},
		{"tcp", 5002, 1, hostAddr, peerAddr, "outbound", "refused", "expected", rule("refused"), nil},
		{"tcp", 5003, 1, hostAddr, peerAddr, "outbound", "unanswered", "expected", rule("firewalled"), func(f *report.Flow) string {
			if f.SYNs < 2 || f.ServerSent.Packets != 0 {
				return fmt.Sprintf("%d SYNs, server sent %+v: want the SYN and its retransmission, nothing back", f.SYNs, f.ServerSent)
			}
			return ""
		}},
		{"udp", 5004, 1, hostAddr, peerAddr, "outbound", "unreachable", "expected", rule("unreachable"), func(f *report.Flow) string {
			if f.Unreachable == nil || f.Unreachable.Count != 1 || f.Unreachable.From != peerAddr || !strings.Contains(f.Unreachable.Message, "port unreachable") {
				return fmt.Sprintf("unreachable %+v, want one port unreachable from %s", f.Unreachable, peerAddr)
			}
			return ""
		}},
		{"tcp", 6000, 1, peerAddr, hostAddr, "inbound", "closed", "expected", rule("inbound"), nil},
		{"tcp", 7000, 1, hostAddr, peerAddr, "outbound", "closed", "unexpected", "", nil},
		{"tcp", 23, 1, peerAddr, hostAddr, "inbound", "refused", "forbidden", rule("no-telnet"), nil},
	}
	total := 0
	for _, w := range wants {
		fs := watchtest.Flows(rep, w.proto, w.port)
		total += w.n
		if len(fs) != w.n {
			t.Errorf("%s %d: %d flows, want %d", w.proto, w.port, len(fs), w.n)
			continue
		}
		for i := range fs {
			f := &fs[i]
			rule := ""
			if f.Rule != nil {
				rule = *f.Rule
			}
			if f.Client != w.client || f.Server != w.server || f.Direction != w.dir || f.State != w.state || f.Verdict != w.verdict || rule != w.rule {
				t.Errorf("%s %d: %s -> %s %s, %s, %s by %q; want %s -> %s %s, %s, %s by %q", w.proto, w.port,
					f.Client, f.Server, f.Direction, f.State, f.Verdict, rule, w.client, w.server, w.dir, w.state, w.verdict, w.rule)
			}
			if w.check != nil {
				if msg := w.check(f); msg != "" {
					t.Errorf("%s %d: %s", w.proto, w.port, msg)
				}
			}
		}
	}
	if len(rep.Flows) != total {
		t.Errorf("%d flows, want %d: %+v", len(rep.Flows), total, rep.Flows)
	}

	status := map[string]string{}
	for _, r := range rep.Rules {
		status[r.Name] = r.Status
	}
	for name, want := range map[string]string{
		"tcp-echo": "seen", "udp-echo": "seen", "inbound": "seen",
		"refused": "blocked", "firewalled": "blocked", "unreachable": "blocked",
		"never": "missing",
	} {
		if status[name] != want {
			t.Errorf("rule %s: %q, want %q", name, status[name], want)
		}
	}

	kinds := map[string]int{}
	for _, p := range rep.Problems {
		kinds[p.Kind]++
	}
	if kinds["blocked"] != 3 || kinds["missing"] != 1 || kinds["unexpected"] != 1 || kinds["forbidden"] != 1 || len(rep.Problems) != 6 {
		t.Errorf("problems %v, want 3 blocked, 1 missing, 1 unexpected, 1 forbidden", kinds)
	}
}

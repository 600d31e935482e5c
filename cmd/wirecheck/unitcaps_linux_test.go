//go:build linux

package main

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch/watchtest"
	"github.com/wirecheck/wirecheck/internal/netnslab"
)

// unitCapsProfile: a required rule the test's datagrams satisfy and one
// nothing does, so that the run ends not conformant (exit 1).
const unitCapsProfile = `version: 1
profile: wirecheck-test/unit-caps
peers:
  lab:
    cidrs: [10.217.0.0/24]
rules:
  - {name: ping, from: host, to: lab, proto: udp, ports: 5001, level: required}
  - {name: nfs, from: lab, to: host, proto: tcp, ports: 2049, level: required}
`

// TestWatchWithUnitCapabilities runs watch as an unprivileged user holding
// only the capabilities the systemd unit grants (AmbientCapabilities, read
// from dist/systemd/wirecheck.service), as systemd would start it, and
// checks that the eBPF engine loads, attaches and counts: the unit's set is
// not only minimal but enough.
func TestWatchWithUnitCapabilities(t *testing.T) {
	l := netnslab.New(t, "wc7")
	l.Veth("wc7-0", "wc7-1", "10.217.0.1", "10.217.0.2", true, 0)
	testenv.RequireTools(t, "setpriv")
	vals := unitValues(t, "AmbientCapabilities")
	if len(vals) != 1 {
		t.Fatalf("AmbientCapabilities %v", vals)
	}
	var caps []string
	for _, c := range strings.Fields(vals[0]) {
		caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	set := "-all," + strings.Join(caps, ",")

	// A copy of this test binary and a profile that user nobody can read.
	dir, err := os.MkdirTemp("", "wirecheck-wc7caps")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin, prof, rep := filepath.Join(dir, "wirecheck.test"), filepath.Join(dir, "wc7.yaml"), filepath.Join(dir, "out")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prof, []byte(unitCapsProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(rep, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, rep} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"watch", "-i", "wc7-0", "-p", prof, "--engine", "ebpf", "--duration", "4s", "--interval", "1s",
		"--format", "json", "-o", filepath.Join(rep, "report.json")}
	cmd := exec.Command("ip", "netns", "exec", l.Host, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps="+set, "--ambient-caps="+set, "--bounding-set="+set, "--no-new-privs",
		bin, "-test.run=^TestWatchProcessHelper$")
	cmd.Env = append(os.Environ(), "WIRECHECK_WATCH_ARGS="+strings.Join(args, "\n"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(1500 * time.Millisecond)
	netnslab.SendUDP(t, l.Host, netip.MustParseAddrPort("10.217.0.1:40001"), netip.MustParseAddrPort("10.217.0.2:5001"), 25)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("watch did not end; stderr:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitNotConformant {
		t.Fatalf("exit %d, want %d (nfs never seen); stderr:\n%s", code, exitNotConformant, stderr.String())
	}
	if !strings.Contains(stderr.String(), "watching wc7-0 (ebpf engine)") {
		t.Errorf("not watching with the eBPF engine:\n%s", stderr.String())
	}
	out, err := os.ReadFile(filepath.Join(rep, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := jsonUnmarshal(string(out), &r); err != nil {
		t.Fatal(err)
	}
	if fl := watchtest.Flows(&r, "udp", 5001); len(fl) != 1 || fl[0].ClientSent.Packets != 25 {
		t.Errorf("udp/5001 flows %+v, want one with the 25 packets sent", fl)
	}
}

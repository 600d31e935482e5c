//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch/watchtest"
)

// TestWatchReplayMatchesAnalyse is the differential test of the live
// engines against analyse: each recorded capture is replayed with tcpreplay
// into the lab's veth while watch runs on the other end, and watch's report
// must state the same flows, with the same per-side packet and byte counts,
// states, names, rules and verdicts, as analyse of the file.
//
// What may legitimately differ, and is not compared:
//   - times: the replay happens now, at top speed (a related flow's
//     announcement time too);
//   - the input's name and the engine's loss counters (which must be zero);
//   - the breakdown of traffic that forms no flow: the eBPF engine counts
//     ARP, ICMP errors and neighbour discovery as one kind, so only their
//     total packets and bytes are compared.
//
// What the lab must provide so that nothing else differs: the captures hold
// GSO/GRO super-frames as tcpdump recorded them on the sending host (up to
// 5,316 bytes), which a veth with the default 1,500-byte MTU would refuse
// (tcpreplay counts them as failed), so both ends get an MTU of 65,535; the
// ends have no addresses and IPv6 is off, so the kernel answers none of the
// replayed frames (their MACs and addresses are not its own) and sends
// nothing of its own, and every frame the engine sees is one of the file's.
func TestWatchReplayMatchesAnalyse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(captures, "*.pcap*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in %s (%v)", captures, err)
	}
	for _, engine := range []string{"ebpf", "pcap"} {
		t.Run(engine, func(t *testing.T) {
			l := newLab(t, false, 65535)
			testenv.RequireTools(t, "tcpreplay")
			for _, file := range files {
				t.Run(filepath.Base(file), func(t *testing.T) { replayOne(t, l, engine, file) })
			}
		})
	}
}

var tcpreplayCounts = regexp.MustCompile(`(?m)^\s*(Successful|Failed) packets:\s+(\d+)`)

func replayOne(t *testing.T, l *lab, engine, file string) {
	args := []string{"-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "--host", "fd00::5", "--format", "json"}
	if filepath.Base(file) == "related.pcapng" {
		// Its FTP flows are judged by the catalogue's FTP rule, so that
		// both engines must learn the PASV/PORT announcements too.
		args = append(slices.Clone(relatedArgs), "--format", "json")
	}
	want, wantCode := analyseJSON(t, append(slices.Clone(args), file)...)

	w := startWatch(t, l.Host, append([]string{"watch", "-i", hostIf, "--engine", engine, "--interval", "500ms"}, args...)...)
	out, err := exec.Command("ip", "netns", "exec", l.Peer, "tcpreplay", "--topspeed", "-i", peerIf, file).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpreplay: %v: %s", err, out)
	}
	sent := map[string]string{}
	for _, m := range tcpreplayCounts.FindAllStringSubmatch(string(out), -1) {
		sent[m[1]] = m[2]
	}
	if sent["Failed"] != "0" || sent["Successful"] != fmt.Sprint(want.Summary.Packets) {
		t.Fatalf("tcpreplay sent %v of %d packets:\n%s", sent, want.Summary.Packets, out)
	}
	// Wait for a summary that counts every packet of the file: every flow
	// has then been judged with what the engine learnt (names above all),
	// and alerted if it fails. Alerts of flows on a profile's port wait for
	// this: the kernel announces at once only flows on no profile port.
	w.waitAllPackets(t, "watch", want.Summary.Packets)
	code := w.Signal(syscall.SIGINT)
	got := w.report()
	if code != wantCode {
		t.Errorf("exit status %d, analyse's %d; stderr:\n%s", code, wantCode, w.StderrText())
	}
	if d := diffReports(got, want); d != "" {
		t.Errorf("watch --engine %s of the replay differs from analyse of %s:\n%s", engine, filepath.Base(file), d)
	}
	if !got.Complete {
		t.Errorf("incomplete: %+v", got.Losses)
	}
	for _, loss := range got.Losses {
		if loss.Count != 0 {
			t.Errorf("loss %+v", loss)
		}
	}
	// The alerts are the flows analyse calls failures, each once.
	alerts := watchtest.AlertLines(w.StderrLines())
	var fails []string
	for _, f := range want.Flows {
		if f.Verdict == "unexpected" || f.Verdict == "forbidden" {
			fails = append(fails, fmt.Sprintf("%s: %s %s from %s to %s", f.Verdict, f.Direction, protoPort(&f), f.Client, f.Server))
		}
	}
	for i := range alerts {
		alerts[i] = alerts[i][len("15:04:05 "):]
		// Names are what the engine knew when it alerted; the report
		// compared above has them all.
		alerts[i] = alertNames.ReplaceAllString(alerts[i], "")
	}
	slices.Sort(alerts)
	slices.Sort(fails)
	if !slices.Equal(alerts, fails) {
		t.Errorf("alerts:\n  %s\nwant one for each failing flow:\n  %s", strings.Join(alerts, "\n  "), strings.Join(fails, "\n  "))
	}
	t.Logf("%d packets, %d flows, %d alerts, verdict %s", got.Summary.Packets, got.Summary.Flows, len(alerts), got.Verdict)
}

// diffReports lists the differences between a live report and analyse's
// that matter (see TestWatchReplayMatchesAnalyse), one per line.
func diffReports(got, want *report.Report) string {
	var d []string
	add := func(format string, args ...any) { d = append(d, fmt.Sprintf(format, args...)) }
	if got.Verdict != want.Verdict {
		add("verdict %s, want %s", got.Verdict, want.Verdict)
	}
	gs, ws := got.Summary, want.Summary
	if gs.Packets != ws.Packets || gs.Bytes != ws.Bytes || gs.Flows != ws.Flows || gs.Malformed != ws.Malformed || gs.OrphanFragments != ws.OrphanFragments {
		add("summary %+v, want %+v (times aside)", gs, ws)
	}
	key := func(f *report.Flow) string {
		return fmt.Sprintf("%s %s:%d -> %s:%d", f.Proto, f.Client, f.ClientPort, f.Server, f.ServerPort)
	}
	wantFlows := map[string]report.Flow{}
	for _, f := range want.Flows {
		wantFlows[key(&f)] = f
	}
	for _, f := range got.Flows {
		k := key(&f)
		wf, ok := wantFlows[k]
		if !ok {
			add("flow %s: only in watch's report", k)
			continue
		}
		delete(wantFlows, k)
		f.First, f.Last, wf.First, wf.Last = nil, nil, nil, nil
		if f.Related != nil && wf.Related != nil {
			// When the announcement was sent is a time like First.
			gr, wr := *f.Related, *wf.Related
			gr.Announced, wr.Announced = "", ""
			f.Related, wf.Related = &gr, &wr
		}
		a, _ := json.Marshal(f)
		b, _ := json.Marshal(wf)
		if !bytes.Equal(a, b) {
			add("flow %s:\n  watch:   %s\n  analyse: %s", k, a, b)
		}
	}
	for k := range wantFlows {
		add("flow %s: missing from watch's report", k)
	}
	rules := func(r *report.Report) string {
		var b strings.Builder
		for _, r := range r.Rules {
			fmt.Fprintf(&b, "%s %s %v; ", r.ID, r.Status, r.Flows)
		}
		return b.String()
	}
	if a, b := rules(got), rules(want); a != b {
		add("rules:\n  watch:   %s\n  analyse: %s", a, b)
	}
	problems := func(r *report.Report) string {
		var b strings.Builder
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "%s: %s\n", p.Kind, p.Text)
		}
		return b.String()
	}
	if a, b := problems(got), problems(want); a != b {
		add("problems:\n  watch:\n%s  analyse:\n%s", a, b)
	}
	other := func(r *report.Report) (p, b uint64) {
		for _, o := range r.Other {
			p += o.Packets
			b += o.Bytes
		}
		return p, b
	}
	gp, gb := other(got)
	wp, wb := other(want)
	if gp != wp || gb != wb {
		add("other traffic %d packets %d bytes, want %d and %d (%+v)", gp, gb, wp, wb, want.Other)
	}
	return strings.Join(d, "\n")
}

// alertNames matches the names an alert adds to an address.
var alertNames = regexp.MustCompile(` \([^)]*\)`)

// protoPort is how alerts name a flow's service: "TCP 443", or "ICMP".
func protoPort(f *report.Flow) string {
	p := strings.ToUpper(f.Proto)
	if strings.HasPrefix(p, "ICMP") {
		return p
	}
	return fmt.Sprintf("%s %d", p, f.ServerPort)
}

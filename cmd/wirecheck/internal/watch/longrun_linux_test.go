//go:build linux

package watch

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch/watchtest"
	"github.com/wirecheck/wirecheck/internal/netnslab"
)

// Privileged tests of the service running for long: the interface deleted
// and re-created under it, a reload (SIGHUP in the child: Config.Reload),
// and a soak of a million short flows. They run Run in the child process of
// lab_linux_test.go with namespaces and interfaces of their own, named wc7.

const (
	wc7HostIf = "wc7-0" // watched, in the host namespace
	wc7PeerIf = "wc7-1"
)

// newWC7Lab makes two namespaces joined by wc7-0/wc7-1; with addrs the ends
// get 10.217.0.1 and .2.
func newWC7Lab(t *testing.T, addrs bool) *netnslab.Lab {
	t.Helper()
	l := netnslab.New(t, "wc7")
	wc7Veth(l, addrs)
	return l
}

// wc7Veth (re)creates the veth pair.
func wc7Veth(l *netnslab.Lab, addrs bool) {
	l.T.Helper()
	l.Veth(wc7HostIf, wc7PeerIf, "10.217.0.1", "10.217.0.2", addrs, 0)
}

func runCmd(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// sendUDP sends n datagrams from the host end's port sport to the peer's
// port dport; the same ports each time, so that they form one flow.
func sendUDP(t *testing.T, ns string, sport, dport, n int) {
	t.Helper()
	netnslab.SendUDP(t, ns, netip.AddrPortFrom(netip.MustParseAddr("10.217.0.1"), uint16(sport)),
		netip.AddrPortFrom(netip.MustParseAddr("10.217.0.2"), uint16(dport)), n)
}

const wc7Profile = `version: 1
profile: wirecheck-test/wc7
description: Flows the service tests make
peers:
  lab:
    description: the other end of the veth
    cidrs: [10.217.0.0/24, 10.218.0.0/16]
rules:
  - {name: ping, from: host, to: lab, proto: udp, ports: 5001, level: required}
  - {name: nfs, from: lab, to: host, proto: tcp, ports: 2049, level: required}
`

// TestSurvivesInterfaceRecreated deletes the watched veth while Run
// runs and makes it again: Run says so, comes back by itself (the eBPF
// program re-attached, the libpcap capture reopened), and the final report
// counts the packets of before and after as one flow, exactly. A SIGHUP
// then reloads a changed profile without losing a count.
func TestSurvivesInterfaceRecreated(t *testing.T) {
	for _, engine := range []string{"ebpf", "pcap"} {
		t.Run(engine, func(t *testing.T) {
			l := newWC7Lab(t, true)
			dir := t.TempDir()
			prof := filepath.Join(dir, "wc7.yaml")
			if err := os.WriteFile(prof, []byte(wc7Profile), 0o644); err != nil {
				t.Fatal(err)
			}
			events := filepath.Join(dir, "events.jsonl")
			w := startRun(t, l.Host, runSpec{Interface: wc7HostIf, Profile: prof, Engine: engine, Interval: time.Second,
				Metrics: "127.0.0.1:0", Events: events})
			addr := metricsAddrOf(t, w)

			sendUDP(t, l.Host, 40001, 5001, 100)
			sendUDP(t, l.Host, 40002, 5002, 7) // nothing expects 5002
			if _, ok := w.WaitLine(5*time.Second, "unexpected", "UDP 5002"); !ok {
				t.Fatalf("no alert for UDP 5002:\n%s", w.StderrText())
			}
			time.Sleep(1500 * time.Millisecond) // a summary reads the counts

			l.IP("-n", l.Host, "link", "del", wc7HostIf)
			if _, ok := w.WaitLine(5*time.Second, "interface "+wc7HostIf+" was deleted"); !ok {
				t.Fatalf("watch did not say the interface went:\n%s", w.StderrText())
			}
			if v := watchtest.MetricValue(t, scrapeNetns(t, l.Host, addr), "wirecheck_up", "interface", wc7HostIf); v != 0 {
				t.Errorf("wirecheck_up %v while the interface is gone", v)
			}
			wc7Veth(l, true)
			if _, ok := w.WaitLine(10*time.Second, "interface "+wc7HostIf+" is up: watching again"); !ok {
				t.Fatalf("watch did not come back:\n%s", w.StderrText())
			}
			mf := scrapeNetns(t, l.Host, addr)
			if v := watchtest.MetricValue(t, mf, "wirecheck_up", "interface", wc7HostIf); v != 1 {
				t.Errorf("wirecheck_up %v after the interface came back", v)
			}
			if v := watchtest.MetricValue(t, mf, "wirecheck_interface_recoveries_total"); v != 1 {
				t.Errorf("wirecheck_interface_recoveries_total %v, want 1", v)
			}
			sendUDP(t, l.Host, 40001, 5001, 50)
			sendUDP(t, l.Host, 40002, 5002, 3)

			// SIGHUP with a profile that now allows 5002.
			if err := os.WriteFile(prof, []byte(wc7Profile+"  - {name: later, from: host, to: lab, proto: udp, ports: 5002, level: allowed}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := w.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			if _, ok := w.WaitLine(5*time.Second, "profile reloaded", "counts kept"); !ok {
				t.Fatalf("no reload:\n%s", w.StderrText())
			}
			time.Sleep(1500 * time.Millisecond)
			rep := w.stop(t, syscall.SIGTERM)
			if rep.Verdict != "not-conformant" { // nfs is required and never seen
				t.Errorf("verdict %s, want not-conformant; stderr:\n%s", rep.Verdict, w.StderrText())
			}
			for _, c := range []struct {
				port    uint16
				packets uint64
				verdict string
			}{{5001, 150, "expected"}, {5002, 10, "expected"}} {
				fl := watchtest.Flows(rep, "udp", c.port)
				if len(fl) != 1 {
					t.Errorf("udp/%d: %d flows, want 1 (before and after the interface came back): %+v", c.port, len(fl), fl)
					continue
				}
				if fl[0].ClientSent.Packets != c.packets || fl[0].Verdict != c.verdict {
					t.Errorf("udp/%d: the host sent %d packets, verdict %s; want %d, %s", c.port, fl[0].ClientSent.Packets, fl[0].Verdict, c.packets, c.verdict)
				}
			}
			evs := watchtest.ReadEvents(t, events)
			var kinds []string
			for _, e := range watchtest.EventsOf(evs, "interface") {
				kinds = append(kinds, e["event"].(string))
			}
			if strings.Join(kinds, ",") != "interface_gone,interface_up" {
				t.Errorf("interface events %v, want interface_gone then interface_up", kinds)
			}
			if len(watchtest.EventsOf(evs, "reload")) != 1 {
				t.Errorf("reload events: %v", watchtest.EventsOf(evs, "reload"))
			}
		})
	}
}

// TestInterfaceDownUp: down and up again is said, and the eBPF
// program keeps counting without being attached again.
func TestInterfaceDownUp(t *testing.T) {
	l := newWC7Lab(t, true)
	prof := writeProfile(t, "wc7.yaml", wc7Profile)
	w := startRun(t, l.Host, runSpec{Interface: wc7HostIf, Profile: prof, Engine: "ebpf", Interval: time.Second})
	sendUDP(t, l.Host, 40001, 5001, 20)
	l.IP("-n", l.Host, "link", "set", wc7HostIf, "down")
	if _, ok := w.WaitLine(5*time.Second, "interface "+wc7HostIf+" is down"); !ok {
		t.Fatalf("down not said:\n%s", w.StderrText())
	}
	l.IP("-n", l.Host, "link", "set", wc7HostIf, "up")
	if _, ok := w.WaitLine(5*time.Second, "interface "+wc7HostIf+" is up"); !ok {
		t.Fatalf("up not said:\n%s", w.StderrText())
	}
	// The route came back with the link; the kernel may need a moment.
	time.Sleep(200 * time.Millisecond)
	sendUDP(t, l.Host, 40001, 5001, 30)
	time.Sleep(1200 * time.Millisecond)
	fl := watchtest.Flows(w.stop(t, syscall.SIGTERM), "udp", 5001)
	if len(fl) != 1 || fl[0].ClientSent.Packets != 50 {
		t.Errorf("udp/5001 flows %+v, want one with 50 packets from the host", fl)
	}
}

// soakFrames writes into buf the three frames of short TCP flow i: the
// client's SYN to 10.218.0.1:2049, the server's SYN-ACK and the client's
// ACK of it (without that ACK the flow is half-open, a failed attempt,
// and the required rule would rightly not be seen). Clients are
// 10.218.1.1 to .16, each with ports from 1024 up, so that a million flows
// never reuse a key.
func soakFrames(buf *[3][54]byte, i int, hostMAC, peerMAC net.HardwareAddr) {
	client := [4]byte{10, 218, 1, byte(1 + i%16)}
	server := [4]byte{10, 218, 0, 1}
	cport := uint16(1024 + i/16)
	for d := range 3 {
		f := buf[d][:]
		copy(f[0:6], peerMAC)
		copy(f[6:12], hostMAC)
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip := f[14:34]
		ip[0], ip[1] = 0x45, 0
		binary.BigEndian.PutUint16(ip[2:], 40)
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		ip[6], ip[7], ip[8], ip[9] = 0x40, 0, 64, 6
		ip[10], ip[11] = 0, 0
		src, dst, sport, dport, flags := client, server, cport, uint16(2049), byte(0x02)
		switch d {
		case 1:
			src, dst, sport, dport, flags = server, client, 2049, cport, 0x12
		case 2:
			flags = 0x10
		}
		copy(ip[12:16], src[:])
		copy(ip[16:20], dst[:])
		binary.BigEndian.PutUint16(ip[10:], checksum(ip, 0))
		tcp := f[34:54]
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], uint32(i)*7919)
		binary.BigEndian.PutUint32(tcp[8:], 0)
		switch d {
		case 1:
			binary.BigEndian.PutUint32(tcp[4:], uint32(i)*104729)
			binary.BigEndian.PutUint32(tcp[8:], uint32(i)*7919+1)
		case 2:
			binary.BigEndian.PutUint32(tcp[4:], uint32(i)*7919+1)
			binary.BigEndian.PutUint32(tcp[8:], uint32(i)*104729+1)
		}
		tcp[12], tcp[13] = 5<<4, flags
		binary.BigEndian.PutUint16(tcp[14:], 64240)
		tcp[16], tcp[17], tcp[18], tcp[19] = 0, 0, 0, 0
		pseudo := uint32(binary.BigEndian.Uint16(src[0:])) + uint32(binary.BigEndian.Uint16(src[2:])) +
			uint32(binary.BigEndian.Uint16(dst[0:])) + uint32(binary.BigEndian.Uint16(dst[2:])) + 6 + 20
		binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, pseudo))
	}
}

// checksum is the Internet checksum of b plus an initial sum.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// procStatus reads a field (in kB) of /proc/PID/status.
func procStatus(t *testing.T, pid int, field string) uint64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestSoakMillionFlows churns a million short TCP flows (two frames
// each, written into the veth with an AF_PACKET socket) through the eBPF
// engine with a kernel map of 262,144 flows (a few seconds of slack should
// the sweeper be starved of CPU). Idle flows are swept into
// per-conversation totals, so nothing is evicted and the final report holds
// every packet exactly, in 16 conversations; the process's peak RSS stays
// bounded, and its file descriptors and goroutines are the same after the
// millionth flow as after the first quarter.
func TestSoakMillionFlows(t *testing.T) {
	const (
		flows   = 1_000_000
		rate    = 25_000 // flows per second the sender aims at at most
		batch   = 500
		frameSz = 54
	)
	l := newWC7Lab(t, false)
	prof := writeProfile(t, "wc7.yaml", wc7Profile)
	w := startRun(t, l.Host, runSpec{Interface: wc7HostIf, Profile: prof, Hosts: []string{"10.218.0.1"}, Engine: "ebpf",
		Interval: 2 * time.Second, Idle: 500 * time.Millisecond, MaxFlows: 262144, Metrics: "127.0.0.1:0"})
	addr := metricsAddrOf(t, w)

	var fd int
	var hostMAC, peerMAC net.HardwareAddr
	if err := testenv.InNetns(l.Host, func() error {
		ifi, err := net.InterfaceByName(wc7HostIf)
		if err != nil {
			return err
		}
		hostMAC = ifi.HardwareAddr
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0) // send only
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index})
	}); err != nil {
		t.Fatalf("packet socket: %v", err)
	}
	defer unix.Close(fd)
	out, err := runCmd("ip", "-n", l.Peer, "-br", "link", "show", wc7PeerIf)
	if err != nil {
		t.Fatalf("peer MAC: %v %s", err, out)
	}
	if peerMAC, err = net.ParseMAC(strings.Fields(out)[2]); err != nil {
		t.Fatalf("peer MAC in %q: %v", out, err)
	}

	type sample struct{ fds, goroutines, rss float64 }
	take := func() sample {
		mf := scrapeNetns(t, l.Host, addr)
		return sample{watchtest.MetricValue(t, mf, "process_open_fds"), watchtest.MetricValue(t, mf, "go_goroutines"), watchtest.MetricValue(t, mf, "process_resident_memory_bytes")}
	}
	var quarter sample
	var lastEvicted, lastSwept float64
	var quarterHWM uint64
	var frames [3][frameSz]byte
	start := time.Now()
	for i := 0; i < flows; i++ {
		soakFrames(&frames, i, hostMAC, peerMAC)
		for d := range frames {
			for {
				_, err := unix.Write(fd, frames[d][:])
				if err == nil {
					break
				}
				if err != unix.ENOBUFS && err != unix.EAGAIN {
					t.Fatalf("send frame %d of flow %d: %v", d, i, err)
				}
				time.Sleep(time.Millisecond)
			}
		}
		if (i+1)%batch == 0 {
			if ahead := time.Until(start.Add(time.Duration(i+1) * time.Second / rate)); ahead > 0 {
				time.Sleep(ahead)
			}
		}
		if i+1 == flows/4 {
			quarter = take()
			quarterHWM = procStatus(t, w.Cmd.Process.Pid, "VmHWM")
		}
		if (i+1)%100_000 == 0 {
			// Counters only rise, even while the map churns.
			mf := scrapeNetns(t, l.Host, addr)
			lv, _ := watchtest.LookupMetric(mf, "wirecheck_kernel_flows")
			ev, _ := watchtest.LookupMetric(mf, "wirecheck_kernel_flows_evicted_total")
			sw, _ := watchtest.LookupMetric(mf, "wirecheck_flows_swept_total")
			t.Logf("%v: %d flows sent; kernel map %v flows, %v evicted, %v swept", time.Since(start).Round(time.Millisecond), i+1, lv, ev, sw)
			if ev < lastEvicted || sw < lastSwept {
				t.Errorf("a counter went down: evicted %v -> %v, swept %v -> %v", lastEvicted, ev, lastSwept, sw)
			}
			lastEvicted, lastSwept = ev, sw
		}
	}
	sent := time.Since(start)
	time.Sleep(2500 * time.Millisecond) // every flow idle and swept, a summary taken
	end := take()
	mf := scrapeNetns(t, l.Host, addr)
	hwm := procStatus(t, w.Cmd.Process.Pid, "VmHWM")
	t.Logf("%d flows in %v (%.0f flows/s); quarter %+v (peak RSS %d MB), end %+v (peak RSS %d MB)", flows, sent.Round(time.Millisecond), flows/sent.Seconds(), quarter, quarterHWM>>10, end, hwm>>10)

	for _, c := range []struct {
		name string
		want float64
	}{
		{"wirecheck_kernel_flows_created_total", flows},
		{"wirecheck_kernel_flows_evicted_total", 0},
		{"wirecheck_flows_swept_total", flows},
		{"wirecheck_conversations", 16},
		{"wirecheck_swept_flows_dropped_total", 0},
		{"wirecheck_packets_total", 3 * flows},
		{"wirecheck_bytes_total", 3 * flows * frameSz},
		{"wirecheck_observation_complete", 1},
	} {
		if got := watchtest.MetricValue(t, mf, c.name); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if got := watchtest.MetricValue(t, mf, "wirecheck_rule_packets", "rule", "nfs"); got != 3*flows {
		t.Errorf("nfs rule packets %v, want %d", got, 3*flows)
	}
	if got := watchtest.MetricValue(t, mf, "wirecheck_required_rule_status", "rule", "nfs", "status", "seen"); got != 1 {
		t.Errorf("nfs rule not seen (%v)", got)
	}
	if end.fds != quarter.fds {
		t.Errorf("open fds %v after the quarter, %v at the end: a leak", quarter.fds, end.fds)
	}
	if end.goroutines > quarter.goroutines+2 {
		t.Errorf("goroutines %v after the quarter, %v at the end: a leak", quarter.goroutines, end.goroutines)
	}
	// A per-flow leak of even 64 bytes would add 48 MB over the last
	// three quarters; the live heap itself follows the flows in the map,
	// so the peak is compared, not the RSS of one moment.
	if hwm > quarterHWM+40<<10 {
		t.Errorf("peak RSS grew from %d MB to %d MB over the last 750,000 flows", quarterHWM>>10, hwm>>10)
	}
	if hwm > 256<<10 {
		t.Errorf("peak RSS %d MB, want at most 256 MB", hwm/1024)
	}

	rep := w.stop(t, syscall.SIGTERM)
	if rep.Verdict != "not-conformant" { // udp/5001 is required and never seen
		t.Errorf("verdict %s, want not-conformant; stderr:\n%s", rep.Verdict, w.StderrText())
	}
	var pk, by uint64
	for _, f := range rep.Flows {
		pk += f.Packets
		by += f.Bytes
		if f.Proto != "tcp" || f.ServerPort != 2049 || f.ClientPort != 0 || f.Verdict != "expected" {
			t.Errorf("flow %+v: want a conversation to tcp/2049 with client port 0, expected", f)
		}
	}
	if len(rep.Flows) != 16 || pk != 3*flows || by != 3*flows*frameSz || rep.Summary.Packets != 3*flows {
		t.Errorf("report: %d flows with %d packets, %d bytes (summary %d packets); want 16, %d, %d",
			len(rep.Flows), pk, by, rep.Summary.Packets, 3*flows, 3*flows*frameSz)
	}
	if !rep.Complete {
		t.Errorf("report incomplete: losses %+v", rep.Losses)
	}
}

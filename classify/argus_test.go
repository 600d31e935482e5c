package classify

import (
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/service"
)

// argusFlow is how Argus saw a flow end: its state (TCP: REQ requested,
// ACC accepted, CON connected, FIN or CLO closed, RST reset; UDP: CON
// both ways, INT one way), for TCP whether it
// timed a SYN-ACK after the SYN and an ACK after the SYN-ACK (racluster's
// synack and ackdat), and the packets both ways.
type argusFlow struct {
	state                string
	synACK, handshakeACK bool
	packets              int
}

func (f argusFlow) String() string {
	return fmt.Sprintf("%s (syn-ack %v, ack %v, %d packets)", f.state, f.synACK, f.handshakeACK, f.packets)
}

// argusKey is a TCP or UDP flow's protocol and two endpoints in a fixed
// order, as both sides of the comparison can name them.
type argusKey struct {
	proto ipproto.Proto
	a, b  netip.AddrPort
}

func newArgusKey(proto ipproto.Proto, a, b netip.AddrPort) argusKey {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return argusKey{proto, a, b}
}

// argusRun is what Argus saw in one file: its TCP and UDP flows, and the
// addresses it saw an ICMP destination unreachable sent to (its states
// URP, URH, URN, ...: Argus keeps those as ICMP flows of their own).
type argusRun struct {
	flows       map[argusKey][]argusFlow
	unreachable map[netip.Addr]bool
}

// argusAccepted are the differences from Argus that are understood, each
// with why wirecheck's answer is the one to keep. Each must still occur.
var argusAccepted = map[string]string{
	"tcpdump-tests/bgp-bgp_capabilities_print-oobr-1.pcap: tcp 16.233.34.0:100-226.219.0.0:179: unanswered, argus CON (syn-ack false, ack false, 1 packets)": argusLoneSYN,
	"tcpdump-tests/bgp-bgp_capabilities_print-oobr-2.pcap: tcp 16.233.34.0:100-226.219.0.0:179: unanswered, argus CON (syn-ack false, ack false, 1 packets)": argusLoneSYN,
}

// A fuzzed lone segment with SYN, PSH, URG and ECE set and 4,075 bytes of
// data, never answered: an attempt that got nothing back (tshark's packets
// say the same, TestFlowTruthAgainstTshark). Argus calls any TCP flow
// carrying data connected.
const argusLoneSYN = "a lone unanswered SYN carrying data"

// TestFlowStatesAgainstArgus compares how each TCP and UDP flow of the
// corpus and of our own recordings ended with Argus, a flow meter
// written independently of wirecheck and of tshark. It checks the answers
// a conformance verdict rests on. TCP: a flow wirecheck calls completed (established, closed,
// reset) must not be one Argus saw only requested or accepted (REQ, ACC: a
// false pass); a flow it calls failed (refused, unanswered, half-open,
// unreachable) must not be one Argus saw connected (CON, FIN, CLO, or a
// SYN-ACK and its ACK timed: a false alarm); a refusal (one SYN, one RST)
// must be one for both. UDP: answered must be Argus's CON, one-way and
// unreachable its INT. And every flow wirecheck calls unreachable must have
// its client among the addresses Argus saw an ICMP destination unreachable
// sent to. Flows Argus does not see as one flow (tunnels and link types it
// does not decode, reused ports) are not compared.
func TestFlowStatesAgainstArgus(t *testing.T) {
	testenv.RequireTools(t, "argus", "racluster")
	dir, files := corpusFiles(t)
	files = append(files, ownCaptures(t)...)
	hints := flow.PortHints{WellKnown: service.WellKnown}
	var diffs []string
	compared := map[string]int{} // by protocol and wirecheck's state
	// Argus runs only on the files where wirecheck found TCP or UDP flows:
	// each run costs about 60 ms of CPU, whatever the file.
	ours := make([]map[argusKey][]*flow.Flow, len(files))
	var withFlows []string
	for i, file := range files {
		for _, f := range readEveryFlow(file) {
			if f.Key.Proto == ipproto.TCP || f.Key.Proto == ipproto.UDP {
				if ours[i] == nil {
					ours[i] = map[argusKey][]*flow.Flow{}
					withFlows = append(withFlows, file)
				}
				k := newArgusKey(f.Key.Proto, netip.AddrPortFrom(f.Key.Addr(flow.SideA), f.Key.APort), netip.AddrPortFrom(f.Key.Addr(flow.SideB), f.Key.BPort))
				ours[i][k] = append(ours[i][k], f)
			}
		}
	}
	argus := argusCorpus(t, withFlows)
	for i, file := range files {
		run := argus[file]
		if ours[i] == nil || run.flows == nil {
			continue // Argus cannot read it: TestCorpus says what wirecheck does with it
		}
		name, _ := filepath.Rel(dir, file)
		for k, fs := range ours[i] {
			if len(fs) != 1 || len(run.flows[k]) != 1 {
				continue
			}
			c := clientSide(fs[0].Client(hints))
			st := fs[0].State(c)
			af := run.flows[k][0]
			compared[k.proto.String()+" "+st.String()]++
			if !argusAgrees(k.proto, st, af) || st == flow.StateUnreachable && !run.unreachable[fs[0].Key.Addr(c)] {
				diffs = append(diffs, fmt.Sprintf("%s: %v %s-%s: %v, argus %s", name, k.proto, k.a, k.b, st, af))
			}
		}
	}
	t.Logf("flows compared with Argus, by wirecheck's state: %v", compared)
	checkStatesCovered(t, "Argus", compared)
	checkAccepted(t, diffs, argusAccepted)
}

// checkStatesCovered fails t unless the flows compared with tool, counted
// by protocol and wirecheck's state, cover every state a verdict rests on:
// the comparison means something only if the captures exercise it.
func checkStatesCovered(t *testing.T, tool string, compared map[string]int) {
	t.Helper()
	for _, st := range []string{"tcp established", "tcp closed", "tcp reset", "tcp refused", "tcp unanswered", "tcp unreachable",
		"tcp half-open", "udp answered", "udp one-way", "udp unreachable"} {
		least := 3
		if st == "tcp half-open" { // one recording has it
			least = 1
		}
		if compared[st] < least {
			t.Errorf("only %d %s flows compared with %s: the captures no longer test that state", compared[st], st, tool)
		}
	}
}

// argusAgrees says whether Argus's view of a flow fits the state wirecheck
// gave it, for the answers a verdict rests on (TestFlowStatesAgainstArgus).
func argusAgrees(proto ipproto.Proto, st flow.State, af argusFlow) bool {
	if proto == ipproto.UDP {
		switch st {
		case flow.StateAnswered:
			return af.state == "CON"
		case flow.StateOneWay, flow.StateUnreachable:
			return af.state == "INT"
		}
		return true
	}
	completed := st == flow.StateEstablished || st == flow.StateClosed || st == flow.StateReset
	connected := af.state == "CON" || af.state == "FIN" || af.state == "CLO" || af.synACK && af.handshakeACK
	// A SYN answered by an RST and nothing else: Argus's RST, one packet
	// each way, no SYN-ACK.
	refusal := af.state == "RST" && !af.synACK && af.packets == 2
	return !(completed && (af.state == "REQ" || af.state == "ACC")) && !(st.Failed() && connected) &&
		(st == flow.StateRefused) == refusal
}

// clientSide drops Client's method.
func clientSide(s flow.Side, _ flow.Method) flow.Side { return s }

// readEveryFlow classifies file as wirecheck analyse reads it with
// --tunnels off, every flow kept (the comparisons with Argus and Suricata).
func readEveryFlow(file string) []*flow.Flow {
	f, err := capture.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	obs, _ := ReadFiles([]*capture.File{f}, ReadOptions{Limits: Limits{Tunnels: TunnelsOff}})
	out := make([]*flow.Flow, len(obs.Flows))
	for i := range obs.Flows {
		out[i] = &obs.Flows[i]
	}
	return out
}

// argusCorpus runs argusFlows on every file, many at once: argus spends
// about a second of each run waiting for a thread to end, not computing.
func argusCorpus(t *testing.T, files []string) map[string]argusRun {
	res := make([]argusRun, len(files))
	dir := t.TempDir()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, file := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res[i] = argusFlows(t, file, filepath.Join(dir, strconv.Itoa(i)+".argus"))
		}()
	}
	wg.Wait()
	out := make(map[string]argusRun, len(files))
	for i, file := range files {
		out[file] = res[i]
	}
	return out
}

// argusFlows runs argus over file, writing its records to records, and
// racluster over them, and returns what Argus saw (argusRun); its flows
// are nil when argus cannot read the file.
func argusFlows(t *testing.T, file, records string) argusRun {
	// -X: this run's options only, not /etc/argus.conf's.
	if out, err := exec.Command("argus", "-X", "-r", file, "-w", records).CombinedOutput(); err != nil {
		t.Logf("argus %s: %v: %s", file, err, bytes.TrimSpace(out))
		return argusRun{}
	}
	out, err := exec.Command("racluster", "-r", records, "-n", "-c", ",", "-m", "saddr", "daddr", "proto", "sport", "dport",
		"-s", "proto", "saddr", "sport", "daddr", "dport", "state", "synack", "ackdat", "pkts").Output()
	if err != nil {
		// racluster's filter language exits 1 when nothing matches, so the
		// flows are picked below.
		t.Errorf("racluster %s: %v", file, err)
		return argusRun{}
	}
	run := argusRun{flows: map[argusKey][]argusFlow{}, unreachable: map[netip.Addr]bool{}}
	for _, line := range strings.Split(string(out), "\n")[1:] { // after the header
		c := strings.Split(line, ",")
		for i := range c {
			c[i] = strings.TrimSpace(c[i])
		}
		if len(c) != 9 {
			continue
		}
		var proto ipproto.Proto
		switch c[0] {
		case "tcp":
			proto = ipproto.TCP
		case "udp":
			proto = ipproto.UDP
		case "icmp", "ipv6-icmp":
			if strings.HasPrefix(c[5], "UR") {
				if a, err := netip.ParseAddr(c[3]); err == nil {
					run.unreachable[a] = true
				}
			}
			continue
		default:
			continue
		}
		a, aerr := addrPort(c[1], c[2])
		b, berr := addrPort(c[3], c[4])
		synack, serr := strconv.ParseFloat(c[6], 64)
		ackdat, derr := strconv.ParseFloat(c[7], 64)
		pkts, perr := strconv.Atoi(c[8])
		if aerr != nil || berr != nil || serr != nil || derr != nil || perr != nil {
			t.Errorf("racluster %s: unexpected line %q", file, line)
			return argusRun{}
		}
		k := newArgusKey(proto, a, b)
		run.flows[k] = append(run.flows[k], argusFlow{c[5], synack > 0, ackdat > 0, pkts})
	}
	return run
}

func addrPort(addr, port string) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	return netip.AddrPortFrom(a, uint16(p)), err
}

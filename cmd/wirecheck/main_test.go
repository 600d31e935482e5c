package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/classify/report"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/golden")

const captures = "../../testdata/captures"

// wirecheck runs the command in-process and returns stdout, stderr and the
// exit status.
func wirecheck(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// goldenCase is one recorded capture analysed with the arguments a person
// checked its golden reports with.
type goldenCase struct {
	name string
	file string
	args []string
	exit int
}

var goldenCases = []goldenCase{
	{"filegw-conformant", "filegw-conformant.pcapng", []string{"-p", "storage-gateway/file-nfs", "--host", "10.0.0.5"}, 0},
	{"filegw-faulty", "filegw-faulty.pcap", []string{"-p", "storage-gateway/file-nfs", "--host", "10.0.0.5"}, 1},
	{"misc", "misc.pcapng", []string{"-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "--host", "fd00::5"}, 1},
	{"related", "related.pcapng", relatedArgs, 1},
}

// relatedArgs judge related.pcapng (FTP and rpcbind/statd, see
// testdata/netns/record-related.sh) with the catalogue's FTP and NFS rules;
// ecs/ftp's clients are the CIDR block the scenario says to specify (the
// lab's client, 10.0.0.1), without which the group matches no address.
var relatedArgs = []string{"-p", "storage-gateway/file-nfs", "-p", "ecs/ftp", "--host", "10.0.0.5", "--peer", "ftp-clients=10.0.0.0/24"}

func TestGoldenReports(t *testing.T) {
	for _, tc := range goldenCases {
		for _, format := range []string{"text", "json", "markdown", "junit", "sarif"} {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				args := append([]string{"analyse", "--format", format}, tc.args...)
				out, stderr, code := wirecheck(t, nil, append(args, filepath.Join(captures, tc.file))...)
				if code != tc.exit {
					t.Fatalf("exit %d, want %d; stderr: %s", code, tc.exit, stderr)
				}
				golden := filepath.Join("../../testdata/golden", tc.name+"."+goldenExt[format])
				if *update {
					if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./cmd/wirecheck -update, then read the report before committing it)", err)
				}
				if out != string(want) {
					t.Errorf("report differs from %s (rerun with -update and review the diff):\n%s", golden, diffLines(string(want), out))
				}
			})
		}
	}
}

// goldenExt names each format's golden file as tools expect the format
// named. HTML has no golden file: classify/report checks its structure and
// renders it in a browser.
var goldenExt = map[string]string{"text": "text", "json": "json", "markdown": "md", "junit": "junit.xml", "sarif": "sarif"}

// diffLines shows the first lines that differ, enough to see what changed.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)) && b.Len() < 2000; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want: %s\n  got:  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func analyseJSON(t *testing.T, args ...string) (*report.Report, int) {
	t.Helper()
	out, stderr, code := wirecheck(t, nil, append([]string{"analyse", "--format", "json"}, args...)...)
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON (%v); exit %d; stderr: %s", err, code, stderr)
	}
	return &rep, code
}

// TestFaultyGatewayFourFaults holds the faulty capture to exactly the four
// faults its recording script put in, each with the right state and rule.
func TestFaultyGatewayFourFaults(t *testing.T) {
	rep, code := analyseJSON(t, "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", filepath.Join(captures, "filegw-faulty.pcap"))
	if code != 1 || rep.Verdict != "not-conformant" {
		t.Fatalf("exit %d verdict %s", code, rep.Verdict)
	}
	type fault struct{ kind, rule, proto, server, state string }
	var got []fault
	for _, p := range rep.Problems {
		if !p.Fails {
			continue
		}
		f := fault{kind: p.Kind}
		if p.Rule != nil {
			f.rule = *p.Rule
		}
		if p.Flow != nil {
			fl := rep.Flows[*p.Flow]
			f.proto, f.server, f.state = fl.Proto, fmt.Sprintf("%s:%d", fl.Server, fl.ServerPort), fl.State
		}
		got = append(got, f)
	}
	want := []fault{
		{"blocked", "storage-gateway/common:https-service", "tcp", "198.51.100.10:443", "unanswered"},
		{"missing", "storage-gateway/common:ntp", "", "", ""},
		{"unexpected", "", "tcp", "10.0.0.5:23", "refused"},
		{"unexpected", "", "tcp", "203.0.113.25:25", "closed"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("faults\n got  %v\n want %v", got, want)
	}
	for _, f := range rep.Flows {
		if f.Server == "203.0.113.25" && (f.Direction != "outbound" || strings.Join(f.Names.Server, ",") != "mail.example.net") {
			t.Errorf("SMTP flow: direction %s names %v", f.Direction, f.Names.Server)
		}
		if f.ServerPort == 23 && (f.Direction != "inbound" || f.Client != "10.0.0.66") {
			t.Errorf("telnet flow: direction %s client %s", f.Direction, f.Client)
		}
		if f.Server == "198.51.100.10" && f.SYNs < 2 {
			t.Errorf("dropped HTTPS: %d SYNs, want the retransmissions counted", f.SYNs)
		}
	}
}

// convKey names a conversation independently of direction and of how the
// tool prints addresses.
func convKey(proto string, a netip.AddrPort, b netip.AddrPort) string {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return fmt.Sprintf("%s %s %s", proto, a, b)
}

// splitAddrPort parses tshark's "addr:port", whose IPv6 addresses are not
// bracketed: the port is after the last colon.
func splitAddrPort(t *testing.T, s string) netip.AddrPort {
	i := strings.LastIndexByte(s, ':')
	addr, err := netip.ParseAddr(s[:i])
	port, err2 := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil || err2 != nil {
		t.Fatalf("tshark address %q: %v %v", s, err, err2)
	}
	return netip.AddrPortFrom(addr, uint16(port))
}

type counts struct{ packets, bytes uint64 }

// tsharkConversations runs tshark's conversation statistics, the tool most
// users would check wirecheck's numbers with.
func tsharkConversations(t *testing.T, file string) map[string]counts {
	t.Helper()
	testenv.RequireTools(t, "tshark")
	// -n: addresses as numbers whatever the machine's settings.
	out, err := exec.Command("tshark", "-n", "-r", file, "-q", "-z", "conv,tcp", "-z", "conv,udp").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	convs := map[string]counts{}
	proto := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "TCP Conversations"):
			proto = "tcp"
		case strings.HasPrefix(line, "UDP Conversations"):
			proto = "udp"
		}
		f := strings.Fields(line)
		if len(f) < 12 || f[1] != "<->" {
			continue
		}
		// A <-> B, then frames/bytes B->A, A->B and total, each "N bytes".
		if f[5] != "bytes" || f[8] != "bytes" || f[11] != "bytes" {
			t.Fatalf("tshark rounded a byte count (%q); keep test captures small", line)
		}
		p, err1 := strconv.ParseUint(f[9], 10, 64)
		b, err2 := strconv.ParseUint(f[10], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("tshark line %q", line)
		}
		convs[convKey(proto, splitAddrPort(t, f[0]), splitAddrPort(t, f[2]))] = counts{p, b}
	}
	if len(convs) == 0 {
		t.Fatalf("tshark found no conversations in %s", file)
	}
	return convs
}

// TestCountsAgreeWithTshark checks flow, packet and byte counts of every
// recorded capture against tshark's conversation tables.
func TestCountsAgreeWithTshark(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(captures, "*.pcap*"))
	if len(files) == 0 {
		t.Fatal("no captures in " + captures)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := tsharkConversations(t, file)
			rep, _ := analyseJSON(t, "-p", "storage-gateway/file-nfs", file)
			got := map[string]counts{}
			for _, f := range rep.Flows {
				if (f.Proto != "tcp" && f.Proto != "udp") || f.Packets == 0 {
					continue // tshark's tables have no ICMP, nor flows known only from an ICMP quote
				}
				c := netip.AddrPortFrom(netip.MustParseAddr(f.Client), f.ClientPort)
				s := netip.AddrPortFrom(netip.MustParseAddr(f.Server), f.ServerPort)
				got[convKey(f.Proto, c, s)] = counts{f.Packets, f.Bytes}
			}
			for k, w := range want {
				if g, ok := got[k]; !ok {
					t.Errorf("%s: tshark has %d packets, %d bytes; wirecheck has no such flow", k, w.packets, w.bytes)
				} else if g != w {
					t.Errorf("%s: wirecheck %d packets %d bytes, tshark %d packets %d bytes", k, g.packets, g.bytes, w.packets, w.bytes)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: wirecheck has a flow tshark does not", k)
				}
			}
		})
	}
}

// writeProfile writes a profile of the given text to a file name in a
// temporary directory and returns its path.
func writeProfile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

// TestCorpusCLI runs `wirecheck analyse` in-process on every corpus file:
// no panic, an exit status of 0, 1 or 2, and standard error either empty or
// at most two lines, each naming the file (where reading stopped, or why it
// could not start; that no flow gave the host); status 2 always comes with
// such a line or with a loss the report names (frames not decoded, damaged
// records skipped), since nothing else can make these runs undecidable.
// Heap stays bounded after each file.
func TestCorpusCLI(t *testing.T) {
	dir := testcorpus.Dir(t)
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".cap")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatalf("corpus %s holds no captures", dir)
	}
	codes := map[int]int{}
	for _, file := range files {
		name, _ := filepath.Rel(dir, file)
		t.Run(name, func(t *testing.T) {
			out, stderr, code := wirecheck(t, nil, "analyse", "-p", "storage-gateway/file-nfs", file)
			codes[code]++
			if code < 0 || code > 2 {
				t.Fatalf("exit %d", code)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			switch {
			case stderr == "" && code == exitError && !strings.Contains(out, "(the report is built on incomplete data)"):
				t.Errorf("exit 2 with nothing on standard error and no loss in the report; stdout:\n%s", out)
			case stderr != "" && len(lines) > 2:
				t.Errorf("standard error is more than two lines: %q", stderr)
			}
			for _, l := range lines {
				if stderr != "" && !strings.Contains(l, file) {
					t.Errorf("a line of standard error does not name the file: %q", l)
				}
			}
			if strings.Contains(stderr, "reading stopped") && !strings.Contains(out, "INCOMPLETE") {
				t.Errorf("reading stopped but the report does not say so:\n%s", out)
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > 256<<20 {
				t.Errorf("heap %d MB after the run", ms.HeapAlloc>>20)
			}
		})
	}
	t.Logf("corpus through the CLI: %d files, exit statuses %v", len(files), codes)
}

// anyTCP allows every TCP flow, so that only folding can keep a run from
// being conformant.
const anyTCP = `version: 1
profile: test/any-tcp
rules:
  - {name: all, from: any, to: any, proto: tcp, level: allowed, bidirectional: true}
`

// manyFlows writes a capture of n TCP connections from distinct clients to
// 10.0.0.5:443, each a SYN and a SYN-ACK.
func manyFlows(t *testing.T, n int) string {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	host := net.IPv4(10, 0, 0, 5)
	for i := range n {
		client := net.IPv4(198, 51, 100, byte(i))
		for _, dir := range []bool{false, true} {
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: client, DstIP: host}
			tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, ACK: dir, Window: 1000}
			if dir {
				ip.SrcIP, ip.DstIP = host, client
				tcp.SrcPort, tcp.DstPort = 443, 40000
			}
			buf := gopacket.NewSerializeBuffer()
			gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
				&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}, ip, tcp)
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(1e9+i), 0), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
			if err := w.WritePacket(ci, buf.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	name := filepath.Join(dir, "many.pcap")
	os.WriteFile(name, b.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "any.yaml"), []byte(anyTCP), 0o644)
	return name
}

func TestMaxFlows(t *testing.T) {
	capture := manyFlows(t, 12)
	prof := filepath.Join(filepath.Dir(capture), "any.yaml")

	// Without a cap every flow is judged: conformant.
	if _, stderr, code := wirecheck(t, nil, "analyse", "-p", prof, capture); code != exitConformant {
		t.Fatalf("without --max-flows: exit %d, stderr %s", code, stderr)
	}

	out, stderr, code := wirecheck(t, nil, "analyse", "-p", prof, "--max-flows", "5", "--format", "json", capture)
	if code != exitError || stderr != "" {
		t.Fatalf("exit %d (want 2: folded flows are not judged), stderr %q", code, stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != "inconclusive" || rep.Complete || len(rep.Flows) != 5 || rep.Summary.Packets != 24 {
		t.Errorf("verdict %s, complete %v, %d flows, %d packets", rep.Verdict, rep.Complete, len(rep.Flows), rep.Summary.Packets)
	}
	want := report.FoldedService{Proto: "tcp", ServerPort: 443, Direction: "inbound", Flows: 7, Packets: 14}
	if fo := rep.Folded; fo == nil || fo.Flows != 7 || !fo.Exact || len(fo.Services) != 1 {
		t.Fatalf("folded %+v", rep.Folded)
	} else if got := fo.Services[0]; got.Bytes == 0 || func() bool { got.Bytes = 0; return got != want }() {
		t.Errorf("folded service %+v, want %+v", fo.Services[0], want)
	}
	var folded bool
	for _, p := range rep.Problems {
		if p.Kind == "folded" && strings.Contains(p.Text, "7 flows beyond the flow limit") && strings.Contains(p.Text, "inbound TCP 443 (7 flows)") {
			folded = true
		}
	}
	if !folded {
		t.Errorf("no folded problem in %+v", rep.Problems)
	}

	text, _, _ := wirecheck(t, nil, "analyse", "-p", prof, "--max-flows", "5", capture)
	if !strings.Contains(text, "folded: 7 more flows beyond --max-flows into 1 service ") || !strings.HasPrefix(text, "INCONCLUSIVE") {
		t.Errorf("text report:\n%s", text)
	}

	// A cap the capture stays under changes nothing.
	if _, _, code := wirecheck(t, nil, "analyse", "-p", prof, "--max-flows", "12", capture); code != exitConformant {
		t.Errorf("--max-flows 12 with 12 flows: exit %d", code)
	}
	if _, stderr, code := wirecheck(t, nil, "analyse", "-p", prof, "--max-flows", "-1", capture); code != exitError || !strings.Contains(stderr, "--max-flows -1") {
		t.Errorf("--max-flows -1: exit %d, stderr %q", code, stderr)
	}
	if _, _, code := wirecheck(t, nil, "analyse", "-p", prof, "--max-flows", "0", capture); code != exitConformant {
		t.Errorf("--max-flows 0 (no limit): exit %d", code)
	}
	if def := newAnalyse().Flags().Lookup("max-flows").DefValue; def != "1000000" {
		t.Errorf("default --max-flows %s, want a bound of 1000000", def)
	}
}

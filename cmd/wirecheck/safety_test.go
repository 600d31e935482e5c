package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/classify/report"
)

// copyFile copies src into dir and returns the copy's name.
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestOutputNeverAnInput: -o naming an input (by its name, another name, a
// hard or symbolic link) is refused before anything is read or written,
// and the input is left as it was; a capture named twice is refused.
func TestOutputNeverAnInput(t *testing.T) {
	dir := t.TempDir()
	capture := copyFile(t, filepath.Join(captures, "filegw-faulty.pcap"), dir)
	prof := filepath.Join(dir, "any.yaml")
	os.WriteFile(prof, []byte(anyTCP), 0o644)
	rep := copyFile(t, filepath.Join(golden, "filegw-faulty.json"), dir)
	rep2 := copyFile(t, filepath.Join(golden, "filegw-conformant.json"), dir)
	hard := filepath.Join(dir, "hard.pcap")
	if err := os.Link(capture, hard); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "sym.pcap")
	if err := os.Symlink(capture, sym); err != nil {
		t.Fatal(err)
	}
	dotted := dir + "/./" + filepath.Base(capture) // a second name, not cleaned
	want := map[string][]byte{}
	for _, f := range []string{capture, prof, rep, rep2} {
		want[f], _ = os.ReadFile(f)
	}
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"analyse", "-p", "storage-gateway/file-nfs", "-o", capture, capture}, "-o " + capture + " is the input " + capture},
		{[]string{"analyse", "-p", "storage-gateway/file-nfs", "-o", dotted, capture}, "is the input " + capture},
		{[]string{"analyse", "-p", "storage-gateway/file-nfs", "-o", hard, capture}, "is the input " + capture},
		{[]string{"analyse", "-p", "storage-gateway/file-nfs", "-o", sym, capture}, "is the input " + capture},
		{[]string{"analyse", "-p", prof, "-o", prof, capture}, "is the input " + prof},
		{[]string{"analyse", "-p", prof, "--baseline", rep, "-o", rep, capture}, "is the input " + rep},
		{[]string{"suggest", "-o", capture, capture}, "is the input " + capture},
		{[]string{"suggest", "-p", prof, "-o", prof, capture}, "is the input " + prof},
		{[]string{"diff", "-o", rep2, rep, rep2}, "is the input " + rep2},
		{[]string{"analyse", "-p", prof, capture, capture}, capture + " is given twice"},
		{[]string{"analyse", "-p", prof, capture, hard}, capture + " and " + hard + " are the same file"},
		{[]string{"suggest", capture, dotted}, "are the same file"},
		{[]string{"analyse", "-p", prof, "-o", dir, capture}, "is a directory"},
	} {
		_, stderr, code := wirecheck(t, nil, c.args...)
		if code != exitError || !strings.Contains(stderr, c.say) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.say)
		}
		for f, data := range want {
			if got, _ := os.ReadFile(f); !bytes.Equal(got, data) {
				t.Fatalf("%v changed %s", c.args, f)
			}
		}
	}
	if fi, err := os.Lstat(sym); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v", err)
	}
	// Comparing a report with itself reads one file twice and is allowed.
	if _, stderr, code := wirecheck(t, nil, "diff", rep, rep); code != exitConformant {
		t.Errorf("diff of a report with itself: exit %d, %s", code, stderr)
	}
	assertNoTemp(t, dir)
}

// TestOutputReplacedWhole: a report through a symbolic link replaces the
// file it points at, keeping that file's permissions, and leaves no
// temporary file (outfile's tests cover a failed write).
func TestOutputReplacedWhole(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "report.txt")
	os.WriteFile(old, []byte("the good report\n"), 0o600)
	link := filepath.Join(dir, "latest.txt")
	os.Symlink("report.txt", link)
	capture := filepath.Join(captures, "filegw-faulty.pcap")
	if _, stderr, code := wirecheck(t, nil, "analyse", "-q", "-p", "storage-gateway/file-nfs", "-o", link, capture); code != exitNotConformant {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, _ := os.ReadFile(old)
	fi, _ := os.Stat(old)
	if !strings.HasPrefix(string(got), "NOT CONFORMANT") || fi.Mode().Perm() != 0o600 {
		t.Errorf("report through the link: mode %v, %q", fi.Mode(), got[:min(len(got), 40)])
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v", err)
	}
	assertNoTemp(t, dir)
}

// TestOutputToDevice: -o naming a device or a FIFO writes into it; a
// report renamed over /dev/null once replaced the device node with a
// regular file, for every program on the machine.
func TestOutputToDevice(t *testing.T) {
	capture := filepath.Join(captures, "filegw-faulty.pcap")
	if _, stderr, code := wirecheck(t, nil, "analyse", "-q", "-p", "storage-gateway/file-nfs", "-o", os.DevNull, capture); code != exitNotConformant {
		t.Fatalf("-o %s: exit %d: %s", os.DevNull, code, stderr)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a character device: %v %v", os.DevNull, fi.Mode(), err)
	}
	fifo := filepath.Join(t.TempDir(), "report.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo) // opens the reading end: the writer's open waits for it
		got <- string(b)
	}()
	if _, stderr, code := wirecheck(t, nil, "analyse", "-q", "-p", "storage-gateway/file-nfs", "-o", fifo, capture); code != exitNotConformant {
		t.Fatalf("-o FIFO: exit %d: %s", code, stderr)
	}
	select {
	case r := <-got:
		if !strings.HasPrefix(r, "NOT CONFORMANT") {
			t.Errorf("the FIFO carried %q", r[:min(len(r), 40)])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came through the FIFO")
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v", err)
	}
	assertNoTemp(t, filepath.Dir(fifo))
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	tmp, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestOptionsValidated: an option with a value that would silently change
// the verdict, forge a report line or never end is refused, and the error
// lists the choices.
func TestOptionsValidated(t *testing.T) {
	capture := filepath.Join(captures, "filegw-faulty.pcap")
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"analyse", "-p", "storage-gateway/file-nfs", "--phase", "Activation", capture}, "--phase Activation: use one of activation, operation"},
		{[]string{"analyse", "-p", "storage-gateway/file-nfs", "--phase", "bogus", capture}, "--phase bogus: use one of activation, operation"},
		{[]string{"analyse", "-p", "storage-gateway/file-nfs", "--region", "us-east-1\nNOT CONFORMANT", capture}, `--region "us-east-1\nNOT CONFORMANT": not an AWS Region code; use one such as us-east-1`},
		{[]string{"analyse", "-p", "storage-gateway/file-nfs", "--region", "US East", capture}, "not an AWS Region code"},
		{[]string{"suggest", "--name", "Bad Name!", capture}, `--name "Bad Name!": a profile name is lower-case letters`},
		{[]string{"suggest", "-p", "storage-gateway/file-nfs", "--phase", "later", capture}, "--phase later: use one of"},
		{[]string{"watch", "-i", "lo", "-p", "storage-gateway/file-nfs", "--duration", "-5s"}, "--duration -5s: use a positive duration"},
		{[]string{"watch", "-i", "lo", "-p", "storage-gateway/file-nfs", "--interval", "0s"}, "--interval 0s: use a positive duration"},
		// Report names have a resolution of a second: two in one second
		// would overwrite each other.
		{[]string{"watch", "-i", "lo", "-p", "storage-gateway/file-nfs", "--report-dir", t.TempDir(), "--report-every", "500ms"}, "--report-every must be at least 1s"},
	} {
		_, stderr, code := wirecheck(t, nil, c.args...)
		if code != exitError || !strings.Contains(stderr, c.say) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.say)
		}
	}
	for _, args := range [][]string{
		{"analyse", "-p", "storage-gateway/file-nfs", "--phase", "activation", "--region", "us-gov-west-1", capture},
		{"analyse", "-p", "storage-gateway/file-nfs", "--phase", "operation", "--region", "cn-north-1", capture},
	} {
		if _, stderr, code := wirecheck(t, nil, args...); code != exitNotConformant {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
	// A valid name is used as given, and the draft passes profiles check.
	dir := t.TempDir()
	draft := filepath.Join(dir, "d.yaml")
	if _, stderr, code := wirecheck(t, nil, "suggest", "-q", "--name", "site-1/gw.v2", "-o", draft, capture); code != exitConformant {
		t.Fatalf("suggest --name site-1/gw.v2: exit %d: %s", code, stderr)
	}
	if _, stderr, code := wirecheck(t, nil, "profiles", "check", draft); code != exitConformant {
		t.Errorf("profiles check of the draft: exit %d: %s", code, stderr)
	}
}

// TestFilterShownAndInconclusive: -f is named in every format's header
// with the frames it left out, and a required rule whose traffic it
// excluded is inconclusive (exit 2), not missing; a filter that excluded
// nothing changes no verdict.
func TestFilterShownAndInconclusive(t *testing.T) {
	good := filepath.Join(captures, "filegw-conformant.pcapng")
	args := []string{"analyse", "-q", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "-f", "not udp port 123"}
	want := map[string]string{
		"text":     `filter: -f "not udp port 123": 4 frames excluded; a required flow not seen is inconclusive` + "\n",
		"markdown": `- **Filter:** -f "not udp port 123": 4 frames excluded; a required flow not seen is inconclusive` + "\n",
		"junit":    `<property name="filter" value="-f &#34;not udp port 123&#34;: 4 frames excluded; a required flow not seen is inconclusive">`,
		"html":     `<dt>Filter</dt><dd>-f &#34;not udp port 123&#34;: 4 frames excluded; a required flow not seen is inconclusive</dd>`,
		"sarif":    `"filter": "-f \"not udp port 123\": 4 frames excluded; a required flow not seen is inconclusive"`,
	}
	for _, format := range report.Formats() {
		out, stderr, code := wirecheck(t, nil, append(args, "--format", format, good)...)
		if code != exitError {
			t.Errorf("%s: exit %d, want 2 (NTP was filtered out, so not seen is not missing): %s", format, code, stderr)
		}
		if format == "json" {
			var rep report.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Complete || rep.Filter == nil || rep.Filter.Expression != "not udp port 123" || rep.Filter.Excluded == nil || *rep.Filter.Excluded != 4 || rep.Verdict != "inconclusive" {
				t.Errorf("json: complete %v, filter %+v, verdict %s", rep.Complete, rep.Filter, rep.Verdict)
			}
			for _, r := range rep.Rules {
				if r.ID == "storage-gateway/common:ntp" && r.Status != "inconclusive" {
					t.Errorf("ntp: %s, want inconclusive", r.Status)
				}
			}
			continue
		}
		if !strings.Contains(out, want[format]) {
			t.Errorf("%s does not show the filter (%s):\n%s", format, want[format], out)
		}
	}
	// The faulty capture has no NTP at all: the same filter excludes
	// nothing, and NTP is still missing.
	out, _, code := wirecheck(t, nil, append(args, filepath.Join(captures, "filegw-faulty.pcap"))...)
	if code != exitNotConformant || !strings.Contains(out, "no frame excluded") || !strings.Contains(out, "missing: UDP 123") {
		t.Errorf("faulty capture, a filter that excluded nothing: exit %d\n%s", code, out)
	}
}

// TestUndecidableHost: a capture with no flow and no --host cannot be
// judged (exit 2, with the reason on standard error and in the headline);
// a --host that is an endpoint of no flow is a warning at the top.
func TestUndecidableHost(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "header-only.pcap")
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	os.WriteFile(empty, hdr, 0o644)
	out, stderr, code := wirecheck(t, nil, "analyse", "-p", "storage-gateway/file-nfs", empty)
	if code != exitError || !strings.HasPrefix(out, "INCONCLUSIVE: no fault seen, but the host is unknown (no flow to infer it from; set --host), so 7 required rules cannot be judged\n") ||
		stderr != "wirecheck: "+empty+": no flow to infer the host from, so required rules cannot be judged: set --host\n" {
		t.Errorf("header-only capture: exit %d, stderr %q\n%s", code, stderr, out)
	}
	if strings.Contains(out, "missing:") {
		t.Errorf("a rule is called missing with no host:\n%s", out)
	}

	capture := filepath.Join(captures, "filegw-faulty.pcap")
	out, stderr, code = wirecheck(t, nil, "analyse", "-p", "storage-gateway/file-nfs", "--host", "10.9.9.9", capture)
	if code != exitNotConformant || !strings.Contains(out, "\nhost: 10.9.9.9 (WARNING: an endpoint of no flow in the capture, so no flow is the host's: check --host)\n") ||
		stderr != "wirecheck: warning: --host 10.9.9.9 is an endpoint of no flow in "+capture+": check the address\n" {
		t.Errorf("--host in no flow: exit %d, stderr %q\n%s", code, stderr, out)
	}
	js, _, _ := wirecheck(t, nil, "analyse", "-p", "storage-gateway/file-nfs", "--host", "10.9.9.9", "--format", "json", capture)
	var rep report.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil || !rep.Host.Absent {
		t.Errorf("json host %+v (%v)", rep.Host, err)
	}
	// The right host: no warning.
	if _, stderr, _ := wirecheck(t, nil, "analyse", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", capture); stderr != "" {
		t.Errorf("--host 10.0.0.5: stderr %q", stderr)
	}
}

// TestErrorsSayWhatToDo: each error names what happened as the user sees
// the file, and what to do; a profile with a UTF-8 byte-order mark is
// read; counts of one are singular.
func TestErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ng, err := os.ReadFile(filepath.Join(captures, "misc.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	// The second block's length, past the end of the file.
	first := int(ng[4]) | int(ng[5])<<8 | int(ng[6])<<16 | int(ng[7])<<24
	badLen := append([]byte{}, ng...)
	copy(badLen[first+4:], []byte{0xf0, 0xff, 0xff, 0x7f})
	adir := filepath.Join(dir, "adir")
	os.Mkdir(adir, 0o755)
	for _, c := range []struct {
		file, want string
	}{
		{write("hello.pcap", []byte("hello, this is no capture")), `not a pcap or pcapng file: it starts with the bytes 68 65 6c 6c ("hell"); captures start with d4 c3 b2 a1 or a1 b2 c3 d4 (pcap), 0a 0d 0d 0a (pcapng) or 1f 8b (gzip)`},
		{write("bad.gz", []byte("\x1f\x8bxxxxxxxxxxxxxxxxxxxx")), "starts like a gzip-compressed file, but it cannot be decompressed (invalid header): check that it was copied whole"},
		{write("cut.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}), "cannot be decompressed (it ends too early)"},
		{adir, adir + " is a directory: name the capture files in it (e.g. " + adir + "/*.pcap)"},
		{write("badlen.pcapng", badLen), "reading stopped after packet 0: the file ends inside a pcapng block: it was cut short (copy it again whole) or a length field is damaged"},
	} {
		_, stderr, code := wirecheck(t, nil, "analyse", "-q", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", c.file)
		if code != exitError || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "gzip: gzip") || strings.Contains(stderr, "Unknown magic") {
			t.Errorf("%s: exit %d, stderr %q; want %q", filepath.Base(c.file), code, stderr, c.want)
		}
	}

	bom := write("bom.yaml", []byte("\ufeffversion: 1\nprofile: site/x\nrules:\n  - {name: ssh, from: any, to: host, proto: tcp, ports: [22], level: allowed}\n"))
	out, stderr, code := wirecheck(t, nil, "profiles", "check", bom)
	if code != exitConformant || out != bom+": ok (1 rule with what it includes)\n" {
		t.Errorf("profile with a byte-order mark: exit %d, %q %q", code, out, stderr)
	}
	out, _, _ = wirecheck(t, nil, "analyse", "-p", bom, "--host", "10.0.0.5", filepath.Join(captures, "misc.pcapng"))
	if !strings.Contains(out, "ICMP destination unreachable: 1 packet, 82 bytes\n") || strings.Contains(out, " 1 packets") {
		t.Errorf("counts of one:\n%s", out)
	}
}

// TestDiffEscapesReportNames: names read back from a report file (written
// by hand, or by a wirecheck before names were escaped) reach the diff
// escaped.
func TestDiffEscapesReportNames(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(golden, "filegw-faulty.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"mail.example.net"`)) {
		t.Fatal("the golden report lost its mail.example.net name")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, bytes.ReplaceAll(data, []byte(`"mail.example.net"`), []byte(`"mail\u001b[2J\nFORGED.example.net"`)), 0o644)
	out, stderr, code := wirecheck(t, nil, "diff", filepath.Join(golden, "filegw-conformant.json"), bad)
	if code != exitNotConformant || strings.ContainsAny(out, "\x1b") || strings.Contains(out, "\nFORGED") || !strings.Contains(out, `mail\x1b[2J\x0aFORGED.example.net`) {
		t.Errorf("exit %d, stderr %q:\n%s", code, stderr, out)
	}
}

// TestSuggestDraftTooBig: a capture whose draft would be beyond a
// profile's bounds (a port scan: a rule per port) gets the draft written
// for reading and an error saying it is no profile wirecheck accepts.
func TestSuggestDraftTooBig(t *testing.T) {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	host, peer := net.IPv4(10, 0, 0, 5), net.IPv4(198, 51, 100, 7)
	for port := range 700 {
		buf := gopacket.NewSerializeBuffer()
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: host, DstIP: peer}
		gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
			&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
			ip, &layers.TCP{SrcPort: 40000, DstPort: layers.TCPPort(10000 + port), SYN: true, Window: 1000})
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1e9, int64(port)), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		w.WritePacket(ci, buf.Bytes())
	}
	dir := t.TempDir()
	capture := filepath.Join(dir, "scan.pcap")
	os.WriteFile(capture, b.Bytes(), 0o644)
	draft := filepath.Join(dir, "draft.yaml")
	_, stderr, code := wirecheck(t, nil, "suggest", "-q", "--host", "10.0.0.5", "-o", draft, capture)
	if code != exitError || !strings.Contains(stderr, "the draft (700 rules) is not a profile wirecheck accepts: "+draft+":") || !strings.Contains(stderr, "YAML tokens") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if data, err := os.ReadFile(draft); err != nil || bytes.Count(data, []byte("\n  - name: ")) != 700 {
		t.Errorf("the draft was not written whole: %v", err)
	}
}

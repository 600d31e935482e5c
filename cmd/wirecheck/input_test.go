package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/classify/report"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flowSummary reduces a report to its flows and counts, the part that must
// not depend on how the packets were delivered.
func flowSummary(rep *report.Report) string {
	var b strings.Builder
	for _, f := range rep.Flows {
		b.WriteString(strings.Join([]string{f.Proto, f.Client, f.Server, f.State, f.Verdict}, " "))
		b.WriteString(" ")
		b.WriteString(strings.Repeat("|", int(f.Packets%7))) // cheap checksum of the counts
		b.WriteString("\n")
	}
	return b.String() + rep.Verdict
}

func TestInputsFormOneObservation(t *testing.T) {
	plain := filepath.Join(captures, "filegw-faulty.pcap")
	args := []string{"-p", "storage-gateway/file-nfs", "--host", "10.0.0.5"}
	whole, _ := analyseJSON(t, append(args, plain)...)
	if whole.Summary.Packets == 0 {
		t.Fatal("no packets")
	}
	dir := t.TempDir()

	// gzip-compressed
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(readFile(t, plain))
	zw.Close()
	gzName := filepath.Join(dir, "faulty.pcap.gz")
	os.WriteFile(gzName, gz.Bytes(), 0o644)

	// the same packets split over two files
	r, err := pcapgo.NewReader(bytes.NewReader(readFile(t, plain)))
	if err != nil {
		t.Fatal(err)
	}
	var halves [2]bytes.Buffer
	var ws [2]*pcapgo.Writer
	for i := range ws {
		ws[i] = pcapgo.NewWriter(&halves[i])
		ws[i].WriteFileHeader(65535, r.LinkType())
	}
	for n := 0; ; n++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		ws[min(n*2/int(whole.Summary.Packets), 1)].WritePacket(ci, data)
	}
	first, second := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	os.WriteFile(first, halves[0].Bytes(), 0o644)
	os.WriteFile(second, halves[1].Bytes(), 0o644)

	for name, run := range map[string]func() *report.Report{
		"gzip":      func() *report.Report { rep, _ := analyseJSON(t, append(args, gzName)...); return rep },
		"two files": func() *report.Report { rep, _ := analyseJSON(t, append(args, first, second)...); return rep },
		"stdin": func() *report.Report {
			out, stderr, _ := wirecheck(t, readFile(t, plain), append([]string{"analyse", "--format", "json", "-"}, args...)...)
			return decodeReport(t, out, stderr)
		},
	} {
		t.Run(name, func(t *testing.T) {
			rep := run()
			if got, want := flowSummary(rep), flowSummary(whole); got != want {
				t.Errorf("flows differ from the plain file:\n%s\nwant\n%s", got, want)
			}
			if rep.Summary.Packets != whole.Summary.Packets || rep.Summary.Bytes != whole.Summary.Bytes {
				t.Errorf("%d packets %d bytes, want %d %d", rep.Summary.Packets, rep.Summary.Bytes, whole.Summary.Packets, whole.Summary.Bytes)
			}
		})
	}
}

func decodeReport(t *testing.T, out, stderr string) *report.Report {
	t.Helper()
	var rep report.Report
	if err := jsonUnmarshal(out, &rep); err != nil {
		t.Fatalf("not JSON: %v; stderr %s", err, stderr)
	}
	return &rep
}

func TestTruncatedCaptureKeepsWhatWasRead(t *testing.T) {
	data := readFile(t, filepath.Join(captures, "filegw-faulty.pcap"))
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, data[:len(data)*2/3+5], 0o644) // ends inside a packet
	out, stderr, code := wirecheck(t, nil, "analyse", "--format", "json", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", cut)
	rep := decodeReport(t, out, stderr)
	if rep.Complete || rep.Inputs[0].Stopped == nil {
		t.Fatalf("report does not say reading stopped: %+v", rep.Inputs)
	}
	if !strings.Contains(*rep.Inputs[0].Stopped, "cut.pcap: reading stopped after packet") {
		t.Errorf("stopped = %q", *rep.Inputs[0].Stopped)
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 || !strings.Contains(stderr, "cut.pcap") {
		t.Errorf("stderr is not one line naming the file: %q", stderr)
	}
	if rep.Summary.Packets == 0 || rep.Inputs[0].Packets != rep.Summary.Packets {
		t.Errorf("packets before the damage were lost: %d read, %d analysed", rep.Inputs[0].Packets, rep.Summary.Packets)
	}
	// The unexpected SMTP and telnet flows come before the cut: the verdict
	// is still a failure, with no panic and a report.
	if code != 1 || rep.Verdict != "not-conformant" {
		t.Errorf("exit %d verdict %s", code, rep.Verdict)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	badProfile := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badProfile, []byte("profile: x\nrules:\n  - name: a\n    from: host\n    to: any\n    proto: tcp\n    level: maybe\n"), 0o644)
	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("these are not packets\n"), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	good := filepath.Join(captures, "filegw-conformant.pcapng")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad profile", []string{"analyse", "-p", badProfile, good}, "bad.yaml:7:12: level \"maybe\""},
		{"unknown profile", []string{"analyse", "-p", "no/such", good}, "profile no/such: no built-in profile of that name and no such file"},
		{"no profile", []string{"analyse", good}, "no profile: name one with -p"},
		{"missing capture", []string{"analyse", "-p", "storage-gateway/file-nfs", filepath.Join(dir, "nope.pcap")}, "nope.pcap: no such file"},
		{"not a capture", []string{"analyse", "-p", "storage-gateway/file-nfs", notCapture}, "notes.txt: not a pcap or pcapng file"},
		{"empty file", []string{"analyse", "-p", "storage-gateway/file-nfs", empty}, "empty.pcap: empty or too short"},
		{"bad host", []string{"analyse", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.300", good}, "--host: \"10.0.0.300\" is not an address or CIDR"},
		{"unknown peer group", []string{"analyse", "-p", "storage-gateway/file-nfs", "--peer", "nfs-clientz=10.0.0.0/24", good}, "--peer nfs-clientz: no profile defines a peer group of that name"},
		{"bad host bits", []string{"analyse", "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5/8", good}, "--host: \"10.0.0.5/8\" has host bits set (did you mean 10.0.0.0/8?)"},
		{"bad peer binding", []string{"analyse", "-p", "storage-gateway/file-nfs", "--peer", "nfs-clients", good}, "--peer \"nfs-clients\": use NAME=ADDR|CIDR[,ADDR|CIDR...]"},
		{"bad peer address", []string{"analyse", "-p", "storage-gateway/file-nfs", "--peer", "nfs-clients=10.0.0.0/24,nope", good}, "--peer nfs-clients: \"nope\" is not an address or CIDR"},
		{"bad format", []string{"analyse", "-p", "storage-gateway/file-nfs", "--format", "xml", good}, "--format xml: use one of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := wirecheck(t, nil, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line containing %q", stderr, tc.want)
			}
		})
	}
}

func TestPeerBindingNarrowsGroup(t *testing.T) {
	file := filepath.Join(captures, "filegw-conformant.pcapng")
	// NFS clients bound to a subnet the real client is not in: the NFS flows
	// become unexpected and the NFS rules missing.
	rep, code := analyseJSON(t, "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "--peer", "nfs-clients=192.0.2.0/24", file)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, r := range rep.Rules {
		if r.Name == "nfs" && r.Status != "missing" {
			t.Errorf("nfs rule %s, want missing", r.Status)
		}
	}
	rep, code = analyseJSON(t, "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "--peer", "nfs-clients=10.0.0.10", file)
	if code != 0 || rep.Verdict != "conformant" {
		t.Errorf("bound to the real client: exit %d verdict %s", code, rep.Verdict)
	}
}

func TestPhaseOperationMakesActivationUnexpected(t *testing.T) {
	file := filepath.Join(captures, "filegw-conformant.pcapng")
	rep, code := analyseJSON(t, "-p", "storage-gateway/file-nfs", "--host", "10.0.0.5", "--phase", "operation", file)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range rep.Flows {
		if f.ServerPort == 80 && f.Verdict != "unexpected" {
			t.Errorf("port 80 in operation: %s", f.Verdict)
		}
	}
	for _, r := range rep.Rules {
		if r.Phase == "activation" && r.Status != "inactive" {
			t.Errorf("%s: %s in operation phase", r.ID, r.Status)
		}
	}
}

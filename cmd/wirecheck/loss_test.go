package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/classify/report"
)

// synSynAck is a TCP handshake from 10.0.0.5:40000 to 198.51.100.10:443
// (SYN, SYN-ACK and the client's ACK: without it the flow is half-open),
// as raw IPv4 packets.
func synSynAck() [][]byte {
	pkt := func(src, dst [4]byte, sport, dport uint16, flags uint8) []byte {
		b := make([]byte, 40)
		b[0], b[3], b[8], b[9] = 0x45, 40, 64, 6
		copy(b[12:], src[:])
		copy(b[16:], dst[:])
		binary.BigEndian.PutUint16(b[20:], sport)
		binary.BigEndian.PutUint16(b[22:], dport)
		b[32], b[33] = 0x50, flags
		return b
	}
	h, s := [4]byte{10, 0, 0, 5}, [4]byte{198, 51, 100, 10}
	return [][]byte{pkt(h, s, 40000, 443, 0x02), pkt(s, h, 443, 40000, 0x12), pkt(h, s, 40000, 443, 0x10)}
}

// writePcap writes frames of one link type; a frame's wire length is
// wire[i] when given (to damage the record), else its own length.
func writePcap(t *testing.T, link layers.LinkType, frames [][]byte, wire map[int]int) string {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(65535, link)
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1_700_000_000+int64(i), 0), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
	data := b.Bytes()
	off := 24
	for i, fr := range frames {
		if n, ok := wire[i]; ok {
			binary.LittleEndian.PutUint32(data[off+12:], uint32(n))
		}
		off += 16 + len(fr)
	}
	file := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

const httpsOnly = `version: 1
profile: test/https
rules:
  - {name: https, from: host, to: any, proto: tcp, ports: [443], level: required}
`

func analyseRequired(t *testing.T, file string) (report.Report, string, int) {
	t.Helper()
	prof := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(prof, []byte(httpsOnly), 0o644)
	out, stderr, code := wirecheck(t, nil, "analyse", "-p", prof, "--host", "10.0.0.5", "--format", "json", file)
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s\n%s", err, out, stderr)
	}
	return rep, stderr, code
}

// TestDamagedRecordSkipped: a record whose captured length exceeds its
// original length is skipped and named, the frames after it are judged, and
// the report is incomplete.
func TestDamagedRecordSkipped(t *testing.T) {
	frames := synSynAck()
	frames = [][]byte{frames[0], bytes.Repeat([]byte{0x45}, 64), frames[1], frames[2]}
	rep, _, code := analyseRequired(t, writePcap(t, layers.LinkTypeRaw, frames, map[int]int{1: 34}))
	if rep.Summary.Packets != 3 || len(rep.Flows) != 1 || rep.Flows[0].State != "established" {
		t.Fatalf("packets %d, flows %+v: want the handshake around the damage in one flow", rep.Summary.Packets, rep.Flows)
	}
	if rep.Complete || len(rep.Losses) != 1 || rep.Losses[0].Count != 1 ||
		!strings.Contains(rep.Losses[0].What, "damaged records skipped in ") || !strings.Contains(rep.Losses[0].What, "record 2: captured length 64 exceeds original length 34") {
		t.Errorf("complete %v, losses %+v", rep.Complete, rep.Losses)
	}
	// The required flow was seen: the verdict stands on it.
	if rep.Verdict != "conformant" || code != 0 {
		t.Errorf("verdict %s, exit %d", rep.Verdict, code)
	}
}

// TestUndecodedLinkType: frames of a link type wirecheck does not decode
// are a loss named by link type, required rules not seen are inconclusive,
// and a run where nothing could be decoded exits 2, even with a profile
// that requires nothing.
func TestUndecodedLinkType(t *testing.T) {
	file := writePcap(t, layers.LinkType(147), synSynAck(), nil) // LINKTYPE_USER0
	rep, _, code := analyseRequired(t, file)
	if rep.Complete || len(rep.Losses) != 1 || rep.Losses[0].What != "frames of link type 147 not decoded" || rep.Losses[0].Count != 3 {
		t.Errorf("complete %v, losses %+v", rep.Complete, rep.Losses)
	}
	if rep.Verdict != "inconclusive" || code != exitError || rep.Rules[0].Status != "inconclusive" {
		t.Errorf("verdict %s, exit %d, rule %s", rep.Verdict, code, rep.Rules[0].Status)
	}
	prof := filepath.Join(t.TempDir(), "any.yaml")
	os.WriteFile(prof, []byte(anyTCP), 0o644)
	if out, _, code := wirecheck(t, nil, "analyse", "-p", prof, file); code != exitError || !strings.Contains(out, "INCONCLUSIVE") {
		t.Errorf("nothing decoded, nothing required: exit %d\n%s", code, out)
	}
}

// TestCutAfterRecordHeader: a file that ends right after a record header
// is incomplete, and the required rule it may have held is inconclusive.
func TestCutAfterRecordHeaderIsIncomplete(t *testing.T) {
	file := writePcap(t, layers.LinkTypeRaw, synSynAck(), nil)
	data, _ := os.ReadFile(file)
	os.WriteFile(file, data[:24+16], 0o644) // the SYN's header, none of its 40 bytes
	rep, stderr, code := analyseRequired(t, file)
	if rep.Complete || rep.Inputs[0].Stopped == nil || !strings.Contains(stderr, "unexpected EOF") {
		t.Errorf("complete %v, inputs %+v, stderr %q", rep.Complete, rep.Inputs, stderr)
	}
	if rep.Rules[0].Status != "inconclusive" || code != exitError {
		t.Errorf("rule %s, exit %d", rep.Rules[0].Status, code)
	}
}

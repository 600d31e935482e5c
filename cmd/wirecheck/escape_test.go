package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/classify/suggest"
)

// dnsCapture writes a capture in which a DNS server tells the host that
// name is 198.51.100.99, and the host then opens TCP 8443 to that address
// (unexpected, so the name shows in the problems, the flows and the
// draft). name's labels are cut to DNS's limits, never cleaned.
func dnsCapture(t testing.TB, dir, name string) string {
	var qname []byte
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(qname)+len(l) > 240 {
			continue
		}
		l = l[:min(len(l), 63)]
		qname = append(append(qname, byte(len(l))), l...)
	}
	if len(qname) == 0 {
		qname = []byte{1, 'x'}
	}
	qname = append(qname, 0)
	msg := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}
	msg = append(msg, qname...)
	msg = append(msg, 0, 1, 0, 1)                // A, IN
	msg = append(msg, 0xc0, 12, 0, 1, 0, 1)      // the question's name, A, IN
	msg = binary.BigEndian.AppendUint32(msg, 60) // TTL
	msg = append(msg, 0, 4, 198, 51, 100, 99)    // the address
	host, dns, peer := net.IPv4(10, 0, 0, 5), net.IPv4(10, 0, 0, 53), net.IPv4(198, 51, 100, 99)
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	write := func(i int, ls ...gopacket.SerializableLayer) {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1e9, int64(i)*1e6), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	ip := func(src, dst net.IP, p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: p, SrcIP: src, DstIP: dst}
	}
	udp := &layers.UDP{SrcPort: 53, DstPort: 40000}
	uip := ip(dns, host, layers.IPProtocolUDP)
	udp.SetNetworkLayerForChecksum(uip)
	write(0, eth, uip, udp, gopacket.Payload(msg))
	for i, back := range []bool{false, true} {
		tip := ip(host, peer, layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: 40001, DstPort: 8443, SYN: true, ACK: back, Window: 1000}
		if back {
			tip.SrcIP, tip.DstIP = peer, host
			tcp.SrcPort, tcp.DstPort = 8443, 40001
		}
		tcp.SetNetworkLayerForChecksum(tip)
		write(i+1, eth, tip, tcp)
	}
	file := filepath.Join(dir, "dns.pcap")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// writeAll writes every report format (report.Formats) and every
// draft format (suggest.Formats) for capture, through the library as the
// CLI calls it: many runs in a fuzz target cannot each reserve a CLI
// run's flow array.
func writeAll(t testing.TB, file string) map[string]string {
	src, err := capture.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	c := classify.New(16)
	if err := c.Read(file, src, nil); err != nil {
		t.Fatal(err)
	}
	obs := c.Finish()
	host := []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}
	set, err := profile.Load("ecs/ssh")
	if err != nil {
		t.Fatal(err)
	}
	m, err := match.New(set, match.Options{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	res := m.Evaluate(obs)
	out := map[string]string{}
	for _, f := range report.Formats() {
		var b bytes.Buffer
		if err := report.Write(&b, f, res, 0); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = b.String()
	}
	none, err := match.New(&profile.Set{}, match.Options{Host: host}) // as suggest without -p
	if err != nil {
		t.Fatal(err)
	}
	d := suggest.Build(none.Evaluate(obs), suggest.Options{Name: "draft/x", CollapseV4: 24, CollapseV6: 64, Inputs: []string{"dns.pcap"}})
	for _, f := range suggest.Formats() {
		var b bytes.Buffer
		if err := suggest.Write(&b, f, d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = b.String()
	}
	return out
}

// checkEscaped holds each output to its syntax, whatever name the capture
// carried: only printable characters, tabs and line breaks; as many lines
// as the same report of a plain name (no forged line), and as much markup;
// JSON, XML and YAML that their parsers read, and a draft profile that
// wirecheck's own parser accepts.
func checkEscaped(t testing.TB, name string, got, plain map[string]string) {
	for kind, s := range got {
		if !utf8.ValidString(s) {
			t.Fatalf("%s for %q is not UTF-8", kind, name)
		}
		for _, r := range s {
			if r != '\n' && r != '\t' && (!unicode.IsPrint(r) || unicode.Is(unicode.Cf, r)) {
				t.Fatalf("%s for %q holds %U:\n%s", kind, name, r, s)
			}
		}
		switch kind {
		case "json", "sarif", "sg-json":
			if !json.Valid([]byte(s)) {
				t.Fatalf("%s for %q is not JSON:\n%s", kind, name, s)
			}
		case "junit":
			d := xml.NewDecoder(strings.NewReader(s))
			for {
				if _, err := d.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("junit for %q: %v:\n%s", name, err, s)
				}
			}
		case "yaml":
			if _, err := profile.Parse("draft.yaml", []byte(s)); err != nil {
				t.Fatalf("the draft for %q is refused: %v\n%s", name, err, s)
			}
		}
		switch kind {
		case "text", "markdown", "junit", "html", "nftables":
			if a, b := strings.Count(s, "\n"), strings.Count(plain[kind], "\n"); a != b {
				t.Fatalf("%s for %q has %d lines, %d for a plain name:\n%s", kind, name, a, b, s)
			}
		}
		switch kind {
		case "markdown", "junit", "html":
			if a, b := strings.Count(s, "<"), strings.Count(plain[kind], "<"); a != b {
				t.Fatalf("%s for %q has %d '<', %d for a plain name:\n%s", kind, name, a, b, s)
			}
		}
		if kind == "nftables" {
			for _, l := range strings.Split(s, "\n") {
				if strings.Count(l, `"`)%2 != 0 {
					t.Fatalf("nftables for %q: unbalanced quotes in %q", name, l)
				}
			}
		}
	}
}

// TestWireTextEscaped: a DNS name holding a terminal's escape sequences, a
// line break with a forged report line, markup and a right-to-left
// override reaches every output escaped for it.
func TestWireTextEscaped(t *testing.T) {
	dir := t.TempDir()
	plain := writeAll(t, dnsCapture(t, dir, "x.example"))
	if !strings.Contains(plain["text"], "x.example") {
		t.Fatalf("the capture's name is not in the text report:\n%s", plain["text"])
	}
	for _, name := range []string{
		"evil\x1b[2J\x1b[31m.example",
		"a\nCONFORMANT: every flow is expected\n.example",
		"x\n    level: required\n#.example",
		"<script>alert(1)</script>.example",
		"x\"; drop table; \"|`*[a](b)",
		"bad\u202egnp.example",
		"\xff\xfe\x00.example",
		"back\\slash.example",
	} {
		got := writeAll(t, dnsCapture(t, dir, name))
		checkEscaped(t, name, got, plain)
		if name == "evil\x1b[2J\x1b[31m.example" {
			for _, kind := range []string{"text", "yaml"} { // escaped once, in the report and in the draft's comments
				if !strings.Contains(got[kind], `evil\x1b[2j\x1b[31m.example`) || strings.Contains(got[kind], `\\x1b`) {
					t.Errorf("the %s does not show the name escaped once:\n%s", kind, got[kind])
				}
			}
		}
	}
}

// FuzzWireText is TestWireTextEscaped for any name: every output format.
func FuzzWireText(f *testing.F) {
	f.Add("evil\x1b[2J.example")
	f.Add("a\nNOT CONFORMANT\n.b")
	f.Add("<b>&amp;</b>")
	f.Add("\u202e\u200b\x7f")
	dir := f.TempDir()
	var plain map[string]string
	f.Fuzz(func(t *testing.T, name string) {
		if plain == nil {
			plain = writeAll(t, dnsCapture(t, dir, "x.example"))
		}
		checkEscaped(t, name, writeAll(t, dnsCapture(t, dir, name)), plain)
	})
}

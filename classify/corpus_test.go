package classify

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

func corpusFiles(t *testing.T) (dir string, files []string) {
	t.Helper()
	dir = testcorpus.Dir(t)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".cap")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus %s unreadable or empty: %v", dir, err)
	}
	return dir, files
}

// Bounds for any one corpus file. Reading allocates a fixed amount (reader
// buffers, tables: about 300 KB) plus a few times the file's size (flows,
// names); the allocation bound holds the work linear in the input, without
// a timed test. Speed is measured by benchmarks.
const (
	corpusAllocFixed   = 2 << 20
	corpusAllocPerByte = 8
	corpusHeapLimit    = 256 << 20
)

// TestCorpus reads every corpus capture: no panic, allocations linear in the
// file's size, bounded heap, either a clean end or an error that names
// the file and the packet where reading stopped, and every frame accounted
// for (checkAccounted).
func TestCorpus(t *testing.T) {
	var ok, stopped, refused int
	dir, files := corpusFiles(t)
	for _, file := range files {
		name, _ := filepath.Rel(dir, file)
		t.Run(name, func(t *testing.T) {
			st, statErr := os.Stat(file)
			if statErr != nil {
				t.Fatal(statErr)
			}
			var before, ms runtime.MemStats
			runtime.ReadMemStats(&before)
			obs, err := readCorpus(file)
			runtime.ReadMemStats(&ms)
			if n, limit := ms.TotalAlloc-before.TotalAlloc, uint64(corpusAllocFixed+corpusAllocPerByte*st.Size()); n > limit {
				t.Errorf("allocated %d KB reading %d KB; limit %d KB", n>>10, st.Size()>>10, limit>>10)
			}
			if ms.HeapAlloc > corpusHeapLimit {
				t.Errorf("heap %d MB after reading", ms.HeapAlloc>>20)
			}
			if obs != nil {
				checkAccounted(t, obs)
			}
			switch {
			case err == nil:
				ok++
			case obs != nil:
				stopped++
				var re *capture.ReadError
				if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), file+": reading stopped after packet ") || strings.Contains(err.Error(), "\n") {
					t.Errorf("reading stopped with %T %q: want a one-line *capture.ReadError naming the file and the packet", err, err)
				}
				if re != nil && obs.Packets < re.Packets {
					t.Errorf("%d packets read before the damage but only %d classified", re.Packets, obs.Packets)
				}
			default:
				refused++
				if !strings.Contains(err.Error(), file) || strings.Contains(err.Error(), "\n") {
					t.Errorf("open error %q does not name the file on one line", err)
				}
			}
		})
	}
	t.Logf("corpus: %d read to the end, %d stopped at damage, %d refused as not captures", ok, stopped, refused)
}

// readCorpus classifies one file; obs is nil when the file could not be
// opened as a capture at all.
func readCorpus(file string) (obs *Observation, err error) {
	f, err := capture.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := New(64)
	err = c.Read(file, f, nil)
	if err == io.EOF {
		err = nil
	}
	return c.Observation(), err
}

// checkAccounted fails t unless every frame obs counted is in a flow, in the
// non-flow summary (Other), in a folded service, or in a loss that names it
// (frames not decoded by link type, frames with cut or damaged headers),
// and unless obs is incomplete whenever a loss is not zero.
func checkAccounted(t *testing.T, obs *Observation) {
	t.Helper()
	var inFlows, other, folded uint64
	for i := range obs.Flows {
		p, _ := obs.Flows[i].Total()
		inFlows += p
	}
	for _, o := range obs.Other {
		other += o.Packets
	}
	for _, s := range obs.Folded.Services {
		folded += s.Packets
	}
	m := obs.Malformed
	if sum := inFlows + other + folded + m.Total(); sum != obs.Packets {
		t.Errorf("%d frames: %d in flows, %d other, %d folded, %d malformed (sum %d)", obs.Packets, inFlows, other, folded, m.Total(), sum)
	}
	var named, linkNamed uint64
	lost := false
	for _, l := range obs.AllLosses() {
		if l.Count > 0 && !l.Degraded {
			lost = true
		}
		switch {
		case strings.HasPrefix(l.What, "frames of link type "):
			linkNamed += l.Count
			named += l.Count
		case strings.HasPrefix(l.What, "frames with "):
			named += l.Count
		}
	}
	if named != m.Total() || linkNamed != m.UnknownLink {
		t.Errorf("%d malformed frames (%d of unknown link types), %d in named losses (%d by link type): %+v", m.Total(), m.UnknownLink, named, linkNamed, obs.AllLosses())
	}
	for _, in := range obs.Inputs {
		if in.Skipped.Records > 0 && !strings.Contains(fmt.Sprint(obs.AllLosses()), "damaged records skipped in "+in.Name) {
			t.Errorf("%d records skipped in %s, not among the losses", in.Skipped.Records, in.Name)
		}
		lost = lost || in.Skipped.Records > 0 || in.Stopped != nil
	}
	if lost && obs.Complete() {
		t.Errorf("losses %+v, yet complete", obs.AllLosses())
	}
	if !lost && !obs.Complete() && len(obs.Folded.Services) == 0 {
		t.Errorf("nothing lost, yet incomplete")
	}
}

// TestCorpusLinkTypes reads real captures of the link types beyond
// Ethernet: every frame decoded (none lost), and the TCP and UDP flows
// tshark's conversation tables list (tshark -q -z conv,tcp -z conv,udp;
// brcm-tag.pcap, which tshark cannot read, against tcpdump -n).
func TestCorpusLinkTypes(t *testing.T) {
	dir := testcorpus.Dir(t)
	tests := []struct {
		file     string
		tcp, udp int
	}{
		{"tcpdump-tests/lspping-fec-ldp.pcap", 2, 2},                    // PPP in HDLC, MPLS
		{"tcpdump-tests/lspping-fec-rsvp.pcap", 0, 2},                   // PPP in HDLC
		{"tcpdump-tests/arcnet-rfc1051-arp-icmp-http.pcap", 1, 1},       // ARCNET (Linux), RFC 1051
		{"tcpdump-tests/ieee802.11_htc.pcap", 0, 1},                     // radiotap, 802.11 QoS data with HT control
		{"tcpdump-tests/nflog.pcap", 0, 4},                              // Linux NFLOG
		{"tcpdump-tests/LINKTYPE_PKTAP.pcap", 0, 1},                     // Apple PKTAP
		{"tcpdump-tests/LINKTYPE_USER2_PKTAP.pcap", 0, 1},               // PKTAP as USER2
		{"tcpdump-tests/brcm-tag.pcap", 0, 3},                           // Broadcom switch tag
		{"tcpdump-tests/LINKTYPE_IPV4.pcap", 0, 1},                      // raw IPv4
		{"tcpdump-tests/RADIUS-RFC4675.pcap", 0, 3},                     // Linux SLL
		{"protocols/suricata-verify__decode-sll2-01__input.pcap", 1, 0}, // Linux SLL2
		{"protocols/PcapPlusPlus__null_loopback.pcap", 1, 2},            // NULL
		{"protocols/zeek__mixed-vlan-mpls.pcap", 3, 0},                  // 802.1Q and MPLS
		{"protocols/tcpdump__LINKTYPE_RAW_ipv4.pcap", 0, 1},             // raw IP
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			obs, err := readCorpus(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var tcp, udp int
			for i := range obs.Flows {
				switch obs.Flows[i].Key.Proto {
				case 6:
					tcp++
				case 17:
					udp++
				}
			}
			if tcp != tc.tcp || udp != tc.udp {
				t.Errorf("%d TCP and %d UDP flows, want %d and %d", tcp, udp, tc.tcp, tc.udp)
			}
			if obs.Malformed.Total() != 0 || !obs.Complete() {
				t.Errorf("malformed %+v, complete %v: want every frame decoded", obs.Malformed, obs.Complete())
			}
		})
	}
}

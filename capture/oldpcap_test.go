package capture

import (
	"encoding/binary"
	"io"
	"path/filepath"
	"testing"

	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

// oldFormat turns a file from pcapFile into format version 2.minor, where
// swapped says which records' length fields are in the pre-2.3 order.
func oldFormat(data []byte, minor uint16, swapped ...bool) []byte {
	binary.LittleEndian.PutUint16(data[6:8], minor)
	for i, sw := range swapped {
		h := data[pcapRecord(i):]
		caplen, length := binary.LittleEndian.Uint32(h[8:12]), binary.LittleEndian.Uint32(h[12:16])
		if sw {
			binary.LittleEndian.PutUint32(h[8:12], length)
			binary.LittleEndian.PutUint32(h[12:16], caplen)
		}
	}
	return data
}

// snapped marks record i as cut from a longer packet on the wire.
func snapped(data []byte, i int, wireLen uint32) []byte {
	binary.LittleEndian.PutUint32(data[pcapRecord(i)+12:], wireLen)
	return data
}

func TestOldPcapVersions(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		// Before 2.3 every record holds the original length first.
		{"2.1", oldFormat(snapped(pcapFile(t, 65535, times(3)...), 1, 1500), 1, true, true, true)},
		// In 2.3 some writers did, some did not: the larger is the original.
		{"2.3 mixed", oldFormat(snapped(pcapFile(t, 65535, times(3)...), 1, 1500), 3, false, true, false)},
		{"2.3 big-endian", bigEndianOld()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames, err := readAll(t, tc.name, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "2.3 big-endian" {
				if len(frames) != 1 || len(frames[0].Data) != 4 || frames[0].WireLen != 40 {
					t.Fatalf("frames %+v", frames)
				}
				return
			}
			if len(frames) != 3 {
				t.Fatalf("%d frames, want 3", len(frames))
			}
			for i, fr := range frames {
				want := len(frame)
				if i == 1 {
					want = 1500
				}
				if len(fr.Data) != len(frame) || fr.WireLen != want || fr.Time != times(3)[i].UnixNano() {
					t.Errorf("frame %d: %d bytes captured, %d on the wire, time %d", i, len(fr.Data), fr.WireLen, fr.Time)
				}
			}
		})
	}

	// A file cut inside a record header stops with a one-line error.
	data := oldFormat(pcapFile(t, 65535, times(2)...), 2, true, true)
	frames, err := readAll(t, "cut.pcap", data[:pcapRecord(1)+7])
	if len(frames) != 1 {
		t.Errorf("%d frames, want 1", len(frames))
	}
	wantReadError(t, err, "cut.pcap", 1, "unexpected EOF")
}

// bigEndianOld is a big-endian version 2.3 file with one record whose
// lengths are in the old order: 40 on the wire, 4 captured.
func bigEndianOld() []byte {
	b := bigEndianPcap()
	b[7] = 3
	copy(b[24+8:], []byte{0, 0, 0, 40, 0, 0, 0, 4})
	return b
}

func TestCorpusNFSv2File(t *testing.T) {
	// A real NFSv2 capture of format version 2.1, which tcpdump reads:
	// `tcpdump -r` prints 156 packets.
	name := filepath.Join(testcorpus.Dir(t, "protocols"), "suricata-verify__issue-3277-nfsv2-filestore__nfsv2.pcap")
	f, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fr Frame
	var n int
	for ; ; n++ {
		if err := f.Next(&fr); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n != 156 {
		t.Errorf("%d packets, tcpdump reads 156", n)
	}
}

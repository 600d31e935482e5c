package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// FuzzRead feeds arbitrary bytes to the reader as a capture file: it never
// panics, every frame it delivers has sane lengths, reading ends with io.EOF
// or a one-line *ReadError naming the file, and the memory it allocates is
// bounded by a fixed amount plus a small multiple of the bytes it was given
// (so a header cannot make it allocate gigabytes). The committed seeds in
// testdata/fuzz/FuzzRead are small files of the shared corpus: pcap in
// both byte orders and resolutions, pcapng with several interfaces, gzip.
func FuzzRead(f *testing.F) {
	ts := times(3)
	f.Add(pcapFile(f, 65535, ts...))
	f.Add(pcapngFile(f, ts...))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(pcapngFile(f, ts...))
	zw.Close()
	f.Add(gz.Bytes())
	f.Add(bigEndianPcap())
	f.Add(twoInterfaces(f))
	f.Add(oldFormat(pcapFile(f, 65535, ts...), 3, false, true, false))

	f.Fuzz(func(t *testing.T, data []byte) {
		size := len(data)
		if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
			// The reader's work is linear in the decompressed size.
			if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
				n, _ := io.Copy(io.Discard, io.LimitReader(zr, 64<<20))
				size = max(size, int(n))
			}
		}
		var frames int
		var end error
		n := allocated(func() { frames, end = readFuzz(t, data) })
		// Fixed: two 64 KiB bufio buffers, gzip's window, one packet
		// buffer of up to MaxCaptureLength. Variable: large records grow
		// with the bytes that really arrive.
		if limit := uint64(2<<20 + 4*size); n > limit {
			t.Fatalf("allocated %d bytes reading %d (%d decompressed) bytes, %d frames; limit %d", n, len(data), size, frames, limit)
		}
		if end == nil {
			return
		}
		msg := end.Error()
		if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "fuzz.pcap: ") {
			t.Fatalf("error %q is not one line naming the file", msg)
		}
	})
}

// readFuzz reads every frame of data, checking each, and returns the number
// of frames and the error that ended reading (nil at a clean end).
func readFuzz(t *testing.T, data []byte) (int, error) {
	f, err := NewReader("fuzz.pcap", bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	var fr Frame
	for n := 0; ; n++ {
		err := f.Next(&fr)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			var re *ReadError
			if !errors.As(err, &re) || re.Packets != uint64(n) {
				t.Fatalf("error %v (%T) after %d frames, want a *ReadError counting them", err, err, n)
			}
			if again := f.Next(&fr); again != err {
				t.Fatalf("error not sticky: %v then %v", err, again)
			}
			return n, err
		}
		if len(fr.Data) > MaxCaptureLength || fr.WireLen < len(fr.Data) || fr.WireLen > MaxWireLength {
			t.Fatalf("frame %d: %d bytes captured, %d on the wire", n+1, len(fr.Data), fr.WireLen)
		}
		// Every record costs at least 12 bytes of header (pcapng's simple
		// packet block); more frames than that means the reader looped.
		if n > len(data)/12+1 && len(data) > 0 && data[0] != 0x1f {
			t.Fatalf("%d frames from %d bytes", n, len(data))
		}
	}
}

// bigEndianPcap is a microsecond pcap file written by a big-endian host,
// with one 4-byte raw IP record.
func bigEndianPcap() []byte {
	b := []byte{0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 101}
	b = append(b, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4)
	return append(b, 0x45, 0, 0, 4)
}

// twoInterfaces is a pcapng file whose interfaces differ in link type.
func twoInterfaces(f testing.TB) []byte {
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	if err != nil {
		f.Fatal(err)
	}
	id, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeLinuxSLL, SnapLength: 128})
	if err != nil {
		f.Fatal(err)
	}
	for i, iface := range []int{0, id, 0} {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: len(frame), Length: len(frame) + 10, InterfaceIndex: iface}
		if err := w.WritePacket(ci, frame); err != nil {
			f.Fatal(err)
		}
	}
	w.Flush()
	return b.Bytes()
}

package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// frame is a 60-byte Ethernet frame; its content does not matter to the
// reader.
var frame = bytes.Repeat([]byte{0xab}, 60)

// pcapFile writes frames at the given times with pcapgo's writer.
func pcapFile(t testing.TB, snaplen uint32, times ...time.Time) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, ts := range times {
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// pcapngFile writes frames with pcapgo's pcapng writer.
func pcapngFile(t testing.TB, times ...time.Time) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range times {
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pcapRecord is the offset of record i's header in a file from pcapFile.
func pcapRecord(i int) int { return 24 + i*(16+len(frame)) }

// readAll reads every frame; it returns the frames' copies and the error
// that ended reading (nil at a clean end).
func readAll(t testing.TB, name string, data []byte) ([]Frame, error) {
	t.Helper()
	f, err := NewReader(name, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var out []Frame
	for {
		var fr Frame
		err := f.Next(&fr)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		fr.Data = bytes.Clone(fr.Data)
		out = append(out, fr)
	}
}

// wantReadError checks that err is a one-line *ReadError naming the file,
// stopped after n good packets, and saying why.
func wantReadError(t *testing.T, err error, name string, n uint64, why string) {
	t.Helper()
	var re *ReadError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T), want a *ReadError", err, err)
	}
	if re.Packets != n {
		t.Errorf("stopped after %d packets, want %d", re.Packets, n)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, name+": ") || !strings.Contains(msg, why) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming %s and saying %q", msg, name, why)
	}
}

func times(n int) []time.Time {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	out := make([]time.Time, n)
	for i := range out {
		out[i] = base.Add(time.Duration(i) * time.Millisecond)
	}
	return out
}

// allocated returns the bytes allocated while fn runs.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHugeSnaplenIsCapped(t *testing.T) {
	// A header declaring a 4 GiB snap length reads its ordinary packets.
	data := pcapFile(t, math.MaxUint32, times(3)...)
	frames, err := readAll(t, "big.pcap", data)
	if err != nil || len(frames) != 3 {
		t.Fatalf("%d frames, err %v", len(frames), err)
	}

	// A record claiming 3 GiB after two good ones stops reading with a
	// one-line error, without allocating anything near its length.
	binary.LittleEndian.PutUint32(data[pcapRecord(2)+8:], 3<<30)
	binary.LittleEndian.PutUint32(data[pcapRecord(2)+12:], 3<<30)
	var got []Frame
	n := allocated(func() { got, err = readAll(t, "big.pcap", data) })
	if len(got) != 2 {
		t.Errorf("%d frames before the damage, want 2", len(got))
	}
	wantReadError(t, err, "big.pcap", 2, "exceeds snap length")
	if n > 4<<20 {
		t.Errorf("reading allocated %d bytes", n)
	}
}

func TestLongRecordRefused(t *testing.T) {
	// A record longer than MaxCaptureLength whose bytes are all there is
	// still refused: no frame that large exists.
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(math.MaxUint32, layers.LinkTypeEthernet)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(frame), Length: len(frame)}, frame)
	long := make([]byte, MaxCaptureLength+1)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(2, 0), CaptureLength: len(long), Length: len(long)}, long)
	frames, err := readAll(t, "long.pcap", b.Bytes())
	if len(frames) != 1 {
		t.Errorf("%d frames, want 1", len(frames))
	}
	wantReadError(t, err, "long.pcap", 1, "exceeds snap length")
}

func TestPcapngLongRecordSkipped(t *testing.T) {
	// A pcapng block frames its packet, so a packet longer than
	// MaxCaptureLength is skipped, counted, and reading goes on.
	var b bytes.Buffer
	w, _ := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(frame), Length: len(frame)}, frame)
	long := make([]byte, MaxCaptureLength+1)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(2, 0), CaptureLength: len(long), Length: len(long)}, long)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(3, 0), CaptureLength: len(frame), Length: len(frame)}, frame)
	w.Flush()
	frames, sk, err := readSkipping(t, "long.pcapng", b.Bytes())
	if err != nil || len(frames) != 2 || frames[1].Time != 3e9 {
		t.Fatalf("%d frames, err %v: want the two good ones", len(frames), err)
	}
	if sk.Records != 1 || sk.First != "record 2: captured length 262145 exceeds the maximum of 262144" {
		t.Errorf("skipped %+v", sk)
	}
}

// readSkipping is readAll that also returns what the file skipped.
func readSkipping(t testing.TB, name string, data []byte) ([]Frame, Skipped, error) {
	t.Helper()
	f, err := NewReader(name, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []Frame
	for {
		var fr Frame
		err := f.Next(&fr)
		if err == io.EOF {
			return out, f.Skipped(), nil
		}
		if err != nil {
			return out, f.Skipped(), err
		}
		fr.Data = bytes.Clone(fr.Data)
		out = append(out, fr)
	}
}

func TestPcapngHugeBlockLength(t *testing.T) {
	// An enhanced packet block claiming a 4 GiB capture length in a small
	// file: reading stops at the damage and allocates about what the file
	// holds.
	data := pcapngFile(t, times(2)...)
	i := bytes.LastIndex(data, []byte{6, 0, 0, 0}) // the last EPB's type
	if i < 0 {
		t.Fatal("no enhanced packet block")
	}
	binary.LittleEndian.PutUint32(data[i+20:], math.MaxUint32) // captured length
	binary.LittleEndian.PutUint32(data[i+24:], math.MaxUint32) // original length
	var frames []Frame
	var err error
	n := allocated(func() { frames, err = readAll(t, "huge.pcapng", data) })
	if len(frames) != 1 {
		t.Errorf("%d frames, want 1", len(frames))
	}
	wantReadError(t, err, "huge.pcapng", 1, "")
	if n > 4<<20 {
		t.Errorf("reading allocated %d bytes", n)
	}
}

func TestImpossibleLengths(t *testing.T) {
	t.Run("pcap caplen > len", func(t *testing.T) {
		// tcpdump and tshark flag such a record and read on: so does
		// wirecheck, counting it.
		data := pcapFile(t, 65535, times(3)...)
		binary.LittleEndian.PutUint32(data[pcapRecord(1)+12:], 20) // len 20 < caplen 60
		frames, sk, err := readSkipping(t, "a.pcap", data)
		if err != nil || len(frames) != 2 || frames[1].Time != times(3)[2].UnixNano() {
			t.Fatalf("%d frames, err %v: want records 1 and 3", len(frames), err)
		}
		if sk.Records != 1 || sk.First != "record 2: captured length 60 exceeds original length 20" {
			t.Errorf("skipped %+v", sk)
		}
	})
	t.Run("pcap len huge", func(t *testing.T) {
		data := pcapFile(t, 65535, times(3)...)
		binary.LittleEndian.PutUint32(data[pcapRecord(2)+12:], 0xF0000000)
		frames, err := readAll(t, "b.pcap", data)
		if len(frames) != 2 {
			t.Errorf("%d frames, want 2", len(frames))
		}
		wantReadError(t, err, "b.pcap", 2, "packet 3: original length 4026531840 bytes is impossible")
	})
	t.Run("pcapng caplen > len", func(t *testing.T) {
		data := pcapngFile(t, times(2)...)
		i := bytes.LastIndex(data, []byte{6, 0, 0, 0})
		binary.LittleEndian.PutUint32(data[i+24:], 20)
		frames, sk, err := readSkipping(t, "c.pcapng", data)
		if err != nil || len(frames) != 1 {
			t.Fatalf("%d frames, err %v", len(frames), err)
		}
		if sk.Records != 1 || sk.First != "record 2: captured length 60 exceeds original length 20" {
			t.Errorf("skipped %+v", sk)
		}
	})
}

func TestCutAfterRecordHeader(t *testing.T) {
	// A file that ends right after a record header (86 bytes announced,
	// none there) is cut short, as one cut a byte later is; only a file
	// that ends between records ends cleanly.
	data := pcapFile(t, 65535, times(3)...)
	for i := range 3 {
		for _, extra := range []int{0, 1, 15, 16, 17} {
			cut := pcapRecord(i) + extra
			frames, err := readAll(t, "cut.pcap", data[:cut])
			if len(frames) != i {
				t.Errorf("cut at record %d + %d: %d frames, want %d", i, extra, len(frames), i)
			}
			if extra == 0 {
				if err != nil {
					t.Errorf("cut between records: %v", err)
				}
				continue
			}
			wantReadError(t, err, "cut.pcap", uint64(i), "unexpected EOF")
		}
	}
}

func TestTimesBeyondInt64Clamp(t *testing.T) {
	// pcapng timestamps are 64-bit counts of units an interface declares;
	// with nanoseconds they reach the year 2554, beyond int64 nanoseconds.
	far := time.Unix(1<<36, 0)
	frames, err := readAll(t, "far.pcapng", pcapngFile(t, time.Unix(100, 0), far, time.Unix(-100, 0)))
	if err != nil || len(frames) != 3 {
		t.Fatalf("%d frames, err %v", len(frames), err)
	}
	if frames[0].Time != 100e9 || frames[1].Time != math.MaxInt64 {
		t.Errorf("times %d, %d: want 100e9 and MaxInt64", frames[0].Time, frames[1].Time)
	}
	// pcapng's unsigned timestamps cannot go before 1970; the writer wraps
	// a negative one far into the future.
	if frames[2].Time != math.MaxInt64 {
		t.Errorf("time %d, want MaxInt64", frames[2].Time)
	}
	if got := unixNano(time.Unix(-1<<40, 0)); got != math.MinInt64 {
		t.Errorf("unixNano of year -32000 = %d", got)
	}
}

func TestMixedLinkTypesAndByteOrders(t *testing.T) {
	frames, err := readAll(t, "be.pcap", bigEndianPcap())
	if err != nil || len(frames) != 1 || frames[0].LinkType != layers.LinkTypeRaw || frames[0].Time != 1e9+2e3 {
		t.Fatalf("big-endian pcap: %+v, %v", frames, err)
	}
	frames, err = readAll(t, "two.pcapng", twoInterfaces(t))
	if err != nil || len(frames) != 3 {
		t.Fatalf("%d frames, err %v", len(frames), err)
	}
	for i, want := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeEthernet} {
		if frames[i].LinkType != want || frames[i].WireLen != len(frame)+10 {
			t.Errorf("frame %d: link %v, wire length %d", i, frames[i].LinkType, frames[i].WireLen)
		}
	}
}

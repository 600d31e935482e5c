package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

// readEnd is what reading a capture delivered: its frames (copied), the
// error that ended it (io.EOF, or a *ReadError) and Progress at the end.
type readEnd struct {
	frames  []Frame
	err     error
	packets uint64
	read    int64
	skipped Skipped
}

// readNext reads r to the end with Next.
func readNext(name string, r io.Reader) (readEnd, error) {
	f, err := NewReader(name, r)
	if err != nil {
		return readEnd{}, err
	}
	var out readEnd
	for {
		var fr Frame
		if out.err = f.Next(&fr); out.err != nil {
			break
		}
		fr.Data = bytes.Clone(fr.Data)
		out.frames = append(out.frames, fr)
	}
	out.read, _, out.packets = f.Progress()
	out.skipped = f.Skipped()
	return out, nil
}

// readBatches reads r to the end with ReadFrames, into bufs in turn, at
// most per frames a call. After each call it checks that the frames of the
// calls before, whose buffers the call did not get, are still intact.
func readBatches(t *testing.T, name string, r io.Reader, bufs [][]byte, per int) (readEnd, error) {
	f, err := NewReader(name, r)
	if err != nil {
		return readEnd{}, err
	}
	var out readEnd
	var live [][]Frame // frames still in bufs, by buffer
	live = make([][]Frame, len(bufs))
	for call := 0; ; call++ {
		i := call % len(bufs)
		live[i] = nil
		frames := make([]Frame, per)
		n, err := f.ReadFrames(bufs[i], frames)
		if n > per || n < 0 {
			t.Fatalf("%s: ReadFrames returned %d frames of %d", name, n, per)
		}
		if n == 0 && err == nil {
			t.Fatalf("%s: ReadFrames returned neither frames nor an error", name)
		}
		live[i] = frames[:n]
		for _, fr := range frames[:n] {
			c := fr
			c.Data = bytes.Clone(fr.Data)
			out.frames = append(out.frames, c)
		}
		// Every frame still in a buffer holds what it held when read.
		k := len(out.frames)
		for j := range bufs {
			b := live[(call-j+len(bufs))%len(bufs)]
			k -= len(b)
			for m, fr := range b {
				if !bytes.Equal(fr.Data, out.frames[k+m].Data) {
					t.Fatalf("%s: frame %d changed after %d more calls", name, k+m+1, j)
				}
			}
		}
		if err != nil {
			out.err = err
			if n2, again := f.ReadFrames(bufs[i], frames); n2 != 0 || again != err {
				t.Fatalf("%s: error %v not sticky: then %d frames, %v", name, err, n2, again)
			}
			break
		}
	}
	out.read, _, out.packets = f.Progress()
	out.skipped = f.Skipped()
	return out, nil
}

// sameRead fails t unless reading data with ReadFrames, in several buffer
// and batch sizes and through readers that return short reads, delivers
// exactly what Next delivers.
// With quick, it tries fewer combinations.
func sameRead(t *testing.T, name string, data []byte, quick bool) {
	t.Helper()
	want, werr := readNext(name, bytes.NewReader(data))
	small, large := testBufs[0], testBufs[1]
	type reader struct {
		name string
		r    func() io.Reader
	}
	readers := []reader{
		{"whole", func() io.Reader { return bytes.NewReader(data) }},
		{"half", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }},
		{"eof-with-data", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }},
	}
	if len(data) < 1<<16 {
		readers = append(readers, reader{"bytewise", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }})
	}
	type batching struct {
		bufs [][]byte
		per  int
	}
	batchings := []batching{
		{[][]byte{small}, 3}, // the same buffer every call
		{[][]byte{large, small}, 1},
	}
	if quick {
		readers = []reader{readers[0], readers[len(readers)-1]}
	} else {
		batchings = append(batchings,
			batching{[][]byte{large, testBufs[2], testBufs[3]}, 256},
			batching{[][]byte{small, testBufs[4]}, 4096})
	}
	for _, rd := range readers {
		for _, bc := range batchings {
			got, gerr := readBatches(t, name, rd.r(), bc.bufs, bc.per)
			where := fmt.Sprintf("%s (%s reader, %d frames per call)", name, rd.name, bc.per)
			if !reflect.DeepEqual(werr, gerr) {
				t.Fatalf("%s: open: Next %v, ReadFrames %v", where, werr, gerr)
			}
			if !reflect.DeepEqual(want.err, got.err) {
				t.Fatalf("%s: Next ended with %v, ReadFrames with %v", where, want.err, got.err)
			}
			if len(want.frames) != len(got.frames) {
				t.Fatalf("%s: Next read %d frames, ReadFrames %d", where, len(want.frames), len(got.frames))
			}
			for i := range want.frames {
				w, g := want.frames[i], got.frames[i]
				if !bytes.Equal(w.Data, g.Data) || w.WireLen != g.WireLen || w.Time != g.Time || w.LinkType != g.LinkType {
					t.Fatalf("%s: frame %d: Next %d bytes %d wire %d ns %v, ReadFrames %d bytes %d wire %d ns %v",
						where, i+1, len(w.Data), w.WireLen, w.Time, w.LinkType, len(g.Data), g.WireLen, g.Time, g.LinkType)
				}
			}
			// How far a reader reads ahead of damage is its own affair;
			// at a clean end both have read the whole file.
			if want.skipped != got.skipped {
				t.Fatalf("%s: Next skipped %+v, ReadFrames %+v", where, want.skipped, got.skipped)
			}
			if want.packets != got.packets || (want.err == io.EOF && want.read != got.read) {
				t.Fatalf("%s: Progress at the end: Next %d packets %d bytes, ReadFrames %d packets %d bytes", where, want.packets, want.read, got.packets, got.read)
			}
		}
	}
}

// testBufs are the buffers sameRead reads into: two of FramesBufferMin
// bytes (0 and 4) and three of 1 MiB.
var testBufs = [][]byte{
	make([]byte, FramesBufferMin), make([]byte, 1<<20), make([]byte, 1<<20), make([]byte, 1<<20), make([]byte, FramesBufferMin),
}

// TestReadFramesEqualsNext holds ReadFrames to Next on every corpus capture
// (pcap in both byte orders and resolutions, old format versions, pcapng,
// damaged files) and on generated ones, whole and cut short.
func TestReadFramesEqualsNext(t *testing.T) {
	t.Run("generated", func(t *testing.T) {
		for _, tc := range generatedCaptures(t) {
			sameRead(t, tc.name, tc.data, false)
		}
	})
	t.Run("corpus", func(t *testing.T) {
		dir := testcorpus.Dir(t)
		var files int
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			sameRead(t, filepath.Base(p), data, false)
			return nil
		})
		if err != nil || files < 100 {
			t.Fatalf("corpus %s: %d files, %v", dir, files, err)
		}
	})
}

// TestReadFramesCutEverywhere cuts small captures at every byte: the frames
// before the cut and the error (io.EOF at a record boundary,
// io.ErrUnexpectedEOF elsewhere, right after a header too) are those of
// Next.
func TestReadFramesCutEverywhere(t *testing.T) {
	files := map[string][]byte{
		"le-nanos.pcap": pcapFile(t, 65535, times(4)...),
		"be-micros.pcap": append(bigEndianPcap(), []byte{
			0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 9, 0x45, 0}...), // a second record, cut by its snap length
		"old.pcap": oldFormat(pcapFile(t, 65535, times(3)...), 3, false, true, false),
		"empty-record.pcap": append(pcapFile(t, 65535, times(2)...),
			1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0), // 0 bytes captured of 5
	}
	for name, data := range files {
		for cut := range len(data) + 1 {
			sameRead(t, fmt.Sprintf("%s[:%d]", name, cut), data[:cut], true)
		}
	}
	// gzip: every cut of the compressed stream.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(pcapFile(t, 65535, times(3)...))
	zw.Close()
	for cut := range gz.Len() + 1 {
		sameRead(t, fmt.Sprintf("gz[:%d]", cut), gz.Bytes()[:cut], true)
	}
}

// TestReadFramesReadError: an error from the file itself (not its end) is
// delivered as Next delivers it, after the same frames.
func TestReadFramesReadError(t *testing.T) {
	data := pcapFile(t, 65535, times(50)...)
	broken := errors.New("input/output error")
	for _, at := range []int{24, 100, pcapRecord(7), pcapRecord(20) + 5, len(data)} {
		open := func() io.Reader { return &failAfter{r: bytes.NewReader(data[:at]), err: broken} }
		want, _ := readNext("x.pcap", open())
		got, _ := readBatches(t, "x.pcap", open(), [][]byte{make([]byte, FramesBufferMin)}, 16)
		if !reflect.DeepEqual(want.err, got.err) || len(want.frames) != len(got.frames) {
			t.Errorf("error at byte %d: Next %d frames then %v, ReadFrames %d frames then %v", at, len(want.frames), want.err, len(got.frames), got.err)
		}
		var re *ReadError
		if !errors.As(got.err, &re) || !errors.Is(got.err, broken) {
			t.Errorf("error at byte %d: %v, want a *ReadError wrapping the file's error", at, got.err)
		}
	}
}

// failAfter returns err once r is exhausted.
type failAfter struct {
	r   io.Reader
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		err = f.err
	}
	return n, err
}

type namedCapture struct {
	name string
	data []byte
}

// generatedCaptures are pcap files larger than ReadFrames' buffers, with
// records from empty to MaxCaptureLength bytes, in both byte orders, and
// the damage ReadFrames checks for, placed past the first buffer.
func generatedCaptures(t *testing.T) []namedCapture {
	rng := rand.New(rand.NewPCG(7, 11))
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(MaxCaptureLength, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	var offsets []int // of each record's header
	payload := make([]byte, MaxCaptureLength)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	ts := time.Unix(1_700_000_000, 0)
	for i := range 3000 {
		n := rng.IntN(1600)
		switch i % 500 {
		case 17:
			n = 0
		case 99:
			n = MaxCaptureLength
		case 300:
			n = MaxCaptureLength - rng.IntN(1000)
		}
		offsets = append(offsets, b.Len())
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * 1234567), CaptureLength: n, Length: n + rng.IntN(3)*100}
		if err := w.WritePacket(ci, payload[:n]); err != nil {
			t.Fatal(err)
		}
	}
	good := b.Bytes()
	out := []namedCapture{{"big.pcap", good}}
	damage := func(name string, rec, field int, v uint32) {
		d := bytes.Clone(good)
		binary.LittleEndian.PutUint32(d[offsets[rec]+field:], v)
		out = append(out, namedCapture{name, d})
	}
	damage("caplen-over-max.pcap", 2500, 8, MaxCaptureLength+1)
	damage("caplen-over-len.pcap", 2600, 12, 0)
	damage("len-impossible.pcap", 2700, 12, MaxWireLength+1)
	out = append(out, namedCapture{"cut.pcap", good[:offsets[2900]+9]})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(good[:len(good)-3])
	zw.Close()
	out = append(out, namedCapture{"big.pcap.gz", gz.Bytes()})
	return out
}

// BenchmarkReadFrames and BenchmarkNext read the same pcap file from memory:
// the cost of delivering frames, without the cost of reading the file.
func BenchmarkReadFrames(b *testing.B) {
	data := benchFile(b)
	bufs := [][]byte{make([]byte, 1<<20), make([]byte, 1<<20)}
	frames := make([]Frame, 2048)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		f, err := NewReader("bench", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; ; i++ {
			k, err := f.ReadFrames(bufs[i%2], frames)
			n += k
			if err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/frame")
}

func BenchmarkNext(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int
	var fr Frame
	for b.Loop() {
		f, err := NewReader("bench", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for f.Next(&fr) == nil {
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/frame")
}

// benchFile is 200,000 records of 64 to 1514 bytes, about 150 MB.
func benchFile(b *testing.B) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	payload := make([]byte, 1514)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200_000 {
		n := 64
		if rng.IntN(2) == 0 {
			n = 1514
		}
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: n, Length: n}, payload[:n])
	}
	return buf.Bytes()
}

// FuzzReadFrames holds ReadFrames to Next on arbitrary input.
func FuzzReadFrames(f *testing.F) {
	ts := times(3)
	f.Add(pcapFile(f, 65535, ts...))
	f.Add(bigEndianPcap())
	f.Add(oldFormat(pcapFile(f, 65535, ts...), 3, false, true, false))
	f.Add(pcapngFile(f, ts...))
	f.Fuzz(func(t *testing.T, data []byte) {
		sameRead(t, "fuzz.pcap", data, true)
	})
}

// sliceSource delivers its frames in order, each valid until the next (the
// one buffer is overwritten), as a live source's frames are.
type sliceSource struct {
	frames [][]byte
	buf    []byte
	i      int
}

func (s *sliceSource) Next(fr *Frame) error {
	if s.i == len(s.frames) {
		return io.EOF
	}
	s.buf = append(s.buf[:0], s.frames[s.i]...)
	*fr = Frame{Data: s.buf, WireLen: len(s.buf), Time: int64(s.i), LinkType: layers.LinkTypeEthernet}
	s.i++
	return nil
}

func (s *sliceSource) Close() error { return nil }

// TestBatchedCopiesFrames: Batched leaves a File as it is, and gives any
// other Source a ReadFrames whose frames stay intact after later reads,
// a frame longer than any capture file's among them.
func TestBatchedCopiesFrames(t *testing.T) {
	f, err := NewReader("x.pcap", bytes.NewReader(pcapFile(t, 65535, times(2)...)))
	if err != nil {
		t.Fatal(err)
	}
	if Batched(f) != BatchSource(f) {
		t.Error("Batched wrapped a File, which reads frames itself")
	}
	var want [][]byte
	for i := range 600 {
		n := 60 + i*7
		if i == 300 {
			n = MaxCaptureLength + 1000
		}
		want = append(want, bytes.Repeat([]byte{byte(i)}, n))
	}
	bs := Batched(&sliceSource{frames: want})
	buf := make([]byte, FramesBufferMin+64<<10)
	var got []Frame
	for {
		frames := make([]Frame, 64)
		n, err := bs.ReadFrames(buf, frames)
		got = append(got, frames[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil || n == 0 {
			t.Fatalf("after %d frames: %d frames, %v", len(got), n, err)
		}
		buf = make([]byte, len(buf)) // earlier frames keep theirs
	}
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i, fr := range got {
		if !bytes.Equal(fr.Data, want[i]) || fr.Time != int64(i) {
			t.Fatalf("frame %d: %d bytes at %d, want %d bytes at %d", i, len(fr.Data), fr.Time, len(want[i]), i)
		}
	}
}

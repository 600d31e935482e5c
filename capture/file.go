package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// File is a Source reading one capture file.
type File struct {
	name    string
	closer  io.Closer
	size    int64 // bytes in the file on disk, or -1 (standard input)
	counter *countingReader
	ng      *pcapgo.NgReader
	link    layers.LinkType // of a pcap file
	ngLinks []layers.LinkType
	pcap    *pcapRecords // nil for pcapng
	packets uint64
	skipped Skipped
	// shown is packets as another goroutine may read it (Progress),
	// published every packetsShownEvery packets: an atomic store per
	// packet would cost more than reading the packet.
	shown atomic.Uint64
	err   error // sticky: set once reading stopped
}

const packetsShownEvery = 256

// pcapng's section header block type, which is also its file magic.
const ngMagic = 0x0A0D0D0A

// MaxCaptureLength is the longest frame a capture file may hold: libpcap's
// MAXIMUM_SNAPLEN, which tcpdump and Wireshark also stop at. A file header
// may declare any snap length up to 4 GiB; wirecheck does not let it size a
// buffer beyond this.
const MaxCaptureLength = 262144

// MaxWireLength is the longest original length a frame may claim. No link
// carries more (Linux BIG TCP aggregates reach 512 KiB); a larger value is a
// damaged record header, and the records after it are misaligned too.
const MaxWireLength = 1 << 22

// Open opens a capture file for reading. The name "-" reads standard input.
// The format (pcap or pcapng, either gzip-compressed or not) is detected
// from the content, not the name.
func Open(name string) (*File, error) {
	var r io.Reader
	f := &File{name: name, size: -1}
	if name == "-" {
		r = os.Stdin
	} else {
		fd, err := os.Open(name)
		if err != nil {
			return nil, err // *PathError already names the file
		}
		st, err := fd.Stat()
		if err == nil && st.IsDir() {
			fd.Close()
			return nil, fmt.Errorf("%s is a directory: name the capture files in it (e.g. %s)", name, filepath.Join(name, "*.pcap"))
		}
		if err == nil && st.Mode().IsRegular() {
			f.size = st.Size()
		}
		r, f.closer = fd, fd
	}
	if err := f.init(r); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// NewReader reads a capture from r; name is used in errors only.
func NewReader(name string, r io.Reader) (*File, error) {
	f := &File{name: name, size: -1}
	if err := f.init(r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

func (f *File) init(r io.Reader) error {
	f.counter = &countingReader{r: r}
	br := bufio.NewReaderSize(f.counter, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty or too short to be a capture file")
		}
		return err
	}
	in := br
	// A compressed file may be compressed again (a .gz of a .pcap.gz);
	// two layers are unpacked, as before wirecheck read records itself
	// (pcapgo unpacked the inner one).
	for layer := 0; magic[0] == 0x1f && magic[1] == 0x8b; layer++ {
		if layer == 2 {
			return errors.New("gzip: compressed more than twice")
		}
		zr, err := gzip.NewReader(in)
		if err != nil {
			return gzipError(err)
		}
		zbr := bufio.NewReaderSize(zr, 1<<16)
		if magic, err = zbr.Peek(4); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("gzip-compressed, but holds less than a capture file header")
			}
			return gzipError(err)
		}
		in = zbr
	}
	if binary.LittleEndian.Uint32(magic) == ngMagic {
		ng, err := pcapgo.NewNgReader(in, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return fmt.Errorf("pcapng: %w", err)
		}
		f.ng = ng
		return nil
	}
	// pcapgo reads the file header (from recs itself: it wraps only what
	// is not a bufio.Reader); pcapRecords reads the records, for Next and
	// ReadFrames alike, and skips damaged ones where pcapgo stops.
	big := binary.LittleEndian.Uint32(magic) == pcapMicroBE || binary.LittleEndian.Uint32(magic) == pcapNanoBE
	recs := in
	if old := upgradeOldPcap(in); old != io.Reader(in) {
		recs = bufio.NewReaderSize(old, 1<<12)
	}
	switch binary.LittleEndian.Uint32(magic) {
	case pcapMicroLE, pcapMicroBE, pcapNanoLE, pcapNanoBE:
	default:
		// pcapgo names the magic as a number, its bytes swapped
		// ("Unknown magic 6c6c6568" for a file starting "hell"): show
		// the bytes as a hex dump would, and what a capture starts with.
		return fmt.Errorf("not a pcap or pcapng file: it starts with the bytes % x (%+q); captures start with d4 c3 b2 a1 or a1 b2 c3 d4 (pcap), 0a 0d 0d 0a (pcapng) or 1f 8b (gzip)", magic[:4], magic[:4])
	}
	pr, err := pcapgo.NewReader(recs)
	if err != nil {
		return fmt.Errorf("not a pcap or pcapng file (%w)", err)
	}
	snaplen := min(pr.Snaplen(), MaxCaptureLength)
	f.link = pr.LinkType()
	f.pcap = &pcapRecords{r: recs, big: big, snaplen: snaplen, nanos: 1}
	if pr.Resolution() == gopacket.TimestampResolutionMicrosecond {
		f.pcap.nanos = 1000
	}
	return nil
}

// gzipError says what a gzip error means for a capture file: gzip's own
// messages repeat "gzip:" and say nothing of what to do.
func gzipError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "gzip: ")
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		msg = "it ends too early"
	}
	return fmt.Errorf("starts like a gzip-compressed file, but it cannot be decompressed (%s): check that it was copied whole, or decompress it with gunzip to see why", msg)
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// Progress returns the bytes of the file read so far, its size (-1 when it
// is not known: standard input) and the packets delivered. It is safe to
// call from another goroutine while Next runs, which is what a progress
// display does; packets then lags by up to 255 until reading ends.
func (f *File) Progress() (read, size int64, packets uint64) {
	return f.counter.n.Load(), f.size, f.shown.Load()
}

// Packets returns the number of packets delivered so far.
func (f *File) Packets() uint64 { return f.packets }

// Next reads the next packet into fr. It returns io.EOF at the end of the
// file and a *ReadError when the file is damaged; both are sticky. A
// damaged record whose length still leads to the next one is skipped and
// counted (Skipped) instead.
func (f *File) Next(fr *Frame) error {
	if f.err != nil {
		return f.err
	}
	var err error
	if f.pcap != nil {
		err = f.pcap.next(f, fr)
	} else {
		err = f.nextNg(fr)
	}
	if err != nil {
		return f.fail(err)
	}
	f.packets++
	if f.packets%packetsShownEvery == 0 {
		f.shown.Store(f.packets)
	}
	return nil
}

// nextNg reads the next good packet of a pcapng file into fr. A block
// frames its packet whatever the lengths inside say, so a packet with
// impossible lengths is skipped and reading goes on: a captured length
// above the original one (which tcpdump and tshark flag) or above
// MaxCaptureLength (whose bytes gopacket has already read, growing its
// buffer as they arrived), or an original length beyond MaxWireLength.
func (f *File) nextNg(fr *Frame) error {
	for {
		data, ci, err := f.ng.ZeroCopyReadPacketData()
		if err != nil {
			return err
		}
		link, err := f.ngLink(ci.InterfaceIndex)
		if err != nil {
			return err
		}
		if why := damage(len(data), ci.Length); why != "" {
			f.skip(why)
			continue
		}
		fr.Data, fr.WireLen, fr.Time, fr.LinkType = data, ci.Length, unixNano(ci.Timestamp), link
		return nil
	}
}

// damage says what is wrong with a record of caplen captured bytes of an
// original length bytes, or "" when nothing is.
func damage(caplen, length int) string {
	switch {
	case caplen > MaxCaptureLength:
		return fmt.Sprintf("captured length %d exceeds the maximum of %d", caplen, MaxCaptureLength)
	case length > MaxWireLength || length < 0:
		return fmt.Sprintf("original length %d is impossible", length)
	case caplen > length:
		return fmt.Sprintf("captured length %d exceeds original length %d", caplen, length)
	}
	return ""
}

// Skipped is what a file held that reading passed over: damaged records
// whose framing still led to the next record.
type Skipped struct {
	Records uint64
	// First says which record was the first skipped and why, e.g. "record
	// 3: captured length 64 exceeds original length 34".
	First string
}

// Skipped returns the damaged records skipped so far.
func (f *File) Skipped() Skipped { return f.skipped }

func (f *File) skip(why string) {
	if f.skipped.Records == 0 {
		f.skipped.First = fmt.Sprintf("record %d: %s", f.packets+f.skipped.Records+1, why)
	}
	f.skipped.Records++
}

// unixNano is t.UnixNano clamped to what an int64 holds: a damaged pcapng
// timestamp can lie centuries away, where UnixNano's result is undefined.
func unixNano(t time.Time) int64 {
	const maxSec = math.MaxInt64 / int64(time.Second)
	switch s := t.Unix(); {
	case s >= maxSec:
		return math.MaxInt64
	case s <= -maxSec:
		return math.MinInt64
	}
	return t.UnixNano()
}

// ngLink returns the link type of a pcapng interface, cached so that the
// per-packet path does no interface lookups.
func (f *File) ngLink(i int) (layers.LinkType, error) {
	if i < len(f.ngLinks) {
		return f.ngLinks[i], nil
	}
	for n := len(f.ngLinks); n <= i; n++ {
		iface, err := f.ng.Interface(n)
		if err != nil {
			return 0, fmt.Errorf("pcapng interface %d: %w", n, err)
		}
		f.ngLinks = append(f.ngLinks, iface.LinkType)
	}
	return f.ngLinks[i], nil
}

// Close closes the file (not standard input).
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// countingReader counts the bytes read from the file. It sits below the
// 64 KiB bufio.Reader, so the atomic add happens once per buffer refill,
// not per packet.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

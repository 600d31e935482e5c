package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

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
	read    func() ([]byte, gopacket.CaptureInfo, error)
	ng      *pcapgo.NgReader
	link    layers.LinkType // of a pcap file
	ngLinks []layers.LinkType
	packets uint64
	err     error // sticky: set once reading stopped
}

// pcapng's section header block type, which is also its file magic.
const ngMagic = 0x0A0D0D0A

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
		if st, err := fd.Stat(); err == nil && st.Mode().IsRegular() {
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
	var in io.Reader = br
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		zbr := bufio.NewReaderSize(zr, 1<<16)
		if magic, err = zbr.Peek(4); err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		in = zbr
	}
	if binary.LittleEndian.Uint32(magic) == ngMagic {
		ng, err := pcapgo.NewNgReader(in, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return fmt.Errorf("pcapng: %w", err)
		}
		f.ng, f.read = ng, ng.ZeroCopyReadPacketData
		return nil
	}
	pr, err := pcapgo.NewReader(in)
	if err != nil {
		return fmt.Errorf("not a pcap or pcapng file (%w)", err)
	}
	f.link, f.read = pr.LinkType(), pr.ZeroCopyReadPacketData
	return nil
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// Progress returns the bytes of the file read so far and its size, or -1
// for a size that is not known (standard input).
func (f *File) Progress() (read, size int64) { return f.counter.n, f.size }

// Packets returns the number of packets delivered so far.
func (f *File) Packets() uint64 { return f.packets }

// Next reads the next packet into fr. It returns io.EOF at the end of the
// file and a *ReadError when the file is damaged; both are sticky.
func (f *File) Next(fr *Frame) error {
	if f.err != nil {
		return f.err
	}
	data, ci, err := f.read()
	if err != nil {
		if err == io.EOF {
			f.err = io.EOF
		} else {
			f.err = &ReadError{Name: f.name, Packets: f.packets, Err: err}
		}
		return f.err
	}
	link := f.link
	if f.ng != nil {
		if link, err = f.ngLink(ci.InterfaceIndex); err != nil {
			f.err = &ReadError{Name: f.name, Packets: f.packets, Err: err}
			return f.err
		}
	}
	f.packets++
	fr.Data, fr.WireLen, fr.Time, fr.LinkType = data, max(ci.Length, len(data)), ci.Timestamp.UnixNano(), link
	return nil
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

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

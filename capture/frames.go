package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// FramesBufferMin is the smallest buffer ReadFrames takes: one record of
// MaxCaptureLength bytes and its 16-byte pcap header.
const FramesBufferMin = MaxCaptureLength + 16

// framesRead is the most ReadFrames asks of the file at a time: the most
// its smallest buffer allows. Larger reads make the bytes read past a
// batch's last frame, which the next batch copies, larger, but on the VMs
// measured a system call costs more than that copy (README, Performance:
// 256 KiB against 128 KiB).
//
// It must not exceed FramesBufferMin: those bytes are fewer than framesRead
// or than one record, and the next call's buffer, which may be the smallest
// ReadFrames takes, must hold them all (the check below fails to compile
// otherwise). With 1 MiB reads, a 1 MiB batch's leftover overflowed the
// next, smaller batch's buffer and reading stopped on a garbled header.
const framesRead = 256 << 10

var _ [FramesBufferMin - framesRead]struct{}

// BatchSource is a Source that can also deliver many frames at a time
// into buffers its caller owns, so that a reading goroutine can hand them to
// another without copying a frame.
type BatchSource interface {
	Source
	// ReadFrames fills frames with the frames that follow, their bytes in buf
	// (see File.ReadFrames).
	ReadFrames(buf []byte, frames []Frame) (int, error)
}

// ReadFrames reads the frames that follow into frames, their bytes into buf,
// and returns how many it read. Each Frame.Data points into buf and stays
// valid as long as buf does, whatever is read later into other buffers. Bytes
// that ReadFrames read past the last frame are taken from buf by the next
// call, so the caller must leave buf unchanged until that call returns; it
// may then reuse buf, or pass it to that very call. buf must hold at least
// FramesBufferMin bytes.
//
// The frames, their errors and Progress are those of Next, which ReadFrames
// must not be mixed with: it returns io.EOF at the end of the file and a
// *ReadError after damage, both sticky, with the n frames read before them.
//
// For pcap files ReadFrames reads the file into buf in blocks of up to 128
// KiB and walks the 16-byte record headers itself. That is a third of the
// cost of reading them one by one with pcapgo and copying each out of its
// buffer, which it reads through a bufio.Reader and copies again
// (BenchmarkReadFrames against BenchmarkNext). For pcapng it copies what
// Next returns into buf.
func (f *File) ReadFrames(buf []byte, frames []Frame) (int, error) {
	checkFramesBuffer(buf)
	if f.err != nil {
		return 0, f.err
	}
	if f.pcap == nil {
		return copyFrames(f, buf, frames)
	}
	return f.pcap.frames(f, buf, frames)
}

func checkFramesBuffer(buf []byte) {
	if len(buf) < FramesBufferMin {
		panic(fmt.Sprintf("capture: ReadFrames buffer of %d bytes, want at least %d", len(buf), FramesBufferMin))
	}
}

// Batched returns src as a BatchSource: src itself when it is one, else src
// with a ReadFrames that copies the frames of Next, each valid only until
// the next, into the caller's buffer.
func Batched(src Source) BatchSource {
	if bs, ok := src.(BatchSource); ok {
		return bs
	}
	return copier{src}
}

type copier struct{ Source }

func (c copier) ReadFrames(buf []byte, frames []Frame) (int, error) {
	checkFramesBuffer(buf)
	return copyFrames(c.Source, buf, frames)
}

// copyFrames is ReadFrames through src.Next: it copies frames into buf
// while a frame of MaxCaptureLength bytes still fits.
func copyFrames(src Source, buf []byte, frames []Frame) (int, error) {
	used := 0
	for n := range frames {
		if len(buf)-used < MaxCaptureLength {
			return n, nil
		}
		fr := &frames[n]
		if err := src.Next(fr); err != nil {
			return n, err
		}
		if len(fr.Data) > len(buf)-used {
			// Longer than any capture file's frame (a File never
			// delivers one): a Source of another kind may, and such
			// a frame gets memory of its own.
			fr.Data = bytes.Clone(fr.Data)
			continue
		}
		end := used + copy(buf[used:], fr.Data)
		fr.Data = buf[used:end:end]
		used = end
	}
	return len(frames), nil
}

// pcapRecords walks the records of a pcap file, for Next one by one and
// for ReadFrames a buffer at a time, with the same checks and errors.
type pcapRecords struct {
	r       io.Reader // the bytes after the file header
	hdr     [16]byte  // next's record header
	data    []byte    // next's frame buffer
	big     bool      // big-endian
	nanos   uint32    // factor from the fraction of a second to nanoseconds
	snaplen uint32    // as pcapgo has it: capped at MaxCaptureLength
	// rest is the bytes of the previous buffer after its last frame.
	rest []byte
}

// frames is File.ReadFrames for a pcap file.
func (p *pcapRecords) frames(f *File, buf []byte, frames []Frame) (int, error) {
	end := copy(buf, p.rest) // buf[:end] holds bytes read from the file
	p.rest = nil
	off, n := 0, 0 // buf[off:end] is not delivered yet; frames[:n] are
	var rerr error // what the last read returned besides bytes
	for n < len(frames) {
		avail := end - off
		need := 16
		if avail >= 16 {
			h := buf[off : off+16]
			sec, frac, caplen, length := p.header(h)
			if caplen > MaxCaptureLength || length > MaxWireLength {
				// The lengths are not to be trusted to find the next
				// record.
				return n, f.fail(p.broken(f, caplen, length))
			}
			need += int(caplen)
			if avail >= need {
				if caplen > length {
					// Damaged, but its length led to the next record,
					// as it does in tcpdump and tshark.
					f.skip(damage(int(caplen), int(length)))
					off += need
					continue
				}
				data := buf[off+16 : off+need : off+need]
				frames[n] = Frame{
					Data:     data,
					WireLen:  int(length),
					Time:     int64(sec)*1e9 + int64(frac*p.nanos), // as pcapgo's time.Unix: uint32 product
					LinkType: f.link,
				}
				n++
				off += need
				f.packets++
				if f.packets%packetsShownEvery == 0 {
					f.shown.Store(f.packets)
				}
				continue
			}
		}
		if rerr != nil {
			if rerr == io.EOF && avail != 0 {
				// A file cut inside a record, even right after its
				// header, is cut short: only a file that ends between
				// records ends cleanly.
				rerr = io.ErrUnexpectedEOF
			}
			return n, f.fail(rerr)
		}
		if len(buf)-end < need-avail {
			// The record does not fit: the next buffer starts with it.
			// n > 0 here, as buf holds any record from its start.
			p.rest = buf[off:end]
			return n, nil
		}
		var m int
		m, rerr = p.r.Read(buf[end:min(len(buf), end+max(framesRead, need-avail))])
		end += m
	}
	p.rest = buf[off:end]
	return n, nil
}

// next is File.Next for a pcap file: ReadFrames' checks, one record at a
// time through p.r, a bufio.Reader.
func (p *pcapRecords) next(f *File, fr *Frame) error {
	for {
		h := p.hdr[:]
		if _, err := io.ReadFull(p.r, h); err != nil {
			return err // io.EOF between records, io.ErrUnexpectedEOF inside a header
		}
		sec, frac, caplen, length := p.header(h)
		if caplen > MaxCaptureLength || length > MaxWireLength {
			return p.broken(f, caplen, length)
		}
		if cap(p.data) < int(caplen) {
			// Grown as records need, never past MaxCaptureLength.
			p.data = make([]byte, max(int(caplen), min(2*cap(p.data), MaxCaptureLength), 2048))
		}
		data := p.data[:caplen:caplen]
		if _, err := io.ReadFull(p.r, data); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if caplen > length {
			f.skip(damage(int(caplen), int(length)))
			continue
		}
		*fr = Frame{Data: data, WireLen: int(length), Time: int64(sec)*1e9 + int64(frac*p.nanos), LinkType: f.link}
		return nil
	}
}

// broken is the error of a record header whose lengths cannot be trusted.
func (p *pcapRecords) broken(f *File, caplen, length uint32) error {
	if caplen > MaxCaptureLength {
		return fmt.Errorf("capture length exceeds snap length: %d > %d", caplen, p.snaplen)
	}
	return fmt.Errorf("packet %d: original length %d bytes is impossible (damaged record header)", f.packets+1, length)
}

func (p *pcapRecords) header(h []byte) (sec, frac, caplen, length uint32) {
	if p.big {
		return binary.BigEndian.Uint32(h), binary.BigEndian.Uint32(h[4:]), binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
	}
	return binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:]), binary.LittleEndian.Uint32(h[8:]), binary.LittleEndian.Uint32(h[12:])
}

// fail makes err (io.EOF, or what stopped reading) the file's sticky error.
func (f *File) fail(err error) error {
	if err == io.EOF {
		f.err = io.EOF
	} else {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			// What "unexpected EOF" means here, and what to do.
			unit := "packet record"
			if f.ng != nil {
				unit = "pcapng block"
			}
			err = fmt.Errorf("the file ends inside a %s: it was cut short (copy it again whole) or a length field is damaged (%w)", unit, err)
		}
		f.err = &ReadError{Name: f.name, Packets: f.packets, Err: err}
	}
	f.shown.Store(f.packets)
	return f.err
}

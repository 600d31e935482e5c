package capture

import (
	"bufio"
	"encoding/binary"
	"io"
)

// pcap magic numbers, as they read little-endian: a file written
// little-endian starts with the first, one written big-endian with the
// second; the last two mark nanosecond files.
const (
	pcapMicroLE = 0xa1b2c3d4
	pcapMicroBE = 0xd4c3b2a1
	pcapNanoLE  = 0xa1b23c4d
	pcapNanoBE  = 0x4d3cb2a1
)

// upgradeOldPcap returns in unchanged, unless it holds a pcap file of format
// version 2.0 to 2.3, which libpcap (and so tcpdump) reads and pcapgo
// refuses. Such a stream is rewritten on the fly as version 2.4. Before 2.3
// a record header held the original length where 2.4 holds the captured
// length and the other way round; in 2.3 some writers did so and some did
// not, and libpcap swaps them when the captured length is the larger. Only
// old files pay for the rewriting.
func upgradeOldPcap(in *bufio.Reader) io.Reader {
	hdr, err := in.Peek(24)
	if err != nil {
		return in // too short: pcapgo says why
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(hdr) {
	case pcapMicroLE, pcapNanoLE:
		order = binary.LittleEndian
	case pcapMicroBE, pcapNanoBE:
		order = binary.BigEndian
	default:
		return in
	}
	minor := order.Uint16(hdr[6:8])
	if order.Uint16(hdr[4:6]) != 2 || minor >= 4 {
		return in
	}
	o := &oldPcap{r: in, order: order, minor: minor}
	copy(o.buf[:24], hdr)
	order.PutUint16(o.buf[6:8], 4)
	o.head = o.buf[:24]
	in.Discard(24)
	return o
}

// oldPcap rewrites an old pcap stream record by record.
type oldPcap struct {
	r     *bufio.Reader
	order binary.ByteOrder
	minor uint16
	buf   [24]byte
	head  []byte // rewritten header bytes still to deliver
	left  int64  // bytes of the current record's data still to deliver
}

func (o *oldPcap) Read(p []byte) (int, error) {
	if len(o.head) > 0 {
		n := copy(p, o.head)
		o.head = o.head[n:]
		return n, nil
	}
	if o.left > 0 {
		n, err := o.r.Read(p[:min(int64(len(p)), o.left)])
		o.left -= int64(n)
		return n, err
	}
	h := o.buf[:16]
	n, err := io.ReadFull(o.r, h)
	if n < len(h) {
		// A partial header is delivered as it is, for pcapgo to report;
		// the next read meets the end of the file.
		o.head = h[:n]
		if n == 0 {
			return 0, err
		}
		return o.Read(p)
	}
	caplen, length := o.order.Uint32(h[8:12]), o.order.Uint32(h[12:16])
	if o.minor < 3 || caplen > length {
		caplen, length = length, caplen
		o.order.PutUint32(h[8:12], caplen)
		o.order.PutUint32(h[12:16], length)
	}
	o.left, o.head = int64(caplen), h
	return o.Read(p)
}

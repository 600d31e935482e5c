package service

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

// corpusDir returns the protocol samples of the shared capture corpus.
func corpusDir(t testing.TB) string {
	t.Helper()
	return testcorpus.Dir(t, "protocols")
}

// segment is one transport payload read from a capture.
type segment struct {
	frame            int // 1-based, as tshark numbers frames
	proto            ipproto.Proto
	src, dst         string // addresses
	srcPort, dstPort uint16
	payload          []byte
}

// side identifies one direction of a flow.
type side struct {
	proto            ipproto.Proto
	src, dst         string
	srcPort, dstPort uint16
}

func (s segment) side() side { return side{s.proto, s.src, s.dst, s.srcPort, s.dstPort} }

// readSegments returns every TCP or UDP segment with a payload in the
// capture file name (pcap or pcapng), decoded with gopacket.
func readSegments(t testing.TB, name string) []segment {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var link layers.LinkType
	if bytes.HasPrefix(data, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(oldPcapToCurrent(data)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		src, link = r, r.LinkType()
	}
	var segs []segment
	for frame := 1; ; frame++ {
		pkt, _, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: frame %d: %v", name, frame, err)
		}
		p := gopacket.NewPacket(pkt, link, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		nl := p.NetworkLayer()
		if nl == nil {
			continue
		}
		if ip4, ok := nl.(*layers.IPv4); ok && ip4.Flags&layers.IPv4MoreFragments != 0 || ok && ip4.FragOffset != 0 {
			continue // a fragment's payload is not a transport payload
		}
		s := segment{frame: frame, src: nl.NetworkFlow().Src().String(), dst: nl.NetworkFlow().Dst().String()}
		switch l := p.TransportLayer().(type) {
		case *layers.TCP:
			s.proto, s.srcPort, s.dstPort, s.payload = ipproto.TCP, uint16(l.SrcPort), uint16(l.DstPort), l.Payload
		case *layers.UDP:
			s.proto, s.srcPort, s.dstPort, s.payload = ipproto.UDP, uint16(l.SrcPort), uint16(l.DstPort), l.Payload
		default:
			continue
		}
		if len(s.payload) > 0 {
			segs = append(segs, s)
		}
	}
	return segs
}

// firstPayloads returns, per direction of every flow, the first segment
// with a payload, in capture order.
func firstPayloads(t testing.TB, name string) []segment {
	t.Helper()
	seen := map[side]bool{}
	var out []segment
	for _, s := range readSegments(t, name) {
		if !seen[s.side()] {
			seen[s.side()] = true
			out = append(out, s)
		}
	}
	return out
}

// oldPcapToCurrent rewrites a pcap file of format version 2.0-2.3, which
// pcapgo rejects, as version 2.4. Before 2.3 some writers swapped the
// captured and original lengths of a record (see libpcap's sf-pcap.c); a
// record whose captured length exceeds its original length is swapped back.
func oldPcapToCurrent(data []byte) []byte {
	if len(data) < 24 {
		return data
	}
	var bo binary.ByteOrder
	switch binary.BigEndian.Uint32(data) {
	case 0xa1b2c3d4:
		bo = binary.BigEndian
	case 0xd4c3b2a1:
		bo = binary.LittleEndian
	default:
		return data
	}
	if bo.Uint16(data[4:]) != 2 || bo.Uint16(data[6:]) >= 4 {
		return data
	}
	out := bytes.Clone(data)
	bo.PutUint16(out[6:], 4)
	for off := 24; off+16 <= len(out); {
		incl, orig := bo.Uint32(out[off+8:]), bo.Uint32(out[off+12:])
		if incl > orig {
			bo.PutUint32(out[off+8:], orig)
			bo.PutUint32(out[off+12:], incl)
			incl = orig
		}
		off += 16 + int(incl)
	}
	return out
}

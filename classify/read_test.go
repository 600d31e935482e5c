package classify

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/internal/gencap"
)

// TestReadParallelEqualsSerial holds the two-goroutine Read to what one
// goroutine builds frame by frame: the same Observation, flow order, names,
// malformed counts, inputs and error included. The inputs are the benchmark
// mix (pcap and pcapng), the same cut short mid-record, the same through a
// filter, and every corpus capture (malformed and odd link types).
func TestReadParallelEqualsSerial(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var pcap, ng bytes.Buffer
	cfg := gencap.Config{Packets: 30_000, Flows: 2_000, Seed: 5}
	if _, err := gencap.Write(&pcap, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Format = gencap.PcapNG
	if _, err := gencap.Write(&ng, cfg); err != nil {
		t.Fatal(err)
	}
	oddLength := func(fr *capture.Frame) bool { return len(fr.Data)%2 == 1 }
	type parCase struct {
		name string
		data []byte
		keep func(*capture.Frame) bool
		// plain hides ReadFrames, as from a Source that hands out one
		// frame at a time: Read copies its frames.
		plain bool
	}
	cases := []parCase{
		{"mix.pcap", pcap.Bytes(), nil, false},
		{"mix.pcapng", ng.Bytes(), nil, false},
		{"cut.pcap", pcap.Bytes()[:pcap.Len()*2/3+7], nil, false},
		{"filtered.pcap", pcap.Bytes(), oddLength, false},
		{"plain.pcap", pcap.Bytes(), nil, true},
		{"plain-cut-filtered.pcap", pcap.Bytes()[:pcap.Len()/2+3], oddLength, true},
	}
	compare := func(t *testing.T, tc parCase) {
		read := func(parallel bool) (*Observation, error, bool) {
			f, err := capture.NewReader(tc.name, bytes.NewReader(tc.data))
			if err != nil {
				return nil, err, false
			}
			var src capture.Source = f
			if tc.plain {
				src = struct{ capture.Source }{f}
			}
			c := New(16)
			if parallel {
				err = c.Read(tc.name, src, tc.keep)
			} else {
				err = c.readSerial(tc.name, src, tc.keep)
			}
			return c.Observation(), err, true
		}
		serial, serr, ok := read(false)
		if !ok {
			return // not a capture at all
		}
		par, perr, _ := read(true)
		if !reflect.DeepEqual(serr, perr) {
			t.Errorf("%s: errors differ: serial %v, parallel %v", tc.name, serr, perr)
		}
		if !reflect.DeepEqual(serial, par) {
			t.Errorf("%s: observations differ: serial %d packets %d flows, parallel %d packets %d flows",
				tc.name, serial.Packets, len(serial.Flows), par.Packets, len(par.Flows))
		}
	}
	for _, tc := range cases {
		compare(t, tc)
	}
	// The corpus (malformed and odd link types) is beside the checkout: a
	// subtest, so that without it the cases made here still run.
	t.Run("corpus", func(t *testing.T) {
		_, files := corpusFiles(t)
		for _, f := range files {
			data, err := readFile(f)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, parCase{filepath.Base(f), data, nil, false})
		}
	})
	// The cases above must exercise what they claim.
	if s, err, _ := readCase(cases[2].data); err == nil || s.Packets == 0 {
		t.Errorf("cut capture: %d packets, error %v; want some packets, then an error", s.Packets, err)
	}
}

func readCase(data []byte) (*Observation, error, bool) {
	src, err := capture.NewReader("case", bytes.NewReader(data))
	if err != nil {
		return nil, err, false
	}
	c := New(16)
	err = c.Read("case", src, nil)
	return c.Observation(), err, true
}

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }

// TestFinishEqualsObservation: the Observation that Finish hands over
// without copying the flows is the one Observation copies.
func TestFinishEqualsObservation(t *testing.T) {
	var b bytes.Buffer
	if _, err := gencap.Write(&b, gencap.Config{Packets: 5_000, Flows: 300, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	src, err := capture.NewReader("mix", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	c := New(16)
	if err := c.Read("mix", src, nil); err != nil {
		t.Fatal(err)
	}
	copied := c.Observation()
	if got := c.Finish(); !reflect.DeepEqual(got, copied) || len(got.Flows) != 300 {
		t.Fatalf("Finish: %d flows, %d packets; Observation: %d flows, %d packets", len(got.Flows), got.Packets, len(copied.Flows), copied.Packets)
	}
}

// slowSource delays every other ReadFrames call of its capture.File, so
// that the counting goroutine of Read finds nothing queued and reads
// batches itself, between batches the helper read.
type slowSource struct {
	*capture.File
	calls int
}

func (s *slowSource) ReadFrames(buf []byte, frames []capture.Frame) (int, error) {
	s.calls++ // under Read's lock: one goroutine at a time
	if s.calls%2 == 0 {
		time.Sleep(200 * time.Microsecond)
	}
	return s.File.ReadFrames(buf, frames)
}

// TestReadSharedEqualsSerial: when both goroutines of Read read batches
// of the file, taking turns as the helper lags, the Observation is still
// the one a single goroutine builds frame by frame (flows in order, names,
// counts), through a filter too.
func TestReadSharedEqualsSerial(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var b bytes.Buffer
	if _, err := gencap.Write(&b, gencap.Config{Packets: 60_000, Flows: 3_000, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	oddLength := func(fr *capture.Frame) bool { return len(fr.Data)%2 == 1 }
	for _, keep := range []func(*capture.Frame) bool{nil, oddLength} {
		open := func() *capture.File {
			f, err := capture.NewReader("mix", bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		serial := New(16)
		if err := serial.readSerial("mix", open(), keep); err != nil {
			t.Fatal(err)
		}
		shared := New(16)
		src := &slowSource{File: open()}
		own, err := shared.readShared("mix", src, keep)
		if err != nil {
			t.Fatal(err)
		}
		// The file is read in more than a hundred batches: the test
		// means something only if both goroutines read some of them.
		if own == 0 || own >= src.calls {
			t.Errorf("the counting goroutine read %d of %d batches: want some, not all", own, src.calls)
		}
		if s, p := serial.Observation(), shared.Observation(); !reflect.DeepEqual(s, p) {
			t.Errorf("observations differ: serial %d packets %d flows, shared %d packets %d flows", s.Packets, len(s.Flows), p.Packets, len(p.Flows))
		}
	}
}

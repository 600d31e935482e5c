package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/drift"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/action"
)

// TestAdvice: the libraries' sentinel errors, wrapped as they reach run,
// get the command line's advice at the end of their one line, and other
// errors none.
func TestAdvice(t *testing.T) {
	eperm := errors.New("operation not permitted")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("load flow counter: %w: %w", eperm, bpf.ErrPermission),
			"load flow counter: operation not permitted: run as root or grant CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON (--engine pcap needs only CAP_NET_RAW)"},
		{fmt.Errorf("load flow counter: %w: BPF ring buffers (Linux 5.8) are missing", bpf.ErrKernelTooOld),
			"load flow counter: kernel too old for the eBPF engine: BPF ring buffers (Linux 5.8) are missing; use --engine pcap"},
		{bpf.ErrUnsupported, "the eBPF engine needs Linux on amd64 or arm64; use --engine pcap"},
		{capture.ErrNoLive, "live capture needs libpcap: this wirecheck was built without cgo (build with CGO_ENABLED=1 and libpcap-dev, or use --engine ebpf)"},
		{fmt.Errorf("--baseline: old.json: %w (no \"schema\" field)", drift.ErrSchema),
			"--baseline: old.json: not a wirecheck JSON report (no \"schema\" field); write one with: wirecheck analyse --format json"},
		{&action.DraftError{Rules: 700, Err: errors.New("draft.yaml: too many YAML tokens")},
			"the draft (700 rules) is not a profile wirecheck accepts: draft.yaml: too many YAML tokens; narrow the capture (-f) or cut the draft down"},
		{fmt.Errorf("check: %w", action.ErrNoProfile), "check: no profile: name one with -p (list them with: wirecheck profiles)"},
		{errors.New("capture.pcap: not a capture file"), "capture.pcap: not a capture file"},
	} {
		if got := tc.err.Error() + advice(tc.err); got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}

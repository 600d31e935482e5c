package main

import (
	"errors"
	"fmt"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/drift"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
)

// advice is what the command line adds to an error a library returned: the
// libraries say what is wrong in their own terms, and only the command knows
// its flags and the other engine.
func advice(err error) string {
	switch {
	case errors.Is(err, bpf.ErrPermission):
		return " (--engine pcap needs only CAP_NET_RAW)"
	case errors.Is(err, bpf.ErrKernelTooOld), errors.Is(err, bpf.ErrUnsupported):
		return "; use --engine pcap"
	case errors.Is(err, capture.ErrNoLive):
		return " (build with CGO_ENABLED=1 and libpcap-dev, or use --engine ebpf)"
	case errors.Is(err, drift.ErrSchema):
		return "; write one with: wirecheck analyse --format json"
	}
	return ""
}

// optionFlags are the flags that set match.Options' fields.
var optionFlags = map[string]string{"Peers": "--peer", "Phase": "--phase", "Region": "--region"}

// newMatcher is match.New with a refused option named by the flag that set
// it ("--peer nfs-clientz: no profile defines ...").
func newMatcher(set *profile.Set, opts match.Options) (*match.Matcher, error) {
	m, err := match.New(set, opts)
	var oe *match.OptionError
	if errors.As(err, &oe) && optionFlags[oe.Field] != "" {
		return nil, fmt.Errorf("%s %s", optionFlags[oe.Field], oe.Detail)
	}
	return m, err
}

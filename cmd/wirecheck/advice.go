package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/drift"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/action"
)

// advice is what the command line adds to an error a library returned: the
// libraries say what is wrong in their own terms, and only the command knows
// its flags and the other engine.
func advice(err error) string {
	var de *action.DraftError
	switch {
	case errors.Is(err, bpf.ErrPermission):
		return " (--engine pcap needs only CAP_NET_RAW)"
	case errors.Is(err, bpf.ErrKernelTooOld), errors.Is(err, bpf.ErrUnsupported):
		return "; use --engine pcap"
	case errors.Is(err, capture.ErrNoLive):
		return " (build with CGO_ENABLED=1 and libpcap-dev, or use --engine ebpf)"
	case errors.Is(err, drift.ErrSchema):
		return "; write one with: wirecheck analyse --format json"
	case errors.Is(err, action.ErrNoProfile):
		return ": name one with -p (list them with: wirecheck profiles)"
	case errors.As(err, &de):
		return "; narrow the capture (-f) or cut the draft down"
	}
	return ""
}

// optionFlags are the flags that set match.Options' fields.
var optionFlags = map[string]string{"Peers": "--peer", "Phase": "--phase", "Region": "--region"}

// flagError words an option an action or the matcher refused as the flag
// that set it, as the user typed it.
func flagError(err error) error {
	var oe *action.OptionError
	var fe *action.FormatError
	var be *match.BindingError
	var me *match.OptionError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return fmt.Errorf("--format %s: use %s", fe.Format, alternatives(fe.Formats))
	case errors.Is(err, action.ErrBindingsNeedProfile):
		return errors.New("--peer, --phase and --region need a profile (-p)")
	case errors.As(err, &be) && be.Form:
		return fmt.Errorf("--peer %q: use NAME=ADDR|CIDR[,ADDR|CIDR...]", be.Peer)
	case errors.As(err, &be) && be.Peer == "":
		return fmt.Errorf("--host: %v", be.Err)
	case errors.As(err, &be):
		return fmt.Errorf("--peer %s: %v", be.Peer, be.Err)
	case errors.As(err, &me) && optionFlags[me.Field] != "":
		return fmt.Errorf("%s %s", optionFlags[me.Field], me.Detail)
	case !errors.As(err, &oe):
		return err
	}
	switch oe.Option {
	case "MaxFlows":
		return fmt.Errorf("--max-flows %v: use a positive number, or 0 for no limit", oe.Value)
	case "Tunnels":
		return fmt.Errorf("--tunnels %v", oe.Err)
	case "Baseline":
		return fmt.Errorf("--baseline: %w", oe.Err)
	case "CollapseV4", "CollapseV6":
		return errors.New("--collapse must be 1 to 32 and --collapse6 1 to 128")
	case "Name":
		return fmt.Errorf("--name %q: a profile name is lower-case letters, digits, '.', '_' and '-', in words separated by / (e.g. draft/gateway)", oe.Value)
	case "Interval":
		return fmt.Errorf("--interval %v: use a positive duration, e.g. 10s", oe.Value)
	case "Duration":
		return fmt.Errorf("--duration %v: use a positive duration, e.g. 1h, or leave it out to run until SIGINT or SIGTERM", oe.Value)
	case "Filter":
		return errors.New("--filter works only with --engine pcap")
	case "Events":
		return errors.New("--events -: standard output also gets the final report; name a file for one of them (-o FILE or --events FILE)")
	case "ReportEvery", "ReportKeep":
		return errors.New("--report-every must be at least 1s and --report-keep at least 1")
	case "Idle":
		return errors.New("--idle must not be negative")
	}
	return err
}

// alternatives words a short list of choices as "a or b", "a, b or c",
// and a longer one as "one of a, b, c, d".
func alternatives(choices []string) string {
	if n := len(choices); n > 1 && n <= 3 {
		return strings.Join(choices[:n-1], ", ") + " or " + choices[n-1]
	}
	return "one of " + strings.Join(choices, ", ")
}

package watch

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/wirecheck/wirecheck/bpf"
	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/live"
	"github.com/wirecheck/wirecheck/classify/match"
)

// grant is the advice for a missing capability.
const grant = "run as root, or grant them: sudo setcap %s+ep %s (or use dist/systemd/wirecheck.service)"

// openEngine is the one place the engine is chosen and opened: the one
// cfg.Engine names, or without a choice eBPF where the capabilities and
// the kernel allow it, else libpcap, saying on stderr why. It says exactly
// which capabilities the chosen engine lacks. name is "ebpf" or "pcap".
func openEngine(cfg *Config, m *match.Matcher, stderr io.Writer) (eng live.Engine, name string, err error) {
	eng, err = chooseEngine(cfg, m, stderr)
	if err != nil {
		return nil, "", err
	}
	if _, ok := eng.(*live.EBPF); ok {
		return eng, "ebpf", nil
	}
	return eng, "pcap", nil
}

func chooseEngine(cfg *Config, m *match.Matcher, stderr io.Writer) (live.Engine, error) {
	if cfg.Engine != "" && cfg.Engine != "ebpf" && cfg.Engine != "pcap" {
		return nil, fmt.Errorf("--engine %s: use ebpf or pcap", cfg.Engine)
	}
	if _, err := net.InterfaceByName(cfg.Interface); err != nil {
		// Said before missing capabilities, which matter less.
		return nil, fmt.Errorf("interface %s: no such interface (list them with: ip link)", cfg.Interface)
	}
	exe, _ := os.Executable()
	if exe == "" {
		exe = "wirecheck"
	}
	if cfg.Engine == "pcap" || cfg.Filter != "" {
		return openPcap(cfg, exe)
	}
	missing, err := missingCaps(ebpfCaps)
	if err != nil {
		return nil, err
	}
	switch {
	case len(missing) > 0 && cfg.Engine == "ebpf":
		return nil, fmt.Errorf("--engine ebpf needs %s, which this process lacks: "+grant,
			strings.Join(missing, ", "), "cap_bpf,cap_net_admin,cap_perfmon", exe)
	case len(missing) > 0 && !capture.LiveAvailable:
		// A static build has no libpcap to fall back to: advise what
		// works for this binary, not CAP_NET_RAW.
		return nil, fmt.Errorf("the eBPF engine needs %s, which this process lacks, and this build has no libpcap to fall back to (built without cgo): "+grant,
			strings.Join(missing, ", "), "cap_bpf,cap_net_admin,cap_perfmon", exe)
	case len(missing) > 0:
		fmt.Fprintf(stderr, "wirecheck: the eBPF engine needs %s, which this process lacks; using libpcap\n", strings.Join(missing, ", "))
		return openPcap(cfg, exe)
	}
	e, err := live.OpenEBPF(cfg.Interface, live.EBPFOptions{ServerPorts: serverPorts(m), MaxFlows: cfg.Limits.MaxFlows,
		Host: cfg.Limits.Host, Tunnels: cfg.Limits.Tunnels})
	if err == nil || cfg.Engine == "ebpf" || errors.Is(err, bpf.ErrNoInterface) {
		return e, err
	}
	fmt.Fprintf(stderr, "wirecheck: eBPF engine unavailable (%v); using libpcap\n", err)
	return openPcap(cfg, exe)
}

// openPcap opens libpcap after checking its capability.
func openPcap(cfg *Config, exe string) (live.Engine, error) {
	if !capture.LiveAvailable {
		return nil, capture.ErrNoLive // no privilege helps
	}
	missing, err := missingCaps(pcapCaps)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--engine pcap needs %s, which this process lacks: "+grant, strings.Join(missing, ", "), "cap_net_raw", exe)
	}
	return live.OpenPcap(cfg.Interface, cfg.Filter, cfg.Limits)
}

// serverPorts are the profile's server ports as the eBPF engine takes them.
func serverPorts(m *match.Matcher) []bpf.PortKey {
	var ports []bpf.PortKey
	for proto, port := range m.ServerPorts() {
		ports = append(ports, bpf.PortKey{Proto: proto, Port: port})
	}
	return ports
}

// InterfaceAddrs returns the interface's own addresses: the host, unless
// --host says otherwise.
func InterfaceAddrs(name string) ([]string, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("interface %s: no such interface (list them with: ip link)", name)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	var out []string
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().String())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("interface %s has no addresses: name the host's with --host", name)
	}
	return out, nil
}

// EBPFCapabilities names the capabilities the eBPF engine needs (for the
// systemd unit's test).
func EBPFCapabilities() []string {
	var names []string
	for _, c := range ebpfCaps {
		names = append(names, c.name)
	}
	return names
}

package match

import (
	"io/fs"
	"net/netip"
	"slices"
	"testing"

	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/profile"
)

const serverPortsProfile = `profile: site/ports
peers:
  lab: {cidrs: [192.0.2.0/24]}
rules:
  - {name: web, from: host, to: lab, proto: tcp, ports: [443], level: required, source: {doc: t}}
  - {name: no-web-elsewhere, from: host, to: any, proto: tcp, ports: [443], level: forbidden, source: {doc: t}}
  - {name: no-telnet, from: any, to: host, proto: tcp, ports: [23], level: forbidden, source: {doc: t}}
  - {name: old-smb, from: host, to: lab, proto: tcp, ports: [139], level: discouraged, source: {doc: t}}
  - {name: dns, from: host, to: lab, proto: both, ports: [53], level: allowed, source: {doc: t}}
  - {name: ping, from: host, to: lab, proto: icmp, level: allowed, source: {doc: t}}
  - {name: rdp-warning, from: host, to: any, proto: tcp, ports: [3389], level: discouraged, overlay: true, source: {doc: t}}
  - {name: setup, from: lab, to: host, proto: tcp, ports: [8080], level: required, phase: activation, source: {doc: t}}
`

// TestServerPortsLeaveOutPortsThatOnlyFail: the kernel pre-filter holds back
// new flows on ServerPorts until the next full match, so a port where a
// flow can only fail (served by forbidden or overlay rules alone) must not
// be among them: such flows are alerted at once. PortHints still knows those
// ports as server ports.
func TestServerPortsLeaveOutPortsThatOnlyFail(t *testing.T) {
	read := func(name string) ([]byte, error) {
		if name == "ports.yaml" {
			return []byte(serverPortsProfile), nil
		}
		return nil, fs.ErrNotExist
	}
	set, err := profile.LoadWith(read, "ports.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type pp struct {
		proto ipproto.Proto
		port  uint16
	}
	for _, tc := range []struct {
		phase string
		want  []pp
	}{
		{"", []pp{{ipproto.ICMPv4, 0}, {ipproto.TCP, 53}, {ipproto.TCP, 139}, {ipproto.TCP, 443}, {ipproto.TCP, 8080}, {ipproto.UDP, 53}, {ipproto.ICMPv6, 0}}},
		{"operation", []pp{{ipproto.ICMPv4, 0}, {ipproto.TCP, 53}, {ipproto.TCP, 139}, {ipproto.TCP, 443}, {ipproto.UDP, 53}, {ipproto.ICMPv6, 0}}},
	} {
		m, err := New(set, Options{Phase: tc.phase, Host: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}})
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Collect(func(yield func(pp) bool) {
			for proto, port := range m.ServerPorts() {
				if !yield(pp{proto, port}) {
					return
				}
			}
		})
		cmp := func(a, b pp) int {
			if a.proto != b.proto {
				return int(a.proto) - int(b.proto)
			}
			return int(a.port) - int(b.port)
		}
		slices.SortFunc(got, cmp)
		slices.SortFunc(tc.want, cmp)
		if !slices.Equal(got, tc.want) {
			t.Errorf("phase %q: ServerPorts %v, want %v", tc.phase, got, tc.want)
		}
		hints := m.PortHints()
		for _, port := range []uint16{23, 3389, 443} {
			if !hints.Profile(ipproto.TCP, port) {
				t.Errorf("phase %q: PortHints forgot TCP %d", tc.phase, port)
			}
		}
	}
}

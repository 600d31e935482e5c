package match

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestParseBindings(t *testing.T) {
	host, err := ParseHost([]string{"10.0.0.5", "fd00::/64", "::ffff:10.0.0.6"})
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32"), netip.MustParsePrefix("fd00::/64"), netip.MustParsePrefix("10.0.0.6/32")}
	if err != nil || !reflect.DeepEqual(host, want) {
		t.Errorf("ParseHost = %v, %v; want %v", host, err, want)
	}
	if h, err := ParseHost(nil); h != nil || err != nil {
		t.Errorf("ParseHost(nil) = %v, %v", h, err)
	}
	peers, err := ParsePeers([]string{"clients=10.0.0.0/24, 10.0.1.7", "dns=10.0.0.53", "clients=fd00::1"})
	wantPeers := map[string][]netip.Prefix{
		"clients": {netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.0.1.7/32"), netip.MustParsePrefix("fd00::1/128")},
		"dns":     {netip.MustParsePrefix("10.0.0.53/32")},
	}
	if err != nil || !reflect.DeepEqual(peers, wantPeers) {
		t.Errorf("ParsePeers = %v, %v; want %v", peers, err, wantPeers)
	}

	for _, tc := range []struct {
		name string
		err  error
		want BindingError // Err compared by text
		text string
	}{
		{"host", func() error { _, err := ParseHost([]string{"10.0.0.5", "10.0.0.300"}); return err }(),
			BindingError{}, `host: "10.0.0.300" is not an address or CIDR`},
		{"host bits", func() error { _, err := ParseHost([]string{"10.0.0.5/8"}); return err }(),
			BindingError{}, `host: "10.0.0.5/8" has host bits set (did you mean 10.0.0.0/8?)`},
		{"peer address", func() error { _, err := ParsePeers([]string{"dns=10.0.0.53,nope"}); return err }(),
			BindingError{Peer: "dns"}, `peer dns: "nope" is not an address or CIDR`},
		{"no name", func() error { _, err := ParsePeers([]string{"=10.0.0.1"}); return err }(),
			BindingError{Peer: "=10.0.0.1", Form: true}, `peer binding "=10.0.0.1" is not NAME=ADDR|CIDR[,ADDR|CIDR...]`},
		{"no addresses", func() error { _, err := ParsePeers([]string{"dns="}); return err }(),
			BindingError{Peer: "dns=", Form: true}, `peer binding "dns=" is not NAME=ADDR|CIDR[,ADDR|CIDR...]`},
		{"no =", func() error { _, err := ParsePeers([]string{"10.0.0.1"}); return err }(),
			BindingError{Peer: "10.0.0.1", Form: true}, `peer binding "10.0.0.1" is not NAME=ADDR|CIDR[,ADDR|CIDR...]`},
		{"group", func() error { _, err := ParsePeer("nfs", []string{""}); return err }(),
			BindingError{Peer: "nfs"}, `peer nfs: "" is not an address or CIDR`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var be *BindingError
			if !errors.As(tc.err, &be) {
				t.Fatalf("error %v is no BindingError", tc.err)
			}
			if be.Peer != tc.want.Peer || be.Form != tc.want.Form || (be.Err == nil) != tc.want.Form {
				t.Errorf("error %+v, want %+v", be, tc.want)
			}
			if tc.err.Error() != tc.text {
				t.Errorf("error %q, want %q", tc.err, tc.text)
			}
		})
	}
}

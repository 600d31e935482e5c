package match

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/wirecheck/wirecheck/classify/profile"
)

// The user's bindings of a profile's free names, as written (flags,
// conformtest options), become Options.Host and Options.Peers here, and
// only here: every address is an address (10.0.0.5, fd00::5, made a /32 or
// /128) or a CIDR without host bits (10.0.0.0/24), as profile.ParsePrefix
// reads them.

// ParseHost parses the host's addresses.
func ParseHost(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		p, err := profile.ParsePrefix(v)
		if err != nil {
			return nil, &BindingError{Err: err}
		}
		out = append(out, p)
	}
	return out, nil
}

// ParsePeers parses peer bindings of the form NAME=ADDR|CIDR[,ADDR|CIDR...];
// bindings of one group add up.
func ParsePeers(bindings []string) (map[string][]netip.Prefix, error) {
	peers := map[string][]netip.Prefix{}
	for _, b := range bindings {
		name, addrs, ok := strings.Cut(b, "=")
		if !ok || name == "" || addrs == "" {
			return nil, &BindingError{Peer: b, Form: true}
		}
		ps, err := ParsePeer(name, strings.Split(addrs, ","))
		if err != nil {
			return nil, err
		}
		peers[name] = append(peers[name], ps...)
	}
	return peers, nil
}

// ParsePeer parses the addresses bound to the peer group name; spaces
// around each are ignored.
func ParsePeer(name string, addrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		p, err := profile.ParsePrefix(strings.TrimSpace(a))
		if err != nil {
			return nil, &BindingError{Peer: name, Err: err}
		}
		out = append(out, p)
	}
	return out, nil
}

// A BindingError is a host or peer binding that does not parse. Callers
// word it as the flag or option that gave the binding.
type BindingError struct {
	// Peer is the peer group whose address did not parse, or, when Form is
	// set, the whole binding; "" for a host address.
	Peer string
	// Form is set when a peer binding is not NAME=ADDR|CIDR[,ADDR|CIDR...].
	Form bool
	// Err says why the address does not parse; nil when Form is set.
	Err error
}

func (e *BindingError) Error() string {
	switch {
	case e.Form:
		return fmt.Sprintf("peer binding %q is not NAME=ADDR|CIDR[,ADDR|CIDR...]", e.Peer)
	case e.Peer == "":
		return "host: " + e.Err.Error()
	}
	return "peer " + e.Peer + ": " + e.Err.Error()
}

func (e *BindingError) Unwrap() error { return e.Err }

package capture

import "github.com/gopacket/gopacket/layers"

// Filter selects frames with a tcpdump-syntax expression. It compiles the
// expression once per link type it meets, so one filter serves a pcapng file
// whose interfaces differ in link type.
type Filter struct {
	expr  string
	progs map[layers.LinkType]matcher
}

// matcher runs a compiled filter program on one frame.
type matcher interface {
	match(f *Frame) bool
}

// NewFilter compiles expr (checked against Ethernet at once, so that a typo
// is reported before any packet is read). In builds without cgo it returns
// ErrNoFilter.
func NewFilter(expr string) (*Filter, error) {
	f := &Filter{expr: expr, progs: map[layers.LinkType]matcher{}}
	if _, err := f.prog(layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Filter) prog(link layers.LinkType) (matcher, error) {
	if m, ok := f.progs[link]; ok {
		return m, nil
	}
	m, err := compileFilter(link, f.expr)
	if err != nil {
		return nil, err
	}
	f.progs[link] = m
	return m, nil
}

// Match reports whether the filter accepts fr. A link type the expression
// cannot be compiled for (say, "ether host ..." on raw IP) accepts nothing.
func (f *Filter) Match(fr *Frame) bool {
	m, err := f.prog(fr.LinkType)
	if err != nil {
		f.progs[fr.LinkType] = rejectAll{}
		return false
	}
	return m.match(fr)
}

type rejectAll struct{}

func (rejectAll) match(*Frame) bool { return false }

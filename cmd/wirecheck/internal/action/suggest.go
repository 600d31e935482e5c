package action

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/suggest"
	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/outfile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// SuggestOptions are one suggest run.
type SuggestOptions struct {
	// Match: with profiles, only the flows they leave unexpected are
	// drafted; without, every flow (and then only Host may be set).
	Match
	// Captures are the files to read, "-" for Streams.In.
	Captures []string
	// Name is the drafted profile's name; "": suggest.DraftName of the
	// first capture.
	Name string
	// CollapseV4 and CollapseV6 are suggest.Options' prefix lengths.
	CollapseV4, CollapseV6 int
	// Filter keeps only the packets matching this tcpdump-syntax
	// expression; Quiet leaves out the progress line.
	Filter string
	Quiet  bool
	// Format is one of suggest.Formats; Output the file to write the draft
	// to, "" (or "-") for Streams.Out.
	Format, Output string
}

// A DraftError is a YAML draft that is not a profile wirecheck accepts
// (beyond a profile's bounds). It was written, for reading, and is said.
type DraftError struct {
	Rules int   // the draft's rules
	Err   error // why profile.Parse refuses it
}

func (e *DraftError) Error() string {
	return fmt.Sprintf("the draft (%s) is not a profile wirecheck accepts: %v", textout.Count(uint64(e.Rules), "rule"), e.Err)
}

// Suggest reads the captures and writes a draft that allows what they
// show. Everything it is given is checked before a capture is read.
func Suggest(o SuggestOptions, s Streams) error {
	if err := checkFormat(o.Format, suggest.CheckFormat, suggest.Formats()); err != nil {
		return err
	}
	switch {
	case o.CollapseV4 < 1 || o.CollapseV4 > 32:
		return &OptionError{"CollapseV4", o.CollapseV4, errors.New("not 1 to 32")}
	case o.CollapseV6 < 1 || o.CollapseV6 > 128:
		return &OptionError{"CollapseV6", o.CollapseV6, errors.New("not 1 to 128")}
	}
	inputs, err := checkFiles(o.Output, o.Captures, o.Profiles)
	if err != nil {
		return err
	}
	m, err := o.matcher()
	if err != nil {
		return err
	}
	if o.Name == "" {
		o.Name = suggest.DraftName(o.Captures[0])
	} else if !profile.ValidName(o.Name) {
		return &OptionError{"Name", o.Name, errors.New("not a profile name")}
	}
	// Read as analyse reads with the same host, so that the draft allows
	// what analyse will judge: with the host at a tunnel end the outer
	// flows, not the ones inside. There is no flow limit: every flow is
	// drafted.
	lim, err := limits(0, "auto", o.Host)
	if err != nil {
		return err
	}
	obs, err := readCaptures(s, o.Captures, o.Filter, o.Quiet, lim)
	if err != nil {
		return err
	}
	names := make([]string, len(o.Captures))
	for i, a := range o.Captures {
		names[i] = filepath.Base(a)
	}
	d := suggest.Build(m.Evaluate(obs), suggest.Options{Name: o.Name, CollapseV4: o.CollapseV4, CollapseV6: o.CollapseV6, Inputs: names})
	var draft bytes.Buffer
	if err := suggest.Write(&draft, o.Format, d); err != nil {
		return fmt.Errorf("write draft: %w", err)
	}
	out, err := outfile.Open(s.Out, o.Output, inputs)
	if err != nil {
		return err
	}
	_, err = out.Write(draft.Bytes())
	if err := out.Commit(err); err != nil {
		return fmt.Errorf("write draft: %w", err)
	}
	if o.Format == "yaml" {
		// A draft that `profiles check` would refuse (beyond a profile's
		// bounds) is written for reading, and said.
		if _, err := profile.Parse(cmp.Or(o.Output, "the draft"), draft.Bytes()); err != nil {
			return &DraftError{len(d.Rules), err}
		}
	}
	return nil
}

// matcher judges against the profiles given, or against none, which
// leaves every flow unexpected and so drafts them all.
func (o *SuggestOptions) matcher() (*match.Matcher, error) {
	if len(o.Profiles) > 0 {
		return o.Compile()
	}
	if len(o.Peers) > 0 || o.Phase != "" || o.Region != "" {
		return nil, ErrBindingsNeedProfile
	}
	host, err := match.ParseHost(o.Host)
	if err != nil {
		return nil, err
	}
	return match.New(&profile.Set{}, match.Options{Host: host})
}

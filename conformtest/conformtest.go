package conformtest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/drift"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/classify/suggest"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// TB is the part of testing.TB the assertions use; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Options say what to check a capture against.
type Options struct {
	// Profiles are built-in profile names (see `wirecheck profiles`) or
	// YAML files, composed as -p composes them. At least one is needed.
	Profiles []string
	// Host lists the appliance's addresses or CIDRs. Empty means: inferred
	// from the traffic, which a test should not rely on.
	Host []string
	// Peers binds peer groups to addresses or CIDRs, as --peer does.
	Peers map[string][]string
	// Region binds {region} in name patterns; Phase checks one phase only.
	Region, Phase string

	// The limits wirecheck analyse applies, with its defaults as zero
	// values. MaxFlows caps the flows judged one by one, as --max-flows
	// does: 0 means analyse's default (classify.DefaultMaxFlows), a
	// negative number no cap. Flows beyond it are counted per service,
	// with their direction from Host (inferred when Host is empty), and
	// make the verdict at best inconclusive.
	MaxFlows int
	// Tunnels is --tunnels: "auto" (or "") or "off".
	Tunnels string
	// Filter keeps only the packets matching this tcpdump-syntax
	// expression, as --filter does; the result says how many it left out.
	Filter string
}

// Check analyses a capture file (pcap or pcapng, plain or gzip) against the
// profiles and returns the judged result. A damaged capture still gives a
// result for the packets before the damage, together with an error saying
// where reading stopped; an unreadable file or a bad profile gives only an
// error.
func Check(capturePath string, opts Options) (*match.Result, error) {
	if len(opts.Profiles) == 0 {
		return nil, errors.New("conformtest: Options.Profiles names no profile")
	}
	set, err := profile.Load(opts.Profiles...)
	if err != nil {
		return nil, err
	}
	host, err := match.ParseHost(opts.Host)
	if err != nil {
		return nil, optionError(err)
	}
	mo := match.Options{Region: opts.Region, Phase: opts.Phase, Host: host, Peers: map[string][]netip.Prefix{}}
	for _, name := range slices.Sorted(maps.Keys(opts.Peers)) { // the first error in a stable order
		if len(opts.Peers[name]) == 0 {
			continue // binds nothing: the group stays as the profiles define it
		}
		if mo.Peers[name], err = match.ParsePeer(name, opts.Peers[name]); err != nil {
			return nil, optionError(err)
		}
	}
	m, err := match.New(set, mo)
	if err != nil {
		return nil, err
	}
	lim, err := limits(opts, host)
	if err != nil {
		return nil, err
	}
	f, err := capture.Open(capturePath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	obs, readErr := classify.ReadFiles([]*capture.File{f}, classify.ReadOptions{Limits: lim, Filter: opts.Filter, FlowHint: 1 << 10})
	if obs == nil {
		return nil, fmt.Errorf("conformtest: Options.Filter: %w", readErr)
	}
	return m.Evaluate(obs), readErr
}

// optionError words a binding match refused as the option that gave it.
func optionError(err error) error {
	var be *match.BindingError
	switch {
	case !errors.As(err, &be):
		return err
	case be.Peer == "":
		return fmt.Errorf("conformtest: Options.Host: %w", be.Err)
	}
	return fmt.Errorf("conformtest: Options.Peers[%s]: %w", be.Peer, be.Err)
}

// limits are the classifier's limits opts ask for, as analyse's flags
// give them, on the host given.
func limits(opts Options, host []netip.Prefix) (classify.Limits, error) {
	lim := classify.Limits{MaxFlows: opts.MaxFlows, Host: host}
	switch {
	case opts.MaxFlows == 0:
		lim.MaxFlows = classify.DefaultMaxFlows
	case opts.MaxFlows < 0:
		lim.MaxFlows = 0 // no cap
	}
	if opts.Tunnels != "" {
		t, err := classify.ParseTunnels(opts.Tunnels)
		if err != nil {
			return classify.Limits{}, fmt.Errorf("conformtest: Options.Tunnels %w", err)
		}
		lim.Tunnels = t
	}
	return lim, nil
}

// AssertConforms fails t unless the capture conforms to the profiles: every
// flow expected and every required flow seen. The failure lists each
// problem, the flows no rule allows, and draft rules that would allow them.
// It returns the result (nil when the capture could not be analysed).
func AssertConforms(t TB, capturePath string, opts Options) *match.Result {
	t.Helper()
	res := check(t, capturePath, opts)
	if res == nil {
		return nil
	}
	if res.Verdict != match.Conformant {
		t.Errorf("%s", Explain(capturePath, res))
	}
	return res
}

// check is Check for the asserts: a capture that could not be read at all
// is fatal, damage after some packets an error on a result that still counts.
func check(t TB, capturePath string, opts Options) *match.Result {
	t.Helper()
	res, err := Check(capturePath, opts)
	if res == nil {
		t.Fatalf("conformtest: %v", err)
		return nil
	}
	if err != nil {
		t.Errorf("conformtest: %v (the result covers the packets before)", err)
	}
	return res
}

// AssertNoWorseThan fails t when the capture is worse than a baseline report
// (written by `wirecheck analyse --format json` and reviewed): a new
// unexpected or forbidden flow, a required rule that was seen and is now
// blocked or missing. A capture that does not conform, but no worse than the
// baseline, passes: the test guards against regressions while known
// problems are being fixed.
func AssertNoWorseThan(t TB, capturePath, baselineReport string, opts Options) *match.Result {
	t.Helper()
	base, err := drift.ReadReport(baselineReport)
	if err != nil {
		t.Fatalf("conformtest: baseline: %v", err)
		return nil
	}
	res := check(t, capturePath, opts)
	if res == nil {
		return nil
	}
	d := drift.Compare(baselineReport, base, capturePath, report.Build(res))
	if d.Worse {
		var b strings.Builder
		fmt.Fprintf(&b, "%s is worse than the baseline %s:\n", capturePath, baselineReport)
		d.Text(&indent{w: &b})
		t.Errorf("%s", strings.TrimRight(b.String(), "\n"))
	}
	return res
}

// Explain says why a result does not conform, in the words of the text
// report: the failing problems numbered, then warnings, then draft rules
// for the unexpected flows.
func Explain(capturePath string, res *match.Result) string {
	var b strings.Builder
	problems := res.Problems()
	fails := 0
	for _, p := range problems {
		if p.Fails {
			fails++
		}
	}
	hosts := make([]string, len(res.Host))
	for i, h := range res.Host {
		hosts[i] = h.String()
		if h.IsSingleIP() {
			hosts[i] = h.Addr().String()
		}
	}
	host := strings.Join(hosts, ", ")
	if res.HostInferred {
		host += ", inferred"
	}
	switch res.Verdict {
	case match.Conformant:
		fmt.Fprintf(&b, "%s conforms to %s (host %s)", capturePath, strings.Join(res.Profiles, ", "), host)
		return b.String()
	case match.Inconclusive:
		fmt.Fprintf(&b, "%s: could not decide against %s (host %s): the capture is incomplete and some required flows were not seen", capturePath, strings.Join(res.Profiles, ", "), host)
	default:
		fmt.Fprintf(&b, "%s does not conform to %s (host %s): %d %s", capturePath, strings.Join(res.Profiles, ", "), host, fails, textout.Plural(fails, "problem", "problems"))
	}
	n := 0
	for _, p := range problems {
		if p.Fails {
			n++
			fmt.Fprintf(&b, "\n  %d. %s", n, report.ProblemText(res, &p))
		}
	}
	for _, p := range problems {
		if !p.Fails {
			fmt.Fprintf(&b, "\n  - %s", report.ProblemText(res, &p))
		}
	}
	d := suggest.Build(res, suggest.Options{Name: "draft/extra", CollapseV4: 32, CollapseV6: 128})
	if len(d.Rules) > 0 {
		var y bytes.Buffer
		if d.YAML(&y) == nil {
			b.WriteString("\nIf the unexpected flows are wanted, a profile like this (add it to Options.Profiles) allows them:\n")
			for _, line := range strings.Split(strings.TrimRight(y.String(), "\n"), "\n") {
				if strings.HasPrefix(line, "#") {
					continue // the draft's own usage notes are for the CLI
				}
				if line != "" {
					line = "    " + line
				}
				b.WriteString(line + "\n")
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// indent prefixes every line with two spaces, so a diff nests under the
// failure's first line in a test log.
type indent struct {
	w   *strings.Builder
	mid bool
}

func (i *indent) Write(p []byte) (int, error) {
	for _, c := range p {
		if !i.mid {
			i.w.WriteString("  ")
		}
		i.w.WriteByte(c)
		i.mid = c != '\n'
	}
	return len(p), nil
}

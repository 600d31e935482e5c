package conformtest

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
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
}

// Check analyses a capture file (pcap or pcapng, plain or gzip) against the
// profiles and returns the judged result. A damaged capture still gives a
// result for the packets before the damage, together with an error saying
// where reading stopped; an unreadable file or a bad profile gives only an
// error.
func Check(capturePath string, opts Options) (*match.Result, error) {
	m, err := matcher(opts)
	if err != nil {
		return nil, err
	}
	f, err := capture.Open(capturePath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := classify.New(1 << 10)
	readErr := c.Read(f.Name(), f, nil)
	return m.Evaluate(c.Observation()), readErr
}

func matcher(opts Options) (*match.Matcher, error) {
	if len(opts.Profiles) == 0 {
		return nil, errors.New("conformtest: Options.Profiles names no profile")
	}
	set, err := profile.Load(opts.Profiles...)
	if err != nil {
		return nil, err
	}
	mo := match.Options{Region: opts.Region, Phase: opts.Phase, Peers: map[string][]netip.Prefix{}}
	for _, h := range opts.Host {
		p, err := profile.ParsePrefix(h)
		if err != nil {
			return nil, fmt.Errorf("conformtest: Options.Host: %w", err)
		}
		mo.Host = append(mo.Host, p)
	}
	for name, addrs := range opts.Peers {
		for _, a := range addrs {
			p, err := profile.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("conformtest: Options.Peers[%s]: %w", name, err)
			}
			mo.Peers[name] = append(mo.Peers[name], p)
		}
	}
	return match.New(set, mo)
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
			fmt.Fprintf(&b, "\n  %d. %s", n, p.Text)
		}
	}
	for _, p := range problems {
		if !p.Fails {
			fmt.Fprintf(&b, "\n  - %s", p.Text)
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

package report

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"
	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"golang.org/x/net/html"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

const captures = "../../testdata/captures"

// fixtureProfile gives the faulty capture's telnet and SMTP flows the
// levels no built-in profile has (forbidden, discouraged), and texts full
// of markup that every format must carry literally.
const fixtureProfile = `version: 1
profile: test/formats
description: every rule status, and markup in the texts
include: [storage-gateway/file-nfs]
peers:
  mail-relays:
    names: ["*.example.net"]
rules:
  - name: no-telnet
    from: any
    to: host
    proto: tcp
    ports: 23
    level: forbidden
    how: 'Telnet <script>alert("how")</script> sends passwords in the clear'
    note: 'Use SSH | never *telnet* & <b>never</b> ]]> [link](http://example.com)'
  - name: smtp
    from: host
    to: mail-relays
    proto: tcp
    ports: 25
    level: discouraged
    note: mail should go through the API
`

const fixtureNote = `Use SSH | never *telnet* & <b>never</b> ]]> [link](http://example.com)`

// evaluate judges a recorded capture. With fixture, the profile is the
// fixture (which includes the file-nfs profile), the phase "operation"
// (so activation rules are inactive) and the observation has lost packets
// (so the missing NTP rule is inconclusive): every rule status at once.
func evaluate(t *testing.T, file string, fixture bool) *match.Result {
	t.Helper()
	obs := testobs.File(t, filepath.Join(captures, file))
	refs, opts := []string{"storage-gateway/file-nfs"}, match.Options{}
	if fixture {
		refs, opts.Phase = []string{"formats.yaml"}, "operation"
		obs.Losses = append(obs.Losses, classify.Loss{What: "packets dropped by libpcap", Count: 3})
	}
	set, err := profile.LoadWith(func(name string) ([]byte, error) {
		if name == "formats.yaml" {
			return []byte(fixtureProfile), nil
		}
		return nil, fs.ErrNotExist
	}, refs...)
	if err != nil {
		t.Fatal(err)
	}
	opts.Host = []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}
	m, err := match.New(set, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m.Evaluate(obs)
}

func render(t *testing.T, write func(*bytes.Buffer, *match.Result) error, res *match.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b, res); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEmptyCapture writes every format for a capture with no packets and
// no --host: nothing to draw, no host, every required rule missing.
func TestEmptyCapture(t *testing.T) {
	// A pcap file header (little-endian, version 2.4, Ethernet) and nothing else.
	empty := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	f, err := capture.NewReader("empty.pcap", bytes.NewReader(empty))
	if err != nil {
		t.Fatal(err)
	}
	c := classify.New(16)
	if err := c.Read(f.Name(), f, nil); err != nil {
		t.Fatal(err)
	}
	res := judged(t, c.Observation(), "storage-gateway/file-nfs")
	for name, w := range map[string]func(io.Writer, *match.Result) error{
		"markdown": Markdown, "junit": JUnit, "html": HTML, "sarif": SARIF,
	} {
		var b bytes.Buffer
		if err := w(&b, res); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		switch name {
		case "junit":
			if _, cases := junitCases(t, b.Bytes()); len(cases) != len(res.Rules)+1 {
				t.Errorf("junit: %d cases, want a case per rule and the flows case", len(cases))
			}
		case "sarif":
			if log, err := sarif.FromBytes(b.Bytes()); err != nil || log.Validate() != nil {
				t.Errorf("sarif: not valid (%v)", err)
			}
		case "html":
			if !strings.Contains(b.String(), "address unknown") || !strings.Contains(b.String(), "unknown (no flows; set --host)") {
				t.Errorf("html does not say the host is unknown")
			}
		case "markdown":
			if !strings.Contains(b.String(), "**Host:** unknown") {
				t.Errorf("markdown does not say the host is unknown")
			}
		}
	}
}

// TestFixtureHasEveryStatus guards the fixture itself: the format tests
// below rely on it producing each rule status and flow verdict.
func TestFixtureHasEveryStatus(t *testing.T) {
	res := evaluate(t, "filegw-faulty.pcap", true)
	got := map[string]bool{}
	for i := range res.Rules {
		got[arrowStatus(&res.Rules[i])] = true
	}
	for i := range res.Flows {
		got[res.Flows[i].Verdict.String()] = true
	}
	for _, want := range []string{"seen", "blocked", "inconclusive", "unused", "inactive", "forbidden", "discouraged", "unexpected"} {
		if !got[want] {
			t.Errorf("fixture has no %s rule or flow (has %v)", want, got)
		}
	}
}

// junitCases parses the report with go-junit, a JUnit consumer, and keys
// the cases by suite and name.
func junitCases(t *testing.T, out []byte) ([]junit.Suite, map[string]junit.Test) {
	t.Helper()
	suites, err := junit.Ingest(out)
	if err != nil {
		t.Fatalf("JUnit consumer cannot read the report: %v\n%s", err, out)
	}
	cases := map[string]junit.Test{}
	for _, s := range suites {
		for _, c := range s.Tests {
			cases[s.Name+" | "+c.Name] = c
		}
	}
	return suites, cases
}

func TestJUnitFaultyGateway(t *testing.T) {
	res := evaluate(t, "filegw-faulty.pcap", false)
	out := render(t, func(b *bytes.Buffer, r *match.Result) error { return JUnit(b, r) }, res)
	suites, cases := junitCases(t, out)
	var names []string
	for _, s := range suites {
		names = append(names, s.Name)
	}
	if want := []string{"storage-gateway/common", "storage-gateway/file-nfs", "flows"}; !slices.Equal(names, want) {
		t.Fatalf("suites %v, want %v", names, want)
	}
	total, failed := 0, 0
	for _, c := range cases {
		total++
		if c.Status == junit.StatusFailed {
			failed++
		}
	}
	// 11 rules, 2 unexpected flows; 4 problems fail.
	if total != 13 || failed != 4 {
		t.Errorf("%d cases, %d failed; want 13 and 4", total, failed)
	}
	for key, want := range map[string]string{
		"storage-gateway/common | https-service (TCP 443 host -> aws)":                                "blocked: TCP 443 to 198.51.100.10",
		"storage-gateway/common | ntp (UDP 123 host -> ntp-servers)":                                  "missing: UDP 123",
		"flows | unexpected: inbound TCP 23 (telnet) from 10.0.0.66 to 10.0.0.5":                      "unexpected: inbound TCP 23",
		"flows | unexpected: outbound TCP 25 (smtp) from 10.0.0.5 to 203.0.113.25 (mail.example.net)": "unexpected: outbound TCP 25",
	} {
		c, ok := cases[key]
		if !ok {
			t.Errorf("no case %q", key)
			continue
		}
		if c.Status != junit.StatusFailed || c.Error == nil || !strings.HasPrefix(c.Message, want) {
			t.Errorf("%s: status %s message %q, want failed with %q", key, c.Status, c.Message, want)
		}
	}
	if c := cases["storage-gateway/common | dns (TCP/UDP 53 host -> dns-servers)"]; c.Status != junit.StatusPassed ||
		strings.Count(c.SystemOut, "flow: udp 10.0.0.5:") != 4 {
		t.Errorf("dns: status %s, system-out %q; want passed with its 4 flows", c.Status, c.SystemOut)
	}
}

func TestJUnitEveryStatus(t *testing.T) {
	res := evaluate(t, "filegw-faulty.pcap", true)
	out := render(t, func(b *bytes.Buffer, r *match.Result) error { return JUnit(b, r) }, res)
	_, cases := junitCases(t, out)
	for key, want := range map[string]junit.Status{
		"storage-gateway/common | ntp (UDP 123 host -> ntp-servers)":                        junit.StatusError, // inconclusive
		"storage-gateway/common | http-activation (TCP 80 browser -> host)":                 junit.StatusSkipped,
		"storage-gateway/common | https-service (TCP 443 host -> aws)":                      junit.StatusFailed,
		"test/formats | no-telnet (TCP 23 any -> host)":                                     junit.StatusFailed, // forbidden and seen
		"test/formats | smtp (TCP 25 host -> mail-relays)":                                  junit.StatusPassed, // discouraged: a warning
		"flows | forbidden: inbound TCP 23 (telnet) from 10.0.0.66 to 10.0.0.5":             junit.StatusFailed,
		"flows | unexpected: inbound TCP 80 (http) from 10.0.0.20 to 10.0.0.5":              junit.StatusFailed, // activation, in operation
		"storage-gateway/file-nfs | cloudfront-activation (TCP 443 host -> aws-cloudfront)": junit.StatusSkipped,
	} {
		c, ok := cases[key]
		if !ok {
			t.Errorf("no case %q", key)
			continue
		}
		if c.Status != want {
			t.Errorf("%s: %s, want %s (%s)", key, c.Status, want, c.Message)
		}
	}
	// Markup and a CDATA terminator in profile text survive the round trip.
	c := cases["test/formats | no-telnet (TCP 23 any -> host)"]
	if !strings.Contains(c.Error.Error(), "note: "+fixtureNote) {
		t.Errorf("forbidden rule's details lost the note: %q", c.Error)
	}
	if !bytes.Contains(out, []byte("warning: discouraged: outbound TCP 25")) {
		t.Errorf("the discouraged SMTP flow is not among the warnings")
	}
}

func TestSARIFValidates(t *testing.T) {
	for _, fixture := range []bool{false, true} {
		res := evaluate(t, "filegw-faulty.pcap", fixture)
		out := render(t, func(b *bytes.Buffer, r *match.Result) error { return SARIF(b, r) }, res)
		log, err := sarif.FromBytes(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := log.Validate(); err != nil {
			t.Fatalf("not valid SARIF 2.1.0: %v", err)
		}
		// The raw JSON, not the library's view of it, carries one result
		// per problem with the rule id and level the format promises.
		var raw struct {
			Version string `json:"version"`
			Runs    []struct {
				Results []struct {
					RuleID    string `json:"ruleId"`
					Level     string `json:"level"`
					Message   struct{ Text string }
					Locations []struct {
						PhysicalLocation struct {
							ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						} `json:"physicalLocation"`
					}
				}
			}
		}
		if err := json.Unmarshal(out, &raw); err != nil {
			t.Fatal(err)
		}
		problems := res.Problems()
		if raw.Version != "2.1.0" || len(raw.Runs) != 1 || len(raw.Runs[0].Results) != len(problems) {
			t.Fatalf("version %s, %d runs; want 2.1.0, 1 run with %d results", raw.Version, len(raw.Runs), len(problems))
		}
		for i, r := range raw.Runs[0].Results {
			p := problems[i]
			wantID := sarifUnexpected
			switch {
			case p.Kind == match.ProblemMismatch:
				wantID = sarifMismatch
			case p.Kind == match.ProblemFolded:
				wantID = sarifFolded
			case p.Rule != nil:
				wantID = p.Rule.ID()
			}
			wantLevel := map[bool]string{true: "error", false: "warning"}[p.Fails]
			if text := ProblemText(res, &p); r.RuleID != wantID || r.Level != wantLevel || r.Message.Text != text {
				t.Errorf("result %d: %s %s %q; want %s %s %q", i, r.RuleID, r.Level, r.Message.Text, wantID, wantLevel, text)
			}
			if len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI != filepath.Join(captures, "filegw-faulty.pcap") {
				t.Errorf("result %d: locations %+v, want the capture file", i, r.Locations)
			}
		}
	}
}

func TestMarkdownRendersAsGFM(t *testing.T) {
	res := evaluate(t, "filegw-faulty.pcap", true)
	out := render(t, func(b *bytes.Buffer, r *match.Result) error { return Markdown(b, r) }, res)
	var page bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert(out, &page); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&page)
	if err != nil {
		t.Fatal(err)
	}
	tables := findAll(doc, "table")
	if len(tables) != 2 {
		t.Fatalf("%d tables, want rules and flows:\n%s", len(tables), page.String())
	}
	if rows := len(findAll(tables[0], "tr")) - 1; rows != len(res.Rules) {
		t.Errorf("rules table has %d rows, want %d", rows, len(res.Rules))
	}
	if rows := len(findAll(tables[1], "tr")) - 1; rows != len(res.Flows) {
		t.Errorf("flows table has %d rows, want %d", rows, len(res.Flows))
	}
	for _, row := range findAll(tables[0], "tr") {
		if n := len(findAll(row, "td")) + len(findAll(row, "th")); n != 7 {
			t.Errorf("a rules row has %d cells, want 7: %q", n, text(row))
		}
	}
	// The profile's markup is text: no link, emphasis or bold element comes
	// from it, and the first heading is the verdict.
	for _, tag := range []string{"em", "strong", "b", "script"} {
		for _, n := range findAll(doc, tag) {
			// The note's *telnet* and <b>never</b> must not be markup.
			if s := text(n); strings.Contains(s, "telnet") || strings.Contains(s, "never") {
				t.Errorf("profile text became <%s>: %q", tag, s)
			}
		}
	}
	for _, a := range findAll(doc, "a") {
		// GFM links bare URLs, as GitHub does; a Markdown link must stay text.
		if text(a) == "link" {
			t.Errorf("the note's [link](...) became a link")
		}
	}
	if !strings.Contains(text(doc), fixtureNote) {
		t.Errorf("the note is not shown literally")
	}
	if h := findAll(doc, "h2"); len(h) == 0 || !strings.Contains(text(h[0]), "NOT CONFORMANT") {
		t.Errorf("first heading is not the verdict")
	}
	fails := 0
	for _, p := range res.Problems() {
		if p.Fails {
			fails++
		}
	}
	problems := findAll(findAll(doc, "ol")[0], "li")
	if len(problems) != fails || !strings.HasPrefix(text(problems[0]), "blocked: TCP 443") {
		t.Errorf("%d problems, first %q; want %d starting with the blocked rule", len(problems), text(problems[0]), fails)
	}
	if fails != 3 {
		t.Errorf("%d failing problems, want blocked HTTPS, forbidden telnet and unexpected activation HTTP", fails)
	}
}

// TestHTMLStructure checks the page without a browser: self-contained,
// escaped, and with one arrow per rule and per unexpected peer and port.
func TestHTMLStructure(t *testing.T) {
	for _, fixture := range []bool{false, true} {
		res := evaluate(t, "filegw-faulty.pcap", fixture)
		out := render(t, func(b *bytes.Buffer, r *match.Result) error { return HTML(b, r) }, res)
		doc, err := html.Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if n := findAll(doc, "script"); len(n) > 0 {
			t.Errorf("the page has a <script>: %q", text(n[0]))
		}
		if n := findAll(doc, "b"); len(n) > 0 {
			t.Errorf("profile text became markup: <b>%s</b>", text(n[0]))
		}
		for _, n := range findAll(doc, "") {
			for _, a := range n.Attr {
				if (a.Key == "src" || a.Key == "href" || strings.HasPrefix(a.Key, "on")) ||
					(strings.Contains(a.Val, "url(") && !regexp.MustCompile(`^url\(#[a-z-]+\)$`).MatchString(a.Val)) {
					t.Errorf("<%s %s=%q>: the page must not load or run anything", n.Data, a.Key, a.Val)
				}
			}
		}
		if style := text(findAll(doc, "style")[0]); strings.Contains(style, "@import") || regexp.MustCompile(`url\(`).MatchString(style) {
			t.Errorf("the style sheet loads something")
		}
		svg := byID(doc, "diagram")
		if svg == nil {
			t.Fatal("no diagram")
		}
		statuses := map[string]int{}
		arrows := 0
		for _, g := range findAll(svg, "g") {
			if !hasClass(g, "arrow") {
				continue
			}
			arrows++
			statuses[attr(g, "data-status")]++
		}
		unexpected := 0
		for i := range res.Flows {
			if res.Flows[i].Verdict == match.Unexpected {
				unexpected++ // every unexpected flow of this capture has its own peer and port
			}
		}
		if arrows != len(res.Rules)+unexpected {
			t.Errorf("%d arrows, want %d rules + %d unexpected flows", arrows, len(res.Rules), unexpected)
		}
		want := map[string]int{"seen": 6, "blocked": 1, "missing": 1, "unused": 3, "unexpected": 2}
		if fixture {
			want = map[string]int{"seen": 5, "blocked": 1, "inconclusive": 1, "unused": 2, "inactive": 2,
				"forbidden": 1, "discouraged": 1, "unexpected": 1}
		}
		if !maps(statuses, want) {
			t.Errorf("arrow statuses %v, want %v", statuses, want)
		}
		if got := len(findAll(byID(doc, "problems"), "li")); got != len(res.Problems()) {
			t.Errorf("%d problem items, want %d", got, len(res.Problems()))
		}
		if fixture && !strings.Contains(text(doc), fixtureNote) {
			t.Errorf("the note is not shown literally")
		}
	}
}

func maps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// findAll returns the elements named tag under n ("" for all).
func findAll(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && (tag == "" || c.Data == tag) {
			out = append(out, c)
		}
	}
	return out
}

func byID(n *html.Node, id string) *html.Node {
	for _, c := range findAll(n, "") {
		if attr(c, "id") == id {
			return c
		}
	}
	return nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), class)
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

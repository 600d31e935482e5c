package drift

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

const captures = "../../testdata/captures"

// analyse builds the JSON model of a capture the way analyse does, with
// the profile and host the golden reports use.
func analyse(t *testing.T, file string) *report.Report {
	t.Helper()
	set, err := profile.Load("storage-gateway/file-nfs")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := profile.ParsePrefix("10.0.0.5")
	m, err := match.New(set, match.Options{Host: []netip.Prefix{host}})
	if err != nil {
		t.Fatal(err)
	}
	// Through JSON and back, as `wirecheck diff` sees reports.
	var buf bytes.Buffer
	if err := report.JSON(&buf, m.Evaluate(testobs.File(t, filepath.Join(captures, file)))); err != nil {
		t.Fatal(err)
	}
	rep, err := DecodeReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

type flowLine struct {
	change string
	impact Impact
	id     Identity
}

func flowLines(d *Diff) []flowLine {
	var out []flowLine
	for _, f := range d.Flows {
		out = append(out, flowLine{f.Change, f.Impact, f.Identity})
	}
	return out
}

// TestConformantToFaulty holds the diff of the two file gateway recordings
// to exactly what the recording script changed (testdata/captures/README.md):
// no NTP, outbound SMTP, a refused telnet attempt, HTTPS to storagegateway
// dropped.
func TestConformantToFaulty(t *testing.T) {
	good, bad := analyse(t, "filegw-conformant.pcapng"), analyse(t, "filegw-faulty.pcap")
	d := Compare("good", good, "bad", bad)
	if !d.Worse || d.Counts != (Counts{Worse: 4, Neutral: 2}) {
		t.Errorf("worse %v counts %+v, want worse with 4 worse and 2 neutral", d.Worse, d.Counts)
	}
	type ruleLine struct {
		id, change   string
		impact       Impact
		from, status string
	}
	var rules []ruleLine
	for _, r := range d.Rules {
		rules = append(rules, ruleLine{r.ID, r.Change, r.Impact, r.Old.Status, r.New.Status})
	}
	wantRules := []ruleLine{
		{"storage-gateway/common:https-service", Changed, Worse, "seen", "blocked"},
		{"storage-gateway/common:ntp", Changed, Worse, "seen", "missing"},
	}
	if !slices.Equal(rules, wantRules) {
		t.Errorf("rule changes\n got %+v\nwant %+v", rules, wantRules)
	}
	wantFlows := []flowLine{
		{Appeared, Worse, Identity{"tcp", "10.0.0.66", "10.0.0.5", 23, "inbound"}},
		{Appeared, Worse, Identity{"tcp", "10.0.0.5", "203.0.113.25", 25, "outbound"}},
		{Vanished, Neutral, Identity{"udp", "10.0.0.5", "10.0.0.123", 123, "outbound"}},
		{Changed, Neutral, Identity{"tcp", "10.0.0.5", "198.51.100.10", 443, "outbound"}},
	}
	if got := flowLines(d); !slices.Equal(got, wantFlows) {
		t.Errorf("flow changes\n got %+v\nwant %+v", got, wantFlows)
	}
	for _, f := range d.Flows {
		switch f.ServerPort {
		case 123:
			if f.Old.Flows != 2 || f.Old.Verdict != "expected" || f.Old.Rule != "storage-gateway/common:ntp" {
				t.Errorf("vanished NTP: %+v", f.Old)
			}
		case 443:
			if !slices.Equal(f.What, []string{"state closed -> unanswered"}) {
				t.Errorf("changed HTTPS: %q", f.What)
			}
		case 25:
			if f.New.Verdict != "unexpected" || !slices.Equal(f.New.Names, []string{"mail.example.net"}) {
				t.Errorf("new SMTP: %+v", f.New)
			}
		}
	}
	if len(d.Notes) != 0 {
		t.Errorf("notes for a like-for-like comparison: %q", d.Notes)
	}

	// The other way round everything that was worse is better.
	back := Compare("bad", bad, "good", good)
	if back.Worse || back.Counts != (Counts{Better: 4, Neutral: 2}) {
		t.Errorf("reverse: worse %v counts %+v", back.Worse, back.Counts)
	}
}

// TestEphemeralPortsIgnored: the same traffic with other client ports, as
// every new recording has, is no change at all.
func TestEphemeralPortsIgnored(t *testing.T) {
	a := analyse(t, "filegw-faulty.pcap")
	b := analyse(t, "filegw-faulty.pcap")
	for i := range b.Flows {
		b.Flows[i].ClientPort += 1000
	}
	d := Compare("a", a, "b", b)
	if d.Worse || len(d.Flows) != 0 || len(d.Rules) != 0 {
		t.Fatalf("new client ports changed something: %+v", d)
	}
	var out bytes.Buffer
	d.Text(&out)
	if !strings.HasPrefix(out.String(), "SAME: ") {
		t.Errorf("text starts %q", strings.SplitN(out.String(), "\n", 2)[0])
	}
}

// TestVerdictChangeIsWorse: a flow that stays but loses its rule (here,
// because the new report was judged without the NFS rules) counts as worse,
// and the differing profiles are noted.
func TestVerdictChangeIsWorse(t *testing.T) {
	old := analyse(t, "filegw-conformant.pcapng")
	cur := analyse(t, "filegw-conformant.pcapng")
	cur.Profiles = []string{"storage-gateway/common"}
	for i := range cur.Flows {
		if cur.Flows[i].ServerPort == 2049 {
			cur.Flows[i].Verdict, cur.Flows[i].Rule = "unexpected", nil
		}
	}
	d := Compare("old", old, "new", cur)
	if !d.Worse || len(d.Flows) != 1 || d.Flows[0].Change != Changed || d.Flows[0].Impact != Worse {
		t.Fatalf("flows %+v", d.Flows)
	}
	if got := strings.Join(d.Flows[0].What, "; "); got != "verdict expected -> unexpected; rule storage-gateway/file-nfs:nfs -> none" {
		t.Errorf("what: %s", got)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "the profiles differ") {
		t.Errorf("notes %q", d.Notes)
	}
}

func TestRulesAddedAndRemoved(t *testing.T) {
	old := analyse(t, "filegw-faulty.pcap")
	cur := analyse(t, "filegw-faulty.pcap")
	// ntp is missing in both; drop it from the new report and add a
	// required rule that is missing only there.
	i := slices.IndexFunc(cur.Rules, func(r report.Rule) bool { return r.ID == "storage-gateway/common:ntp" })
	extra := cur.Rules[i]
	extra.ID = "site/gw:backup"
	cur.Rules = append(slices.Delete(cur.Rules, i, i+1), extra)
	d := Compare("old", old, "new", cur)
	var got []string
	for _, r := range d.Rules {
		got = append(got, r.ID+" "+r.Change+" "+string(r.Impact))
	}
	want := []string{"site/gw:backup added worse", "storage-gateway/common:ntp removed better"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDecodeReportErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not json", "CONFORMANT: every flow", "not a wirecheck JSON report"},
		{"no schema", `{"verdict": "conformant"}`, `no "schema" field`},
		{"other schema", `{"schema": "wirecheck/report/v9"}`, `schema "wirecheck/report/v9", this wirecheck reads "wirecheck/report/v2"`},
		{"wrong type", `{"schema": "wirecheck/report/v2", "flows": 3}`, "not a wirecheck JSON report"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeReport(strings.NewReader(tc.doc))
			if err == nil || !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrSchema containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	_, err := ReadReport(filepath.Join(t.TempDir(), "none.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestJSONRoundTrip: the JSON a diff writes decodes into the same Diff.
func TestJSONRoundTrip(t *testing.T) {
	d := Compare("good", analyse(t, "filegw-conformant.pcapng"), "bad", analyse(t, "filegw-faulty.pcap"))
	var buf bytes.Buffer
	if err := d.JSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Diff
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != Version || !back.Worse || len(back.Flows) != len(d.Flows) || len(back.Rules) != len(d.Rules) {
		t.Errorf("round trip lost something: %+v", back)
	}
	if !reflect.DeepEqual(back, *d) {
		t.Errorf("round trip changed the diff:\n got %+v\nwant %+v", back, *d)
	}
}

// TestServerAddressMoved: an endpoint known by name whose address changed
// between recordings (S3 rotates its addresses) is one changed flow, not a
// vanished and an appeared one.
func TestServerAddressMoved(t *testing.T) {
	old := analyse(t, "filegw-conformant.pcapng")
	cur := analyse(t, "filegw-conformant.pcapng")
	for i := range cur.Flows {
		if cur.Flows[i].Server == "198.51.100.20" {
			cur.Flows[i].Server = "198.51.100.21"
		}
	}
	d := Compare("old", old, "new", cur)
	if d.Worse || len(d.Flows) != 1 {
		t.Fatalf("worse %v, flows %+v", d.Worse, d.Flows)
	}
	f := d.Flows[0]
	if f.Change != Changed || f.Impact != Neutral || f.Server != "198.51.100.21" ||
		!slices.Equal(f.What, []string{"server 198.51.100.20 -> 198.51.100.21 (s3.us-east-1.amazonaws.com)"}) {
		t.Errorf("change %+v", f)
	}
	// Without a name in common the two stay apart: nothing says they are
	// the same endpoint.
	for i := range cur.Flows {
		if cur.Flows[i].Server == "198.51.100.21" {
			cur.Flows[i].Names.Server = []string{"other.example.net"}
		}
	}
	d = Compare("old", old, "new", cur)
	var changes []string
	for _, f := range d.Flows {
		changes = append(changes, f.Change)
	}
	if !slices.Equal(changes, []string{Appeared, Vanished}) {
		t.Errorf("changes %v", changes)
	}
}

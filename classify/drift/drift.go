package drift

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// Version names the JSON schema of a Diff.
const Version = "wirecheck/diff/v1"

// Impact says whether a change is worse or better for conformance.
type Impact string

const (
	Worse   Impact = "worse"
	Better  Impact = "better"
	Neutral Impact = "neutral" // a change that neither fails nor fixes anything
)

// Change kinds.
const (
	Appeared = "appeared" // a flow identity only the new report has
	Vanished = "vanished" // a flow identity only the old report has
	Changed  = "changed"  // a flow identity whose verdict, state or rule changed; a rule whose status changed
	Added    = "added"    // a rule only the new report has (the profile changed)
	Removed  = "removed"  // a rule only the old report has
)

// Diff is what changed from an old report to a new one.
type Diff struct {
	Schema string `json:"schema"`
	// Worse is set when at least one change is worse: the exit status of
	// `wirecheck diff` and `analyse --baseline`.
	Worse  bool    `json:"worse"`
	Counts Counts  `json:"counts"`
	Old    Summary `json:"old"`
	New    Summary `json:"new"`
	// Notes say what makes the comparison less than like for like:
	// different profiles, hosts, phases, or an incomplete observation.
	Notes []string     `json:"notes"`
	Rules []RuleChange `json:"rules"`
	Flows []FlowChange `json:"flows"`
}

// Counts counts changes by impact.
type Counts struct {
	Worse   int `json:"worse"`
	Better  int `json:"better"`
	Neutral int `json:"neutral"`
}

// Summary describes one of the two reports.
type Summary struct {
	Name     string   `json:"name"`
	Verdict  string   `json:"verdict"`
	Profiles []string `json:"profiles"`
	Host     []string `json:"host"`
	Complete bool     `json:"complete"`
	Packets  uint64   `json:"packets"`
	Flows    int      `json:"flows"`
	First    *string  `json:"first"`
}

// Identity is what makes two flows of different recordings the same flow.
type Identity struct {
	Proto      string `json:"proto"`
	Client     string `json:"client"`
	Server     string `json:"server"`
	ServerPort uint16 `json:"server_port"`
	Direction  string `json:"direction"`
}

// FlowSide is every flow of one identity in one report, taken together.
type FlowSide struct {
	Flows   int    `json:"flows"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// Verdict is the most severe verdict of the flows.
	Verdict string `json:"verdict"`
	// States lists the distinct states, sorted.
	States []string `json:"states"`
	// Rule is the rule that decided the most severe verdict, "" when none.
	Rule    string   `json:"rule"`
	Service string   `json:"service"`
	Names   []string `json:"names"` // the server's names (DNS, SNI)
}

// FlowChange is one flow identity that changed.
type FlowChange struct {
	Identity
	Change string    `json:"change"`
	Impact Impact    `json:"impact"`
	Old    *FlowSide `json:"old"`
	New    *FlowSide `json:"new"`
	// What lists what changed for Changed flows ("state closed -> unanswered").
	What []string `json:"what"`
}

// RuleSide is a rule's outcome in one report.
type RuleSide struct {
	Status   string `json:"status"`
	Level    string `json:"level"`
	Required bool   `json:"required"`
	Flows    int    `json:"flows"`
}

// RuleChange is one rule whose status changed, or that only one report has.
type RuleChange struct {
	ID     string    `json:"id"`
	Change string    `json:"change"`
	Impact Impact    `json:"impact"`
	Old    *RuleSide `json:"old"`
	New    *RuleSide `json:"new"`
}

// ErrSchema is returned for JSON that is not a wirecheck report of a schema
// this version reads. The command line adds how to write one.
var ErrSchema = errors.New("not a wirecheck JSON report")

// ReadReport reads a JSON report written by `wirecheck analyse --format json`.
func ReadReport(name string) (*report.Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer f.Close()
	rep, err := DecodeReport(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rep, nil
}

// DecodeReport decodes a JSON report and checks its schema.
func DecodeReport(r io.Reader) (*report.Report, error) {
	var rep report.Report
	dec := json.NewDecoder(r)
	if err := dec.Decode(&rep); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w (byte %d: %v)", ErrSchema, se.Offset, err)
		}
		return nil, fmt.Errorf("%w (%v)", ErrSchema, err)
	}
	if rep.Schema != report.Version {
		if rep.Schema == "" {
			return nil, fmt.Errorf("%w (no \"schema\" field)", ErrSchema)
		}
		return nil, fmt.Errorf("%w: schema %q, this wirecheck reads %q", ErrSchema, rep.Schema, report.Version)
	}
	return &rep, nil
}

// Compare says what changed from old to new. The names label the reports in
// the output (file names, usually).
func Compare(oldName string, old *report.Report, newName string, new *report.Report) *Diff {
	d := &Diff{
		Schema: Version, Old: summarise(oldName, old), New: summarise(newName, new),
		Notes: []string{}, Rules: []RuleChange{}, Flows: []FlowChange{},
	}
	d.notes(old, new)
	d.compareRules(old, new)
	d.compareFlows(old, new)
	for _, r := range d.Rules {
		d.count(r.Impact)
	}
	for _, f := range d.Flows {
		d.count(f.Impact)
	}
	d.Worse = d.Counts.Worse > 0
	return d
}

func (d *Diff) count(i Impact) {
	switch i {
	case Worse:
		d.Counts.Worse++
	case Better:
		d.Counts.Better++
	default:
		d.Counts.Neutral++
	}
}

func summarise(name string, r *report.Report) Summary {
	return Summary{
		Name: name, Verdict: r.Verdict, Profiles: textout.NonNil(r.Profiles), Host: textout.NonNil(r.Host.Addresses),
		Complete: r.Complete, Packets: r.Summary.Packets, Flows: len(r.Flows), First: r.Summary.First,
	}
}

func (d *Diff) notes(old, new *report.Report) {
	if !slices.Equal(old.Profiles, new.Profiles) {
		d.Notes = append(d.Notes, fmt.Sprintf("the profiles differ (old: %s; new: %s): rule changes may come from the profiles, not the traffic",
			orNone(old.Profiles), orNone(new.Profiles)))
	}
	if !slices.Equal(old.Host.Addresses, new.Host.Addresses) {
		d.Notes = append(d.Notes, fmt.Sprintf("the host differs (old: %s; new: %s): flow directions are relative to it, so set --host to the same addresses for both",
			orNone(old.Host.Addresses), orNone(new.Host.Addresses)))
	} else if old.Host.Inferred || new.Host.Inferred {
		d.Notes = append(d.Notes, "the host was inferred from the traffic; set --host to be sure both reports mean the same machine")
	}
	if old.Phase != new.Phase {
		d.Notes = append(d.Notes, fmt.Sprintf("the phase differs (old: %s; new: %s)", cmp.Or(old.Phase, "all"), cmp.Or(new.Phase, "all")))
	}
	if old.Region != new.Region {
		d.Notes = append(d.Notes, fmt.Sprintf("the region differs (old: %s; new: %s)", cmp.Or(old.Region, "any"), cmp.Or(new.Region, "any")))
	}
	for _, s := range []struct {
		which string
		r     *report.Report
	}{{"old", old}, {"new", new}} {
		if !s.r.Complete {
			d.Notes = append(d.Notes, fmt.Sprintf("the %s observation is incomplete (a damaged input or lost packets): a flow may have vanished only from the record", s.which))
		}
	}
}

// ruleRank orders rule outcomes by how badly they fail conformance.
func ruleRank(s *RuleSide) int {
	if s == nil || !s.Required {
		return 0
	}
	switch s.Status {
	case "inconclusive":
		return 1
	case "blocked", "missing":
		return 2
	}
	return 0
}

// flowRank orders verdicts by how badly they fail conformance.
func flowRank(s *FlowSide) int {
	if s == nil {
		return 0
	}
	switch s.Verdict {
	case "discouraged":
		return 1
	case "unexpected", "forbidden":
		return 2
	}
	return 0
}

func impact(oldRank, newRank int) Impact {
	switch {
	case newRank > oldRank:
		return Worse
	case newRank < oldRank:
		return Better
	}
	return Neutral
}

func ruleSide(r *report.Rule) *RuleSide {
	return &RuleSide{Status: r.Status, Level: r.Level, Required: r.Required, Flows: len(r.Flows)}
}

func (d *Diff) compareRules(old, new *report.Report) {
	oldByID := map[string]*report.Rule{}
	for i := range old.Rules {
		oldByID[old.Rules[i].ID] = &old.Rules[i]
	}
	seen := map[string]bool{}
	for i := range new.Rules {
		nr := &new.Rules[i]
		seen[nr.ID] = true
		ns := ruleSide(nr)
		pr, ok := oldByID[nr.ID]
		if !ok {
			d.Rules = append(d.Rules, RuleChange{ID: nr.ID, Change: Added, Impact: impact(0, ruleRank(ns)), New: ns})
			continue
		}
		ps := ruleSide(pr)
		if ps.Status == ns.Status && ps.Required == ns.Required {
			continue
		}
		d.Rules = append(d.Rules, RuleChange{ID: nr.ID, Change: Changed, Impact: impact(ruleRank(ps), ruleRank(ns)), Old: ps, New: ns})
	}
	for i := range old.Rules {
		pr := &old.Rules[i]
		if !seen[pr.ID] {
			ps := ruleSide(pr)
			d.Rules = append(d.Rules, RuleChange{ID: pr.ID, Change: Removed, Impact: impact(ruleRank(ps), 0), Old: ps})
		}
	}
	// Worse first: that is what a reader of a failed CI run looks for. The
	// order within an impact is the new report's rule order.
	slices.SortStableFunc(d.Rules, func(a, b RuleChange) int { return cmp.Compare(impactOrder(a.Impact), impactOrder(b.Impact)) })
}

func impactOrder(i Impact) int {
	switch i {
	case Worse:
		return 0
	case Better:
		return 1
	}
	return 2
}

// identityOf gives a flow's identity. Addresses are re-parsed so that two
// spellings of one IPv6 address are one identity.
func identityOf(f *report.Flow) Identity {
	id := Identity{Proto: f.Proto, Client: canonAddr(f.Client), Server: canonAddr(f.Server), Direction: f.Direction}
	if f.Proto == "tcp" || f.Proto == "udp" {
		id.ServerPort = f.ServerPort
	}
	return id
}

func canonAddr(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}

// group takes the flows of a report together by identity.
func group(r *report.Report) map[Identity]*FlowSide {
	m := map[Identity]*FlowSide{}
	for i := range r.Flows {
		f := &r.Flows[i]
		id := identityOf(f)
		s := m[id]
		if s == nil {
			s = &FlowSide{Verdict: f.Verdict, Service: f.Service}
			m[id] = s
			if f.Rule != nil {
				s.Rule = *f.Rule
			}
		}
		s.Flows++
		s.Packets += f.Packets
		s.Bytes += f.Bytes
		if !slices.Contains(s.States, f.State) {
			s.States = append(s.States, f.State)
		}
		for _, n := range f.Names.ServerLabels() {
			n = textout.Printable(n) // a report file may hold anything
			if !slices.Contains(s.Names, n) {
				s.Names = append(s.Names, n)
			}
		}
		if flowRank(&FlowSide{Verdict: f.Verdict}) > flowRank(s) {
			s.Verdict, s.Rule = f.Verdict, ""
			if f.Rule != nil {
				s.Rule = *f.Rule
			}
		}
	}
	for _, s := range m {
		slices.Sort(s.States)
		slices.Sort(s.Names)
		s.States, s.Names = textout.NonNil(s.States), textout.NonNil(s.Names)
	}
	return m
}

func (d *Diff) compareFlows(old, new *report.Report) {
	og, ng := group(old), group(new)
	for id, ns := range ng {
		ps, ok := og[id]
		if !ok {
			d.Flows = append(d.Flows, FlowChange{Identity: id, Change: Appeared, Impact: impact(0, flowRank(ns)), New: ns, What: []string{}})
			continue
		}
		var what []string
		if ps.Verdict != ns.Verdict {
			what = append(what, fmt.Sprintf("verdict %s -> %s", ps.Verdict, ns.Verdict))
		}
		if !slices.Equal(ps.States, ns.States) {
			what = append(what, fmt.Sprintf("state %s -> %s", strings.Join(ps.States, ","), strings.Join(ns.States, ",")))
		}
		if ps.Rule != ns.Rule {
			what = append(what, fmt.Sprintf("rule %s -> %s", cmp.Or(ps.Rule, "none"), cmp.Or(ns.Rule, "none")))
		}
		if len(what) > 0 {
			d.Flows = append(d.Flows, FlowChange{Identity: id, Change: Changed, Impact: impact(flowRank(ps), flowRank(ns)), Old: ps, New: ns, What: what})
		}
	}
	for id, ps := range og {
		if _, ok := ng[id]; !ok {
			d.Flows = append(d.Flows, FlowChange{Identity: id, Change: Vanished, Impact: impact(flowRank(ps), 0), Old: ps, What: []string{}})
		}
	}
	d.pairMoved()
	slices.SortFunc(d.Flows, compareChanges)
}

// pairMoved makes one change of a flow that vanished from one server address
// and appeared at another with the same name, protocol, port, client and
// direction: a cloud endpoint whose address rotated between the recordings
// is the same flow to a person, not a new one.
func (d *Diff) pairMoved() {
	var out []FlowChange
	used := map[int]bool{}
	for i, a := range d.Flows {
		if a.Change != Appeared || len(a.New.Names) == 0 {
			continue
		}
		for j, v := range d.Flows {
			if used[j] || v.Change != Vanished || v.Proto != a.Proto || v.ServerPort != a.ServerPort ||
				v.Client != a.Client || v.Direction != a.Direction || !shareName(v.Old.Names, a.New.Names) {
				continue
			}
			used[i], used[j] = true, true
			c := FlowChange{Identity: a.Identity, Change: Changed, Impact: impact(flowRank(v.Old), flowRank(a.New)), Old: v.Old, New: a.New,
				What: []string{fmt.Sprintf("server %s -> %s (%s)", v.Server, a.Server, strings.Join(a.New.Names, ", "))}}
			if v.Old.Verdict != a.New.Verdict {
				c.What = append(c.What, fmt.Sprintf("verdict %s -> %s", v.Old.Verdict, a.New.Verdict))
			}
			if !slices.Equal(v.Old.States, a.New.States) {
				c.What = append(c.What, fmt.Sprintf("state %s -> %s", strings.Join(v.Old.States, ","), strings.Join(a.New.States, ",")))
			}
			out = append(out, c)
			break
		}
	}
	if len(used) == 0 {
		return
	}
	for i, f := range d.Flows {
		if !used[i] {
			out = append(out, f)
		}
	}
	d.Flows = out
}

func shareName(a, b []string) bool {
	for _, n := range a {
		if slices.Contains(b, n) {
			return true
		}
	}
	return false
}

func changeOrder(c string) int {
	switch c {
	case Appeared:
		return 0
	case Vanished:
		return 1
	}
	return 2
}

// compareChanges orders flow changes as the text shows them: by kind, worse
// first, then as reports order flows (protocol, server, port, client).
func compareChanges(a, b FlowChange) int {
	return cmp.Or(
		cmp.Compare(changeOrder(a.Change), changeOrder(b.Change)),
		cmp.Compare(impactOrder(a.Impact), impactOrder(b.Impact)),
		strings.Compare(a.Proto, b.Proto),
		compareAddr(a.Server, b.Server),
		cmp.Compare(a.ServerPort, b.ServerPort),
		compareAddr(a.Client, b.Client),
		strings.Compare(a.Direction, b.Direction),
	)
}

func compareAddr(a, b string) int {
	pa, errA := netip.ParseAddr(a)
	pb, errB := netip.ParseAddr(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	return pa.Compare(pb)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

package report

import (
	"net/netip"
	"time"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/service"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// Version names the JSON schema. It changes only when a field changes
// meaning or disappears; new fields may be added within a version.
//
// v2 (issue 17): a required rule is `blocked` when any endpoint it tried
// was never reached (v1: only when every flow failed), and `missing` when a
// part of a rule with each was never attempted; rules carry each, scope,
// failed endpoints, parts and unbound groups, flows their unbound groups.
const Version = "wirecheck/report/v2"

// Report is the machine-readable form of a Result; JSON marshals it as the
// schema documents.
type Report struct {
	Schema   string   `json:"schema"`
	Verdict  string   `json:"verdict"`
	Host     Host     `json:"host"`
	Profiles []string `json:"profiles"`
	Phase    string   `json:"phase"`
	Region   string   `json:"region"`
	Strict   bool     `json:"strict"`
	Complete bool     `json:"complete"`
	Inputs   []Input  `json:"inputs"`
	Losses   []Loss   `json:"losses"`
	// Filter is present only when a capture filter (-f) chose the frames.
	Filter   *Filter        `json:"filter,omitempty"`
	Summary  Summary        `json:"summary"`
	Problems []Problem      `json:"problems"`
	Rules    []Rule         `json:"rules"`
	Flows    []Flow         `json:"flows"`
	Other    []OtherTraffic `json:"other"`
	// Tunnels lists the tunnels whose packets were judged as the packets
	// inside them.
	Tunnels []Tunnel `json:"tunnels,omitempty"`
	// Folded is present only when flows beyond --max-flows were folded.
	Folded *Folded `json:"folded,omitempty"`
}

// Folded counts the flows beyond the flow limit, per service. Flows is a
// lower bound when Exact is false; packets and bytes are always exact.
type Folded struct {
	Flows    uint64          `json:"flows"`
	Exact    bool            `json:"exact"`
	Services []FoldedService `json:"services"`
}

type FoldedService struct {
	Proto      string `json:"proto"`
	ServerPort uint16 `json:"server_port"`
	Direction  string `json:"direction"`
	Flows      uint64 `json:"flows"`
	Packets    uint64 `json:"packets"`
	Bytes      uint64 `json:"bytes"`
}

type Host struct {
	Addresses []string `json:"addresses"`
	Inferred  bool     `json:"inferred"`
	// Absent: --host is an endpoint of no flow (present only then).
	Absent bool `json:"absent,omitempty"`
}

type Input struct {
	Name    string  `json:"name"`
	Packets uint64  `json:"packets"`
	Stopped *string `json:"stopped"`
}

// Filter is the capture filter and the frames it left out; Excluded is
// null when they were not counted (a live capture filters in the kernel).
type Filter struct {
	Expression string  `json:"expression"`
	Excluded   *uint64 `json:"excluded"`
}

type Loss struct {
	What     string `json:"what"`
	Count    uint64 `json:"count"`
	Degraded bool   `json:"degraded"`
}

type Summary struct {
	Packets         uint64  `json:"packets"`
	Bytes           uint64  `json:"bytes"`
	Flows           int     `json:"flows"`
	First           *string `json:"first"`
	Last            *string `json:"last"`
	Malformed       uint64  `json:"malformed"`
	OrphanFragments uint64  `json:"orphan_fragments"`
	NamesDropped    uint64  `json:"names_dropped"`
	OneDirection    bool    `json:"one_direction,omitempty"`
}

// Problem is one finding (match.Finding): the problems of flows that share
// kind, rule, service, peer and outcome are one, whose Flow is the first of
// them (the example) and whose Count says how many there are.
type Problem struct {
	Kind  string  `json:"kind"`
	Fails bool    `json:"fails"`
	Rule  *string `json:"rule"`
	Flow  *int    `json:"flow"`
	Count int     `json:"count"`
	Text  string  `json:"text"`
}

type Rule struct {
	ID       string           `json:"id"`
	Profile  string           `json:"profile"`
	Name     string           `json:"name"`
	From     string           `json:"from"`
	To       string           `json:"to"`
	Either   bool             `json:"bidirectional"`
	Overlay  bool             `json:"overlay"`
	Level    string           `json:"level"`
	Required bool             `json:"required"`
	Phase    string           `json:"phase"`
	Proto    string           `json:"proto"`
	Ports    []string         `json:"ports"`
	Each     string           `json:"each"`
	Scope    string           `json:"scope"`
	Status   string           `json:"status"`
	Flows    []int            `json:"flows"`
	Failed   []FailedEndpoint `json:"failed"`
	Parts    []Part           `json:"parts"`
	Unbound  []string         `json:"unbound"`
	Unset    []string         `json:"unset"`
	How      string           `json:"how"`
	Note     string           `json:"note"`
	Sources  []profile.Source `json:"sources"`
}

// FailedEndpoint is a server and port a required rule's flows tried and
// failed to reach; unless Reached, it makes the rule blocked.
type FailedEndpoint struct {
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	Flows   []int  `json:"flows"`
	Reached bool   `json:"reached"`
}

// Part is one port or peer of a rule with each, and its status.
type Part struct {
	Part       string `json:"part"`
	Status     string `json:"status"`
	Unverified bool   `json:"unverified"`
}

type Flow struct {
	Proto        string       `json:"proto"`
	Client       string       `json:"client"`
	ClientPort   uint16       `json:"client_port"`
	Server       string       `json:"server"`
	ServerPort   uint16       `json:"server_port"`
	ClientMethod string       `json:"client_method"`
	Direction    string       `json:"direction"`
	State        string       `json:"state"`
	OneSided     bool         `json:"one_sided,omitempty"`
	Service      string       `json:"service"`
	App          string       `json:"app"`
	Mismatch     bool         `json:"protocol_mismatch"`
	Names        Names        `json:"names"`
	TLS          *TLS         `json:"tls"`
	TLSClient    *TLSClient   `json:"tls_client"`
	Packets      uint64       `json:"packets"`
	Bytes        uint64       `json:"bytes"`
	ClientSent   Counts       `json:"from_client"`
	ServerSent   Counts       `json:"from_server"`
	SYNs         uint32       `json:"syns"`
	Unreachable  *Unreachable `json:"unreachable"`
	First        *string      `json:"first"`
	Last         *string      `json:"last"`
	Rule         *string      `json:"rule"`
	Rules        []string     `json:"rules"`
	Verdict      string       `json:"verdict"`
	Unbound      []string     `json:"unbound"`
	Unverified   []string     `json:"unverified"`
	Why          []string     `json:"why"`
	// Tunnel names the tunnel the flow came out of ("vxlan 10.0.0.9 ->
	// 10.0.0.10"), "" for a flow seen as it was on the wire.
	Tunnel string `json:"tunnel,omitempty"`
	// Related is set when the flow was accepted through a control flow's
	// announcement (FORMAT.md, related flows).
	Related *Related `json:"related"`
	// Problems are the indexes in Report.Problems of the problems the
	// flow belongs to.
	Problems []int `json:"problems"`
}

// Related says which control flow announced a flow, how, and under which
// rule the flow was accepted.
type Related struct {
	How         string `json:"how"`
	Program     uint32 `json:"program"`
	ProgramName string `json:"program_name"`
	Control     string `json:"control"`
	ControlFlow *int   `json:"control_flow"`
	AnnouncedBy string `json:"announced_by"`
	Announced   string `json:"announced"`
	Rule        string `json:"rule"`
	Text        string `json:"text"`
}

type Names struct {
	Client []string `json:"client"`
	Server []string `json:"server"`
	SNI    string   `json:"sni"`
}

// ServerLabels is match.FlowResult.ServerLabels for a report's flow: the
// server's names, else its SNI.
func (n Names) ServerLabels() []string {
	if len(n.Server) == 0 && n.SNI != "" {
		return []string{n.SNI}
	}
	return n.Server
}

type TLS struct {
	Version        string `json:"version"`
	Cipher         string `json:"cipher"`
	ForwardSecrecy bool   `json:"forward_secrecy"`
}

// TLSClient is what the client's ClientHello offered.
type TLSClient struct {
	OffersForwardSecrecy bool `json:"offers_forward_secrecy"`
}

type Counts struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

type Unreachable struct {
	Count   uint32 `json:"count"`
	Message string `json:"message"`
	From    string `json:"from"`
}

// Tunnel is one decapsulated tunnel: its kind and outer ends, and the
// packets it carried.
type Tunnel struct {
	Tunnel  string `json:"tunnel"`
	Packets uint64 `json:"packets"`
}

type OtherTraffic struct {
	Kind    string `json:"kind"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Build converts a Result into its machine-readable form.
func Build(res *match.Result) *Report {
	fs := res.Findings(res.Problems())
	rep := buildHead(res, fs.List)
	rep.Flows = make([]Flow, 0, len(res.Flows)) // one allocation: growing by appending copied 100k flows again and again
	for i := range res.Flows {
		rep.Flows = append(rep.Flows, buildFlow(res, &res.Flows[i], fs, i))
	}
	return rep
}

// buildHead is Build without the flows, which the JSON and text writers
// turn into rows one at a time: a million rows held at once cost gigabytes.
// problems is res.Findings(res.Problems()).List, which a caller that needs
// it too passes rather than have it built twice (a line per flow when every
// flow fails).
func buildHead(res *match.Result, problems []match.Finding) *Report {
	obs := res.Obs
	rep := &Report{
		Schema:   Version,
		Verdict:  res.Verdict.String(),
		Host:     Host{Addresses: []string{}, Inferred: res.HostInferred, Absent: res.HostAbsent},
		Profiles: res.Profiles,
		Phase:    res.Phase,
		Region:   res.Region,
		Strict:   res.Strict,
		Complete: obs.Complete(),
		Inputs:   []Input{},
		Losses:   []Loss{},
		Problems: []Problem{},
		Rules:    []Rule{},
		Flows:    []Flow{},
		Other:    []OtherTraffic{},
		Summary: Summary{
			Packets: obs.Packets, Bytes: obs.Bytes, Flows: len(res.Flows),
			Malformed: obs.Malformed.Total(), OrphanFragments: obs.OrphanFragments,
			OneDirection: res.OneDirection(),
		},
	}
	if obs.Packets > 0 {
		rep.Summary.First, rep.Summary.Last = stamp(obs.First), stamp(obs.Last)
	}
	if obs.Names != nil {
		rep.Summary.NamesDropped = obs.Names.Dropped
	}
	for _, h := range res.Host {
		rep.Host.Addresses = append(rep.Host.Addresses, textout.Prefix(h))
	}
	for _, in := range obs.Inputs {
		ri := Input{Name: in.Name, Packets: in.Packets}
		if in.Stopped != nil {
			s := in.Stopped.Error()
			ri.Stopped = &s
		}
		rep.Inputs = append(rep.Inputs, ri)
	}
	for _, l := range obs.AllLosses() {
		rep.Losses = append(rep.Losses, Loss(l))
	}
	if obs.Filter != "" {
		rep.Filter = &Filter{Expression: obs.Filter}
		if obs.FilterCounted {
			n := obs.FilterExcluded
			rep.Filter.Excluded = &n
		}
	}
	for _, p := range problems {
		rp := Problem{Kind: p.Kind.String(), Fails: p.Fails, Count: p.Flows, Text: findingText(res, &p)}
		if p.Rule != nil {
			id := p.Rule.ID()
			rp.Rule = &id
		}
		if p.Flow >= 0 {
			i := p.Flow
			rp.Flow = &i
		}
		rep.Problems = append(rep.Problems, rp)
	}
	for _, rr := range res.Rules {
		r := rr.Rule
		out := Rule{
			ID: r.ID(), Profile: r.Profile, Name: r.Name, From: r.From, To: r.To, Either: r.Bidirectional, Overlay: r.Overlay,
			Level: rr.Level.String(), Required: rr.Required, Phase: r.Phase,
			Proto: r.Protos.String(), Ports: textout.NonNil(r.PortStrings()), Each: r.Each.String(), Scope: r.Scope.String(),
			Status: rr.Status.String(), Flows: textout.NonNil(rr.Flows),
			Failed: []FailedEndpoint{}, Parts: []Part{}, Unbound: textout.NonNil(rr.Unbound), Unset: textout.NonNil(rr.Unset),
			How: r.How, Note: r.Note, Sources: textout.NonNil(r.Sources),
		}
		for _, fe := range rr.Failed {
			out.Failed = append(out.Failed, FailedEndpoint{Address: fe.Addr.String(), Port: fe.Port, Flows: fe.Flows, Reached: fe.Reached})
		}
		for _, p := range rr.Parts {
			out.Parts = append(out.Parts, Part{Part: p.Label, Status: p.Status.String(), Unverified: p.Unverified})
		}
		rep.Rules = append(rep.Rules, out)
	}
	for _, o := range obs.Other {
		rep.Other = append(rep.Other, OtherTraffic{Kind: o.Name(), Packets: o.Packets, Bytes: o.Bytes})
	}
	for _, tc := range obs.Tunnels {
		rep.Tunnels = append(rep.Tunnels, Tunnel{Tunnel: tc.Name, Packets: tc.Packets})
	}
	if fo := obs.Folded; len(fo.Services) > 0 {
		rep.Folded = &Folded{Flows: fo.Flows, Exact: fo.Exact, Services: []FoldedService{}}
		for _, s := range fo.Services {
			rep.Folded.Services = append(rep.Folded.Services, FoldedService{
				Proto: s.Proto.String(), ServerPort: s.ServerPort, Direction: s.Direction.String(),
				Flows: s.Flows, Packets: s.Packets, Bytes: s.Bytes,
			})
		}
	}
	return rep
}

// buildFlow is flow i of the report, f, with what the result knows of it
// beyond the flow itself: the unbound groups that alone accepted it, the
// tunnel it came out of (classify.Observation.Tunneled), and fs, the
// findings the flow may belong to.
func buildFlow(res *match.Result, f *match.FlowResult, fs *match.Findings, i int) Flow {
	tunneled := res.Obs.Tunneled
	cp, cb := f.Sent(true)
	sp, sb := f.Sent(false)
	out := Flow{
		Proto: f.Proto.String(), Client: f.Client().String(), ClientPort: f.ClientPort,
		Server: f.Server().String(), ServerPort: f.ServerPort, ClientMethod: f.Method.String(),
		Direction: f.Direction.String(), State: f.State.String(), OneSided: f.OneSided(), Service: f.Service(),
		App: f.App.String(), Mismatch: f.Mismatch,
		Names:   Names{Client: textout.NonNil(f.ClientNames()), Server: textout.NonNil(f.ServerNames()), SNI: f.SNI()},
		Packets: cp + sp, Bytes: cb + sb,
		ClientSent: Counts{cp, cb}, ServerSent: Counts{sp, sb},
		SYNs:  f.Flow.SYNs[f.ClientSide],
		Rules: []string{}, Verdict: f.Verdict.String(),
		Unverified: textout.NonNil(f.Unverified()), Why: textout.NonNil(f.Why()),
		Problems: fs.Of([]int{}, i),
		Unbound:  textout.NonNil(res.UnboundOf(f)),
	}
	if cp+sp > 0 {
		out.First, out.Last = stamp(f.Flow.First), stamp(f.Flow.Last)
	}
	if f.Flow.TLSVersion != 0 {
		out.TLS = &TLS{
			Version: service.TLSVersionName(f.Flow.TLSVersion), Cipher: service.CipherName(f.Flow.TLSCipher),
			ForwardSecrecy: service.ForwardSecret(f.Flow.TLSCipher),
		}
	}
	out.Tunnel = tunneled[f.Flow.Key]
	if f.Flow.TLSOffer&flow.TLSHelloSeen != 0 {
		out.TLSClient = &TLSClient{OffersForwardSecrecy: f.Flow.TLSOffer&flow.TLSOffersForwardSecrecy != 0}
	}
	if f.Flow.Unreachable > 0 {
		out.Unreachable = &Unreachable{
			Count:   f.Flow.Unreachable,
			Message: packet.UnreachableName(f.Flow.UnreachableType, f.Flow.UnreachableCode),
			From:    netip.AddrFrom16(f.Flow.UnreachableFrom).Unmap().String(),
		}
	}
	if f.Rule != nil {
		id := f.Rule.ID()
		out.Rule = &id
	}
	for _, r := range f.Rules() {
		out.Rules = append(out.Rules, r.ID())
	}
	if rel := f.Related(); rel != nil {
		out.Related = buildRelated(rel, *out.Rule)
	}
	return out
}

// buildRelated is a related flow's Related; rule is the flow's rule id.
func buildRelated(rel *match.Relation, rule string) *Related {
	k, c := rel.Control, rel.ControlClient
	proto := k.Proto.String()
	out := &Related{
		How: rel.How.String(), Program: rel.Program, Rule: rule, Text: relationText(rel),
		Control: proto + " " + joinHostPort(k.Addr(c).String(), k.Port(c), proto) + " -> " +
			joinHostPort(k.Addr(c.Other()).String(), k.Port(c.Other()), proto),
		AnnouncedBy: joinHostPort(k.Addr(rel.Announcer).String(), k.Port(rel.Announcer), proto),
		Announced:   *stamp(rel.Time),
	}
	if rel.Program != 0 {
		out.ProgramName = profile.RPCProgramName(rel.Program)
	}
	if rel.ControlFlow >= 0 {
		i := rel.ControlFlow
		out.ControlFlow = &i
	}
	return out
}

func stamp(ns int64) *string {
	s := time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
	return &s
}

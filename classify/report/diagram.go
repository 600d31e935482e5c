package report

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// The diagram follows the vendors' port diagrams: the agent host in the
// middle, the peer groups that open flows to it on the left, those it opens
// flows to on the right, unexpected peers wherever there is room, and one
// horizontal arrow per rule (carrying the flows it allowed) and per
// unexpected flow, labelled with protocol and port and coloured by status. Horizontal arrows between columns never
// cross, so the picture stays readable however many rules there are; it
// only grows taller.
const (
	margin      = 16
	nodeW       = 320 // a peer box
	gapW        = 250 // the arrows' lane between a peer and the host
	hostW       = 210
	rowH        = 50 // per arrow: a label above the line and one below
	nodeGap     = 14
	lineH       = 15
	headH       = 26 // a box's title line
	maxLines    = 6  // lines (addresses and their names) in a peer box
	maxLabel    = 36 // characters of an arrow's second label line
	maxNodeText = 40 // characters of a line in a peer box
	// maxUnexpected bounds the unexpected arrows (a port scan makes
	// thousands); the rest are counted in one more box and grouped in the
	// flows table.
	maxUnexpected = 40
	// maxTipFlows bounds the flows an arrow's tooltip and data-flows
	// attribute list, and maxTipLines the addresses a box's tooltip
	// lists: a rule of 100,000 flows made a tooltip of megabytes (the
	// count says how many more; JSON lists them all).
	maxTipFlows = 20
	maxTipLines = 40
)

type diagram struct {
	Width, Height int
	Host          dbox
	Nodes         []dbox
	Arrows        []darrow
}

type dbox struct {
	X, Y, W, H int
	Title      string
	Lines      []dline
	Empty      string // shown in place of Lines when there are none
	Class      string // "host", "group", "peer" (an address), "more"
	Tip        string
	CX, TitleY int // the text's centre and baseline
	LineY      []int
}

// dline is a line of text in a box: an address ("l") or names ("n").
type dline struct{ Text, Class string }

type darrow struct {
	X1, X2, Y    int
	Status       string // the CSS class: seen, blocked, missing, ...
	Start, End   bool   // arrow heads at the line's start and end
	Label, Sub   string
	LabelX       int
	LabelY, SubY int
	Tip          string
	Rule, Flows  string // data attributes for tests and tooling
}

// side of the host a peer is drawn on: peer groups by the rule's
// direction, unexpected peers where the column is shorter.
type side int

const (
	left  side = iota // peers that open flows to the host
	right             // peers the host opens flows to
)

type pendingNode struct {
	side   side
	title  string
	class  string
	tip    string
	lines  []dline           // addresses, each followed by its names
	seen   map[string]bool   // names shown
	addrs  map[[16]byte]bool // addresses seen: a rule of 100,000 flows has as many keys, so plain bytes
	more   int               // addresses seen beyond maxTipLines lines, not in lines
	arrows []pendingArrow
}

type pendingArrow struct {
	status      string
	inbound     bool // drawn from the peer to the host
	both        bool
	label, sub  string
	tip         string
	rule, flows string
}

// arrowStatus is how a rule's arrow is coloured: its status, except that a
// forbidden or discouraged rule that matched shows its level.
func arrowStatus(rr *match.RuleResult) string {
	if rr.Status == match.RuleSeen {
		switch rr.Level {
		case profile.LevelForbidden:
			return "forbidden"
		case profile.LevelDiscouraged:
			return "discouraged"
		}
	}
	return rr.Status.String()
}

func buildDiagram(res *match.Result, rep *Report) *diagram {
	var nodes []*pendingNode
	byKey := map[string]*pendingNode{}
	node := func(s side, key, title, class, tip string) *pendingNode {
		k := fmt.Sprint(s, " ", key)
		if n, ok := byKey[k]; ok {
			return n
		}
		n := &pendingNode{side: s, title: title, class: class, tip: tip, seen: map[string]bool{}, addrs: map[[16]byte]bool{}}
		byKey[k] = n
		nodes = append(nodes, n)
		return n
	}
	addNames := func(n *pendingNode, names []string) {
		if len(n.lines) >= maxTipLines {
			return
		}
		if s := strings.Join(names, ", "); s != "" && !n.seen[s] {
			n.seen[s] = true
			n.lines = append(n.lines, dline{s, "n"})
		}
	}
	addAddr := func(n *pendingNode, f *match.FlowResult) {
		addr, names := f.Server(), f.ServerLabels()
		if n.side == left {
			addr, names = f.Client(), f.ClientNames()
		}
		if k := addr.As16(); !n.addrs[k] {
			n.addrs[k] = true
			if len(n.lines) >= maxTipLines {
				n.more++
				return
			}
			n.lines = append(n.lines, dline{addr.String(), "l"})
			addNames(n, names)
		}
	}

	for i := range res.Rules {
		rr := &res.Rules[i]
		r := rr.Rule
		s, peer := right, r.To
		switch {
		case r.From == profile.PeerHost && r.To == profile.PeerHost:
			peer = "host itself"
		case r.From != profile.PeerHost && r.To != profile.PeerHost:
			peer = r.From + " → " + r.To
		case r.To == profile.PeerHost:
			s, peer = left, r.From
		}
		n := node(s, "group "+peer, peer, "group", "peer group "+peer)
		status := arrowStatus(rr)
		count := ""
		if len(rr.Flows) > 0 {
			count = fmt.Sprintf(" · %d %s", len(rr.Flows), textout.Plural(len(rr.Flows), "flow", "flows"))
		}
		var tip strings.Builder
		fmt.Fprintf(&tip, "%s: %s, %s, %s", r.ID(), ruleWhat(r), ruleLevel(rr), rep.Rules[i].Status)
		if r.How != "" {
			fmt.Fprintf(&tip, "\n%s", r.How)
		}
		for j, fi := range rr.Flows {
			if j < maxTipFlows {
				fmt.Fprintf(&tip, "\n%s", flowLineOf(&res.Flows[fi]))
			}
			addAddr(n, &res.Flows[fi])
		}
		moreFlows(&tip, len(rr.Flows))
		n.arrows = append(n.arrows, pendingArrow{
			status: status, inbound: s == left, both: r.Bidirectional,
			label: ruleLabel(r), sub: r.Name + " · " + status + count, tip: tip.String(),
			rule: r.ID(), flows: joinInts(rr.Flows[:min(len(rr.Flows), maxTipFlows)]),
		})
	}

	type ukey struct {
		dir    match.Direction
		remote netip.Addr
		proto  string
		port   uint16
	}
	uat := map[ukey]int{}
	type ugroup struct {
		f     *match.FlowResult
		flows []int
	}
	var ugroups []ugroup
	for i := range res.Flows {
		f := &res.Flows[i]
		if f.Verdict != match.Unexpected {
			continue
		}
		remote := f.Server()
		if f.Direction == match.Inbound {
			remote = f.Client()
		}
		k := ukey{f.Direction, remote, f.Proto.String(), f.ServerPort}
		if j, ok := uat[k]; ok {
			ugroups[j].flows = append(ugroups[j].flows, i)
			continue
		}
		uat[k] = len(ugroups)
		ugroups = append(ugroups, ugroup{f, []int{i}})
	}
	hidden := 0
	for gi, g := range ugroups {
		if gi >= maxUnexpected {
			hidden += len(g.flows)
			continue
		}
		f := g.f
		s := right
		var n *pendingNode
		switch f.Direction {
		case match.Inbound:
			s = left
			n = node(s, "addr "+f.Client().String(), f.Client().String(), "peer", "")
			addNames(n, f.ClientNames())
		case match.Outbound:
			n = node(s, "addr "+f.Server().String(), f.Server().String(), "peer", "")
			addNames(n, f.ServerLabels())
		default:
			// Neither end or both ends are the host: name both.
			t := Endpoint(f.Client(), f.ClientNames()) + " → " + Endpoint(f.Server(), f.ServerLabels())
			n = node(s, "pair "+t, t, "peer", f.Direction.String()+" flow")
		}
		var tip strings.Builder
		fmt.Fprintf(&tip, "unexpected: %s", flowWhat(f))
		for _, fi := range g.flows[:min(len(g.flows), maxTipFlows)] {
			fmt.Fprintf(&tip, "\n%s", flowLineOf(&res.Flows[fi]))
		}
		moreFlows(&tip, len(g.flows))
		label := ProtoPort(f.Proto, f.ServerPort)
		if f.Service() != "" {
			label += " " + f.Service()
		}
		sub := "unexpected · " + f.State.String()
		if f.Direction != match.Inbound && f.Direction != match.Outbound {
			sub = "unexpected · " + f.Direction.String() + " · " + f.State.String()
		}
		if f.Mismatch {
			sub += " · carries " + f.App.String()
		}
		if len(g.flows) > 1 {
			sub += fmt.Sprintf(" · %d flows", len(g.flows))
		}
		n.arrows = append(n.arrows, pendingArrow{
			status: "unexpected", inbound: f.Direction == match.Inbound,
			label: label, sub: sub, tip: tip.String(), flows: joinInts(g.flows[:min(len(g.flows), maxTipFlows)]),
		})
	}
	if hidden > 0 {
		n := node(right, "more", fmt.Sprintf("%d more unexpected flows", hidden), "more", "")
		n.lines = []dline{{"grouped in the flows table", "n"}}
	}
	return layout(nodes, rep)
}

// moreFlows ends a tooltip that lists the first maxTipFlows of n flows
// with how many it leaves out.
func moreFlows(tip *strings.Builder, n int) {
	if n > maxTipFlows {
		fmt.Fprintf(tip, "\nand %d more flows (the JSON report lists every flow)", n-maxTipFlows)
	}
}

// ruleLabel is the arrow's first line: "TCP/UDP 111", "ICMP", "TCP any".
func ruleLabel(r *profile.Rule) string {
	ports := strings.Join(r.PortStrings(), ",")
	if ports == "" && r.Protos.String() != "icmp" {
		ports = "any"
	}
	return strings.TrimSpace(ProtosName(r.Protos) + " " + ports)
}

func layout(nodes []*pendingNode, rep *Report) *diagram {
	d := &diagram{Width: 2*margin + 2*nodeW + 2*gapW + hostW}
	hostX := margin + nodeW + gapW
	colX := [2]int{margin, hostX + hostW + gapW}
	colY := [2]int{margin, margin}
	for _, n := range nodes {
		if n.class != "group" && colY[1-n.side] < colY[n.side] {
			// Unexpected peers go where there is room: the arrow's head
			// still shows who opened the flow, and a host with many
			// outbound flows does not leave the left column empty.
			n.side = 1 - n.side
		}
		lines := n.lines
		if len(lines) > maxLines {
			more := 0
			for _, l := range lines[maxLines-1:] {
				if l.Class == "l" {
					more++
				}
			}
			lines = append(lines[:maxLines-1:maxLines-1], dline{fmt.Sprintf("+%d more", more+n.more), "n"})
		}
		h := max(len(n.arrows)*rowH, headH+max(len(lines), 1)*lineH+18)
		b := dbox{X: colX[n.side], Y: colY[n.side], W: nodeW, H: h, Title: clip(n.title, maxNodeText-8),
			Class: n.class, Tip: n.title}
		if n.tip != "" {
			b.Tip += "\n" + n.tip
		}
		var tip strings.Builder
		tip.WriteString(b.Tip)
		for _, l := range n.lines {
			tip.WriteString("\n" + l.Text)
		}
		if n.more > 0 {
			fmt.Fprintf(&tip, "\nand %d more addresses", n.more)
		}
		b.Tip = tip.String()
		// The text block is centred in the box.
		textH := headH + len(lines)*lineH
		if len(lines) == 0 && n.class == "group" {
			textH += lineH
			b.Empty = "no flows seen"
		}
		top := b.Y + (h-textH)/2
		b.CX, b.TitleY = b.X+nodeW/2, top+17
		for i, l := range lines {
			b.Lines = append(b.Lines, dline{clip(l.Text, maxNodeText), l.Class})
			b.LineY = append(b.LineY, top+headH+i*lineH+10)
		}
		if b.Empty != "" {
			b.LineY = []int{top + headH + 10}
		}
		for j, a := range n.arrows {
			y := b.Y + h*(2*j+1)/(2*len(n.arrows))
			da := darrow{Y: y, Status: a.status, Label: a.label, Sub: clip(a.sub, maxLabel), Tip: a.tip,
				Rule: a.rule, Flows: a.flows}
			// Lines run from the client to the server; the head is at the server.
			peerEdge, hostEdge := b.X+nodeW, hostX
			if n.side == right {
				peerEdge, hostEdge = b.X, hostX+hostW
			}
			if a.inbound {
				da.X1, da.X2 = peerEdge, hostEdge
			} else {
				da.X1, da.X2 = hostEdge, peerEdge
			}
			da.End, da.Start = true, a.both
			da.LabelX, da.LabelY, da.SubY = (peerEdge+hostEdge)/2, y-7, y+16
			d.Arrows = append(d.Arrows, da)
		}
		d.Nodes = append(d.Nodes, b)
		colY[n.side] += h + nodeGap
	}
	bottom := max(colY[0], colY[1]) - nodeGap
	hostLines := rep.Host.Addresses
	if len(hostLines) == 0 {
		hostLines = []string{"address unknown"}
	}
	hostH := max(bottom-margin, headH+len(hostLines)*lineH+40)
	d.Host = dbox{X: hostX, Y: margin, W: hostW, H: hostH, Title: "agent host", Class: "host"}
	top := margin + (hostH-(headH+len(hostLines)*lineH+lineH))/2
	d.Host.CX, d.Host.TitleY = hostX+hostW/2, top+17
	for i, l := range hostLines {
		d.Host.Lines = append(d.Host.Lines, dline{clip(l, 26), "l"})
		d.Host.LineY = append(d.Host.LineY, top+headH+i*lineH+10)
	}
	if rep.Host.Inferred {
		d.Host.Empty = "(inferred)"
		d.Host.LineY = append(d.Host.LineY, top+headH+len(hostLines)*lineH+10)
	}
	d.Height = max(bottom, margin+hostH) + margin
	return d
}

// clip shortens s to n characters with an ellipsis; the full text is in
// the element's tooltip.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

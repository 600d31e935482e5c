package match

import (
	"net/netip"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/related"
)

// Relation says how a flow no rule matched was accepted: a control flow
// announced its server's address and port, and the rule that allowed the
// control flow allows that relation (profile.Rule.Related).
type Relation struct {
	How     related.How
	Program uint32 // the ONC RPC program the portmapper mapped; 0 otherwise
	// Control is the control flow's key and Announcer its side that sent
	// the announcement; ControlFlow is the control flow's index in
	// Result.Flows (-1 when the flow was judged alone, as by RelateFlow).
	Control     flow.Key
	Announcer   flow.Side
	ControlFlow int
	// ControlClient is the control flow's client, as its judgement found.
	ControlClient flow.Side
	Time          int64 // when the announcement was sent (Unix ns)
}

// Related returns how the flow was accepted as related to a control flow,
// or nil when it was not.
func (f *FlowResult) Related() *Relation { return f.extra().related }

// listener is an announced endpoint, the key to find announcements by.
type listener struct {
	addr  [16]byte
	port  uint16
	proto ipproto.Proto
}

// relate accepts, among res's unexpected flows, those a control flow
// announced under a rule that allows the relation. It runs after every
// flow was judged, since a flow's acceptance depends on its control
// flow's judgement, and before the rules' flows are listed, so a related
// flow counts for its rule.
func (m *Matcher) relate(res *Result, ctx flowContext) {
	anns := res.Obs.Related
	if len(anns) == 0 {
		return
	}
	byListener := make(map[listener][]int, len(anns))
	controls := make(map[flow.Key]int, len(anns))
	for i := range anns {
		a := &anns[i]
		l := listener{a.Addr, a.Port, a.Proto}
		byListener[l] = append(byListener[l], i)
		controls[a.Control] = -1
	}
	for i := range res.Flows {
		if _, ok := controls[res.Flows[i].Flow.Key]; ok {
			controls[res.Flows[i].Flow.Key] = i
		}
	}
	for i := range res.Flows {
		fr := &res.Flows[i]
		if fr.Verdict != Unexpected || !fr.Proto.HasPorts() {
			continue
		}
		if fr.Method != flow.ByHandshake && fr.Method != flow.ByPayload {
			// Without a handshake or a payload that told, ports decided the roles; an
			// announced listener on the client's side says they are
			// the other way round (UDP to a mountd port below 1024).
			l := listener{keyAddr(&fr.Flow.Key, fr.ClientSide), fr.ClientPort, fr.Proto}
			if as := byListener[l]; len(as) > 0 && anyOpener(anns, as, fr.Server()) {
				f, client := fr.Flow, fr.ClientSide.Other()
				*fr = FlowResult{}
				m.judge(fr, f, client, flow.ByAnnouncement, ctx)
				if fr.Verdict != Unexpected {
					continue
				}
			}
		}
		server := fr.ClientSide.Other()
		l := listener{keyAddr(&fr.Flow.Key, server), fr.ServerPort, fr.Proto}
		// The latest announcement that can explain the flow names it:
		// a client asks the portmapper again before each mount.
		as := byListener[l]
		for j := len(as) - 1; j >= 0; j-- {
			a := &anns[as[j]]
			ci := controls[a.Control]
			if ci < 0 || !m.accepts(fr, a, &res.Flows[ci]) {
				continue
			}
			fr.setRelated(a, ci, res.Flows[ci].ClientSide)
			break
		}
	}
}

// anyOpener reports whether one of the announcements at indexes is for
// opener to open.
func anyOpener(anns []related.Announcement, indexes []int, opener netip.Addr) bool {
	for _, i := range indexes {
		if anns[i].Opener() == opener {
			return true
		}
	}
	return false
}

// RelateFlow accepts fr, a flow judged alone (Flow), when one of anns
// announced it under a rule that allows the relation; the control flows
// are judged by their keys alone. It reports whether fr was accepted. A
// live engine's new flows are judged this way, before the next summary
// judges every flow with Evaluate.
func (m *Matcher) RelateFlow(fr *FlowResult, anns []related.Announcement, host []netip.Prefix) bool {
	if fr.Verdict != Unexpected || !fr.Proto.HasPorts() {
		return false
	}
	l := listener{keyAddr(&fr.Flow.Key, fr.ClientSide.Other()), fr.ServerPort, fr.Proto}
	for i := len(anns) - 1; i >= 0; i-- { // the latest first, as relate
		a := &anns[i]
		if (listener{a.Addr, a.Port, a.Proto}) != l {
			continue
		}
		// The control flow's roles follow from the message: the server
		// announces in every reply, the client in PORT and EPRT.
		client := a.Announcer.Other()
		if a.How == related.PORT || a.How == related.EPRT {
			client = a.Announcer
		}
		var ctrl FlowResult
		ctx := flowContext{host: hostSet(host), hints: m.PortHints()}
		m.judge(&ctrl, &flow.Flow{Key: a.Control}, client, flow.ByAnnouncement, ctx)
		if m.accepts(fr, a, &ctrl) {
			fr.setRelated(a, -1, ctrl.ClientSide)
			return true
		}
	}
	return false
}

// accepts reports whether announcement a makes fr related to the control
// flow ctrl, and sets fr's rule and level when it does: fr started after
// the announcement, its client is the control flow's other endpoint (the
// one the announcement was for), and a rule that allowed the control flow
// allows the relation.
func (m *Matcher) accepts(fr *FlowResult, a *related.Announcement, ctrl *FlowResult) bool {
	if fr.Flow.First < a.Time || fr.Client() != a.Opener() {
		return false
	}
	if ctrl.Verdict != Expected && ctrl.Verdict != Discouraged {
		return false
	}
	for _, r := range ctrl.Rules() {
		if r.Overlay || r.Related == nil || !allows(r.Related, a) {
			continue
		}
		c := m.compiledOf(r)
		if c == nil || !c.active || c.level == profile.LevelForbidden {
			continue
		}
		fr.Rule, fr.Level, fr.Verdict = r, c.level, verdictOf(c.level)
		return true
	}
	return false
}

// allows reports whether a rule's relations cover announcement a.
func allows(rel *profile.Related, a *related.Announcement) bool {
	switch a.How.Family() {
	case related.FamilyFTP:
		return rel.FTP
	case related.FamilyRPC:
		return rel.AllowsRPC(a.Program)
	case related.FamilyEPM:
		return rel.EPM
	}
	return false
}

func (m *Matcher) compiledOf(r *profile.Rule) *compiled {
	for _, c := range m.rules {
		if c.r == r {
			return c
		}
	}
	return nil
}

// setRelated records the relation in f's explanations, which become f's
// own: results that share an extra have no relation.
func (f *FlowResult) setRelated(a *related.Announcement, control int, controlClient flow.Side) {
	x := *f.extra()
	x.rules = []*profile.Rule{f.Rule}
	x.why, x.unverified = nil, nil
	x.related = &Relation{How: a.How, Program: a.Program, Control: a.Control, Announcer: a.Announcer, ControlFlow: control, ControlClient: controlClient, Time: a.Time}
	f.x = &x
}

func keyAddr(k *flow.Key, s flow.Side) [16]byte {
	if s == flow.SideA {
		return k.A
	}
	return k.B
}

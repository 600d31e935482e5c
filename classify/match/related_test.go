package match

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/related"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

// relatedSet loads a profile written inline.
func relatedSet(t *testing.T, yaml string) *profile.Set {
	t.Helper()
	set, err := profile.LoadWith(func(string) ([]byte, error) { return []byte(yaml), nil }, "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// observeCorpus classifies a capture of the shared corpus.
func observeCorpus(t *testing.T, name string) *classify.Observation {
	t.Helper()
	file := filepath.Join(testcorpus.Dir(t, "protocols"), name)
	src, err := capture.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	c := classify.New(64)
	if err := c.Read(file, src, nil); err != nil {
		t.Fatal(err)
	}
	return c.Finish()
}

func evaluate(t *testing.T, set *profile.Set, host string, obs *classify.Observation) *Result {
	t.Helper()
	m, err := New(set, Options{Host: []netip.Prefix{netip.MustParsePrefix(host)}})
	if err != nil {
		t.Fatal(err)
	}
	return m.Evaluate(obs)
}

// toPort returns the results of flows to server port port.
func toPort(res *Result, proto ipproto.Proto, port uint16) []*FlowResult {
	var out []*FlowResult
	for i := range res.Flows {
		if f := &res.Flows[i]; f.Proto == proto && f.ServerPort == port {
			out = append(out, f)
		}
	}
	return out
}

const nfsProfile = `version: 1
profile: test/nfs
rules:
  - name: portmapper
    from: any
    to: any
    proto: both
    ports: [111]
    level: required
    %s
  - name: nfs
    from: any
    to: any
    proto: both
    ports: [2049]
    level: required
`

// TestRelatedPortmapperCorpus: in suricata-verify's nfs3-procedure capture
// a client asks rpcbind (GETADDR, version 3) where mountd listens (UDP
// 1048) and mounts there. The mount flows are accepted under the
// portmapper rule only when it allows mountd.
func TestRelatedPortmapperCorpus(t *testing.T) {
	obs := observeCorpus(t, "suricata-verify__nfs3-procedure__input.pcap")
	if len(obs.Related) != 3 {
		t.Fatalf("%d announcements, want the 3 GETADDR replies: %+v", len(obs.Related), obs.Related)
	}
	for _, tc := range []struct {
		related string
		want    bool
	}{
		{"related: [rpc:mountd]", true},
		{"related: [rpc]", true},
		{"related: [\"rpc:100005\", ftp]", true},
		{"related: [rpc:nlockmgr]", false}, // another program
		{"related: [ftp, epm]", false},     // another family
		{"", false},                        // no relation at all
	} {
		t.Run(tc.related, func(t *testing.T) {
			res := evaluate(t, relatedSet(t, strings.Replace(nfsProfile, "%s", tc.related, 1)), "139.25.22.102/32", obs)
			mounts := toPort(res, ipproto.UDP, 1048)
			if len(mounts) != 3 {
				t.Fatalf("%d flows to UDP 1048, want 3", len(mounts))
			}
			for _, f := range mounts {
				rel := f.Related()
				if !tc.want {
					if f.Verdict != Unexpected || rel != nil {
						t.Errorf("%s: verdict %s, relation %+v; want unexpected", WordFlow(f), f.Verdict, rel)
					}
					continue
				}
				if f.Verdict != Expected || f.Rule == nil || f.Rule.Name != "portmapper" || rel == nil {
					t.Fatalf("%s: verdict %s rule %v relation %+v; want expected under portmapper", WordFlow(f), f.Verdict, f.Rule, rel)
				}
				if rel.How != related.GETADDR || rel.Program != 100005 || rel.ControlFlow < 0 {
					t.Errorf("relation %+v, want GETADDR of 100005 with its control flow", rel)
				}
				ctrl := &res.Flows[rel.ControlFlow]
				if ctrl.ServerPort != 111 || ctrl.Client() != f.Client() || ctrl.Flow.Key != rel.Control {
					t.Errorf("control flow %s does not go from %s to port 111", WordFlow(ctrl), f.Client())
				}
				if f.Flow.First < rel.Time {
					t.Errorf("flow began before its announcement")
				}
			}
			for _, rr := range res.Rules {
				if rr.Rule.Name == "portmapper" && tc.want && len(rr.Flows) != 3+3 {
					t.Errorf("portmapper rule lists %d flows, want its 3 and the 3 related", len(rr.Flows))
				}
			}
			if tc.want && res.Verdict != Conformant {
				t.Errorf("verdict %s, problems %v", res.Verdict, res.Problems())
			}
		})
	}
}

// TestRelatedEPMCorpus: in suricata-verify's smb2-07 psexec capture the
// client asks the endpoint mapper on 192.168.10.10:135 for svcctl, which
// answers TCP 49163; the client's connection there went unanswered. It is
// related (and unanswered), not unexpected.
func TestRelatedEPMCorpus(t *testing.T) {
	obs := observeCorpus(t, "suricata-verify__smb2-07__20171220_smb_psexec_add_user.pcap")
	set := relatedSet(t, `version: 1
profile: test/ad
rules:
  - name: epm
    from: any
    to: any
    proto: tcp
    ports: [135]
    level: allowed
    related: [epm]
  - name: smb
    from: any
    to: any
    proto: tcp
    ports: [445]
    level: required
`)
	res := evaluate(t, set, "192.168.10.10/32", obs)
	dyn := toPort(res, ipproto.TCP, 49163)
	if len(dyn) != 1 {
		t.Fatalf("%d flows to TCP 49163, want 1", len(dyn))
	}
	f := dyn[0]
	rel := f.Related()
	if f.Verdict != Expected || f.Rule == nil || f.Rule.Name != "epm" || rel == nil || rel.How != related.EPM {
		t.Fatalf("verdict %s rule %v relation %+v, want expected under epm through an EPM map", f.Verdict, f.Rule, rel)
	}
	if f.State != flow.StateUnanswered {
		t.Errorf("state %s, want unanswered (the capture's SYNs went unanswered)", f.State)
	}
	for i := range res.Flows {
		if g := &res.Flows[i]; g.Related() != nil && g != f {
			t.Errorf("%s is related too; only 49163 was announced", WordFlow(g))
		}
	}
}

// TestRelatedConditions builds an FTP control flow that announced
// 10.0.0.5:50000 at time 100, and flows to it that must not be accepted.
func TestRelatedConditions(t *testing.T) {
	client, server, other := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.9")
	ctrlKey := flow.MakeKey(ipproto.TCP, netip.AddrPortFrom(client, 40000), netip.AddrPortFrom(server, 21))
	mk := func(from netip.Addr, cport uint16, to netip.Addr, port uint16, first int64) flow.Flow {
		k := flow.MakeKey(ipproto.TCP, netip.AddrPortFrom(from, cport), netip.AddrPortFrom(to, port))
		side := flow.SideA
		if k.Addr(flow.SideA) != from || k.Port(flow.SideA) != cport {
			side = flow.SideB
		}
		f := flow.Flow{Key: k, First: first, Last: first + 10, FirstSide: side}
		f.SYNs[side], f.Packets[side], f.Packets[side.Other()] = 1, 3, 2
		f.Flags[side], f.Flags[side.Other()] = 0x02|0x10, 0x02|0x10
		return f
	}
	ctrl := mk(client, 40000, server, 21, 50)
	ctrl.Key = ctrlKey
	ann := related.Announcement{Control: ctrlKey, How: related.PASV, Proto: ipproto.TCP, Port: 50000, Addr: server.As16(), Time: 100}
	ann.Announcer = flow.SideA
	if ctrlKey.Addr(flow.SideA) != server {
		ann.Announcer = flow.SideB
	}
	const yaml = `version: 1
profile: test/ftp
rules:
  - name: ftp
    from: any
    to: host
    proto: tcp
    ports: [21]
    level: %s
    related: [ftp]
`
	for _, tc := range []struct {
		name  string
		level string
		data  flow.Flow
		want  FlowVerdict
	}{
		{"announced", "required", mk(client, 40001, server, 50000, 200), Expected},
		{"under a discouraged rule", "discouraged", mk(client, 40001, server, 50000, 200), Discouraged},
		{"another port", "required", mk(client, 40001, server, 50001, 200), Unexpected},
		{"another client", "required", mk(other, 40001, server, 50000, 200), Unexpected},
		{"before the announcement", "required", mk(client, 40001, server, 50000, 99), Unexpected},
		{"the other way round", "required", mk(server, 40001, client, 50000, 200), Unexpected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := relatedSet(t, strings.Replace(yaml, "%s", tc.level, 1))
			obs := &classify.Observation{Flows: []flow.Flow{ctrl, tc.data}, Related: []related.Announcement{ann}}
			res := evaluate(t, set, "10.0.0.5/32", obs)
			var data *FlowResult
			for i := range res.Flows {
				if res.Flows[i].Flow.Key == tc.data.Key {
					data = &res.Flows[i]
				}
			}
			if data.Verdict != tc.want {
				t.Fatalf("%s: verdict %s, want %s", WordFlow(data), data.Verdict, tc.want)
			}
			if (data.Related() != nil) != (tc.want != Unexpected) {
				t.Errorf("relation %+v with verdict %s", data.Related(), data.Verdict)
			}
			// A flow judged alone (a live engine's new flow) gets the
			// same answer.
			m, _ := New(set, Options{Host: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}})
			alone := m.Flow(&tc.data, m.Host(), nil, nil)
			m.RelateFlow(&alone, obs.Related, m.Host())
			if alone.Verdict != tc.want {
				t.Errorf("judged alone: verdict %s, want %s", alone.Verdict, tc.want)
			}
		})
	}
	// An unused announcement is no problem.
	set := relatedSet(t, strings.Replace(yaml, "%s", "required", 1))
	res := evaluate(t, set, "10.0.0.5/32", &classify.Observation{Flows: []flow.Flow{ctrl}, Related: []related.Announcement{ann}})
	if res.Verdict != Conformant || len(res.Problems()) != 0 {
		t.Errorf("an unused announcement: verdict %s, problems %v", res.Verdict, res.Problems())
	}
}

// TestRelatedDecidesRoles: a UDP flow without a handshake or a payload that
// tells, whose ports put the client on the wrong side (706 is a well-known
// port, 1048 is not), is turned round by the portmapper's announcement of
// 10.0.0.5:1048 and accepted as related.
func TestRelatedDecidesRoles(t *testing.T) {
	client, server := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.5")
	ctrlKey := flow.MakeKey(ipproto.UDP, netip.AddrPortFrom(client, 3295), netip.AddrPortFrom(server, 111))
	ctrl := flow.Flow{Key: ctrlKey, First: 50, Last: 60, Packets: [2]uint64{1, 1}}
	ctrl.FirstSide = flow.SideA // 10.0.0.1 sorts first
	data := flow.Flow{Key: flow.MakeKey(ipproto.UDP, netip.AddrPortFrom(client, 706), netip.AddrPortFrom(server, 1048)), First: 200, Last: 210, Packets: [2]uint64{1, 1}}
	data.FirstSide = flow.SideB // the server's reply came first: the capture missed the call
	ann := related.Announcement{Control: ctrlKey, Announcer: flow.SideB, How: related.GETADDR, Proto: ipproto.UDP, Port: 1048, Addr: server.As16(), Program: 100005, Time: 100}
	set := relatedSet(t, strings.Replace(nfsProfile, "%s", "related: [rpc]", 1))
	for _, anns := range [][]related.Announcement{nil, {ann}} {
		res := evaluate(t, set, "10.0.0.5/32", &classify.Observation{Flows: []flow.Flow{ctrl, data}, Related: anns})
		var f *FlowResult
		for i := range res.Flows {
			if res.Flows[i].Flow.Key == data.Key {
				f = &res.Flows[i]
			}
		}
		if anns == nil {
			if f.Client() != server || f.Verdict != Unexpected {
				t.Fatalf("without the announcement: client %s verdict %s; the test's premise (ports put the client on 10.0.0.5) does not hold", f.Client(), f.Verdict)
			}
			continue
		}
		if f.Client() != client || f.ServerPort != 1048 || f.Method != flow.ByAnnouncement || f.Verdict != Expected || f.Related() == nil {
			t.Errorf("with the announcement: %s, method %s, verdict %s, related %+v; want 10.0.0.1 -> 10.0.0.5:1048 announced, expected", WordFlow(f), f.Method, f.Verdict, f.Related())
		}
	}
}

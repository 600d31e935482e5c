package related

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

var (
	client = netip.MustParseAddr("10.0.0.1")
	server = netip.MustParseAddr("10.0.0.5")
)

// learn runs payload, sent by from, through a fresh or given Learner on the
// flow client:cport <-> server:sport.
func learn(t *testing.T, l *Learner, proto ipproto.Proto, cport, sport uint16, fromServer bool, payload []byte) []Announcement {
	t.Helper()
	k := flow.MakeKey(proto, netip.AddrPortFrom(client, cport), netip.AddrPortFrom(server, sport))
	side := flow.SideA // client is the lower address
	if fromServer {
		side = flow.SideB
	}
	ftp := proto == ipproto.TCP && (cport == 21 || sport == 21)
	return l.Learn(nil, &k, side, 1000, ftp, payload)
}

func TestFTP(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fromServer bool
		payload    string
		how        How
		want       netip.AddrPort
	}{
		{"PASV", true, "227 Entering Passive Mode (10,0,0,5,195,80).\r\n", PASV, netip.MustParseAddrPort("10.0.0.5:50000")},
		{"PASV vsftpd without parentheses", true, "227 Entering Passive Mode 10,0,0,9,4,1\r\n", PASV, netip.MustParseAddrPort("10.0.0.9:1025")},
		{"PASV zero address means the server", true, "227 Entering Passive Mode (0,0,0,0,195,80)\r\n", PASV, netip.MustParseAddrPort("10.0.0.5:50000")},
		{"PASV after another reply", true, "200 Switching to Binary mode.\r\n227 Entering Passive Mode (10,0,0,5,0,21).\r\n", PASV, netip.MustParseAddrPort("10.0.0.5:21")},
		{"EPSV", true, "229 Entering Extended Passive Mode (|||40123|)\r\n", EPSV, netip.MustParseAddrPort("10.0.0.5:40123")},
		{"PORT", false, "PORT 10,0,0,1,156,64\r\n", PORT, netip.MustParseAddrPort("10.0.0.1:40000")},
		{"port lower case", false, "port 10,0,0,1,156,64\r\n", PORT, netip.MustParseAddrPort("10.0.0.1:40000")},
		{"EPRT v4", false, "EPRT |1|10.0.0.1|40001|\r\n", EPRT, netip.MustParseAddrPort("10.0.0.1:40001")},
		{"EPRT v6", false, "EPRT |2|2001:db8::1|40002|\r\n", EPRT, netip.MustParseAddrPort("[2001:db8::1]:40002")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := learn(t, &Learner{}, ipproto.TCP, 40000, 21, tc.fromServer, []byte(tc.payload))
			if len(got) != 1 {
				t.Fatalf("got %d announcements, want 1: %+v", len(got), got)
			}
			a := got[0]
			if a.How != tc.how || a.Listener() != tc.want || a.Proto != ipproto.TCP || a.Time != 1000 {
				t.Errorf("got %s %s %s at %d, want %s %s tcp", a.How, a.Listener(), a.Proto, a.Time, tc.how, tc.want)
			}
			opener := client
			if !tc.fromServer {
				opener = server
			}
			if a.Opener() != opener {
				t.Errorf("opener %s, want %s", a.Opener(), opener)
			}
		})
	}
}

func TestFTPNothing(t *testing.T) {
	for _, p := range []string{
		"227 Entering Passive Mode (10,0,0,5,195)\r\n",   // five numbers
		"227 Entering Passive Mode (10,0,0,5,256,1)\r\n", // a number over 255
		"227 Entering Passive Mode (10,0,0,5,0,0)\r\n",   // port 0
		"229 Entering Extended Passive Mode (|||0|)\r\n", // port 0
		"229 Entering Extended Passive Mode (|||70000|)\r\n",
		"PORT x10,0,0,1,156,64\r\n",
		"EPRT |1|not-an-address|40001|\r\n",
		"EPRT |1|2001:db8::1|40001|\r\n", // family 1 with an IPv6 address
		"EPRT |1||40001|\r\n",
		"226 Transfer complete. 10,0,0,5,195,80\r\n",
		"RETR 10,0,0,5,195,80\r\n",
		"",
	} {
		if got := learn(t, &Learner{}, ipproto.TCP, 40000, 21, true, []byte(p)); len(got) != 0 {
			t.Errorf("%q announced %+v", p, got)
		}
		if got := learn(t, &Learner{}, ipproto.TCP, 40000, 21, false, []byte(p)); len(got) != 0 {
			t.Errorf("%q announced %+v", p, got)
		}
	}
}

// rpcMsg builds an ONC RPC message from 32-bit words and opaque strings.
func rpcMsg(items ...any) []byte {
	var b []byte
	for _, it := range items {
		switch v := it.(type) {
		case int:
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		case string:
			b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
		}
	}
	return b
}

func recordMark(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))|1<<31), b...)
}

func TestPortmapper(t *testing.T) {
	const xid = 0x1234
	// call header: xid, CALL, rpcvers 2, portmapper, vers, proc, AUTH_NONE cred and verf
	call := func(vers, proc int, args ...any) []byte {
		return rpcMsg(append([]any{xid, 0, 2, 100000, vers, proc, 0, "", 0, ""}, args...)...)
	}
	reply := func(results ...any) []byte {
		return rpcMsg(append([]any{xid, 1, 0, 0, "", 0}, results...)...)
	}
	type msg struct {
		fromServer bool
		b          []byte
	}
	for _, tc := range []struct {
		name  string
		proto ipproto.Proto
		msgs  []msg
		want  []Announcement
	}{
		{"GETPORT v2 udp", ipproto.UDP, []msg{{false, call(2, 3, 100005, 3, 17, 0)}, {true, reply(20048)}},
			[]Announcement{{How: GETPORT, Proto: ipproto.UDP, Port: 20048, Program: 100005}}},
		{"GETPORT v2 tcp record marking", ipproto.TCP, []msg{{false, recordMark(call(2, 3, 100021, 4, 6, 0))}, {true, recordMark(reply(34567))}},
			[]Announcement{{How: GETPORT, Proto: ipproto.TCP, Port: 34567, Program: 100021}}},
		{"GETADDR v3", ipproto.UDP, []msg{{false, call(3, 3, 100005, 3, "udp", "", "")}, {true, reply("10.0.0.5.4.24")}},
			[]Announcement{{How: GETADDR, Proto: ipproto.UDP, Port: 1048, Program: 100005}}},
		{"GETADDR v4 unspecified address", ipproto.TCP, []msg{{false, recordMark(call(4, 3, 100024, 1, "tcp", "", ""))}, {true, recordMark(reply("0.0.0.0.3.255"))}},
			[]Announcement{{How: GETADDR, Proto: ipproto.TCP, Port: 1023, Program: 100024}}},
		{"DUMP v2", ipproto.TCP, []msg{{false, recordMark(call(2, 4))}, {true, recordMark(reply(1, 100000, 2, 6, 111, 1, 100005, 3, 17, 20048, 1, 100021, 4, 6, 40000, 0))}},
			[]Announcement{
				{How: DUMP, Proto: ipproto.TCP, Port: 111, Program: 100000},
				{How: DUMP, Proto: ipproto.UDP, Port: 20048, Program: 100005},
				{How: DUMP, Proto: ipproto.TCP, Port: 40000, Program: 100021},
			}},
		{"DUMP v3", ipproto.TCP, []msg{{false, recordMark(call(3, 4))}, {true, recordMark(reply(1, 100024, 1, "udp", "0.0.0.0.200.1", "superuser", 1, 100024, 1, "local", "/run/rpcbind.sock", "superuser", 0))}},
			[]Announcement{{How: DUMP, Proto: ipproto.UDP, Port: 51201, Program: 100024}}},
		{"reply without its call", ipproto.UDP, []msg{{true, reply(20048)}}, nil},
		{"reply to another transaction", ipproto.UDP, []msg{{false, call(2, 3, 100005, 3, 17, 0)}, {true, rpcMsg(0x9999, 1, 0, 0, "", 0, 20048)}}, nil},
		{"failed call", ipproto.UDP, []msg{{false, call(2, 3, 100005, 3, 17, 0)}, {true, rpcMsg(xid, 1, 0, 0, "", 1)}}, nil},
		{"not registered (port 0)", ipproto.UDP, []msg{{false, call(2, 3, 100005, 3, 17, 0)}, {true, reply(0)}}, nil},
		{"other program's call", ipproto.UDP, []msg{{false, rpcMsg(xid, 0, 2, 100003, 3, 3, 0, "", 0, "")}, {true, reply(20048)}}, nil},
		{"truncated reply", ipproto.UDP, []msg{{false, call(2, 3, 100005, 3, 17, 0)}, {true, reply(20048)[:20]}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Learner
			var got []Announcement
			for _, m := range tc.msgs {
				got = append(got, learn(t, &l, tc.proto, 700, 111, m.fromServer, m.b)...)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.How != w.How || g.Proto != w.Proto || g.Port != w.Port || g.Program != w.Program || g.Listener().Addr() != server || g.Opener() != client {
					t.Errorf("announcement %d: got %s %s %s program %d opener %s, want %s %s port %d program %d", i, g.How, g.Proto, g.Listener(), g.Program, g.Opener(), w.How, w.Proto, w.Port, w.Program)
				}
			}
		})
	}
}

func TestEPM(t *testing.T) {
	// The ept_map response of frame 56 of suricata-verify's
	// smb2-07/20171220_smb_psexec_add_user.pcap (TCP payload).
	resp := []byte{
		0x05, 0x00, 0x02, 0x03, 0x10, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
		0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
		0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
		0x4b, 0x00, 0x00, 0x00, 0x4b, 0x00, 0x00, 0x00, 0x05, 0x00, 0x13, 0x00, 0x0d, 0x81, 0xbb, 0x7a,
		0x36, 0x44, 0x98, 0xf1, 0x35, 0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03, 0x02, 0x00, 0x02,
		0x00, 0x00, 0x00, 0x13, 0x00, 0x0d, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8,
		0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x02,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x02, 0x00, 0xc0, 0x0b, 0x01, 0x00, 0x09, 0x04, 0x00, 0xc0,
		0xa8, 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00,
	}
	got := learn(t, &Learner{}, ipproto.TCP, 49283, 135, true, resp)
	if len(got) != 1 || got[0].How != EPM || got[0].Listener() != netip.MustParseAddrPort("192.168.10.10:49163") || got[0].Proto != ipproto.TCP {
		t.Fatalf("got %+v, want EPM 192.168.10.10:49163", got)
	}
	// A request (packet type 0) carries a tower too: it announces nothing.
	req := append([]byte(nil), resp...)
	req[2] = 0
	if got := learn(t, &Learner{}, ipproto.TCP, 49283, 135, true, req); len(got) != 0 {
		t.Errorf("request announced %+v", got)
	}
}

func TestControl(t *testing.T) {
	for _, tc := range []struct {
		proto    ipproto.Proto
		src, dst uint16
		app      [2]uint8
		want     bool
	}{
		{ipproto.TCP, 21, 40000, [2]uint8{}, true},
		{ipproto.TCP, 40000, 21, [2]uint8{}, true},
		{ipproto.TCP, 2121, 40000, [2]uint8{9, 0}, true}, // recognised as FTP (app 9 here)
		{ipproto.UDP, 111, 700, [2]uint8{}, true},
		{ipproto.TCP, 700, 111, [2]uint8{}, true},
		{ipproto.TCP, 135, 49283, [2]uint8{}, true},
		{ipproto.TCP, 49283, 135, [2]uint8{}, false}, // requests announce nothing
		{ipproto.UDP, 135, 49283, [2]uint8{}, false},
		{ipproto.TCP, 443, 40000, [2]uint8{}, false},
		{ipproto.UDP, 53, 40000, [2]uint8{}, false},
	} {
		if got := Control(tc.proto, tc.src, tc.dst, tc.app, 9); got != tc.want {
			t.Errorf("Control(%s, %d, %d, %v) = %v, want %v", tc.proto, tc.src, tc.dst, tc.app, got, tc.want)
		}
	}
}

// TestNoAllocs holds payloads that announce nothing (most control-flow
// payloads) to no allocation.
func TestNoAllocs(t *testing.T) {
	var l Learner
	k := flow.MakeKey(ipproto.TCP, netip.AddrPortFrom(client, 40000), netip.AddrPortFrom(server, 21))
	ku := flow.MakeKey(ipproto.UDP, netip.AddrPortFrom(client, 700), netip.AddrPortFrom(server, 111))
	kt := flow.MakeKey(ipproto.TCP, netip.AddrPortFrom(client, 49283), netip.AddrPortFrom(server, 135))
	ftp := []byte("150 Here comes the directory listing.\r\n226 Directory send OK.\r\n")
	call := rpcMsg(7, 0, 2, 100000, 2, 3, 0, "", 0, "", 100005, 3, 17, 0)
	epm := make([]byte, 200)
	epm[0], epm[2] = 5, 2
	out := make([]Announcement, 0, 4)
	n := testing.AllocsPerRun(100, func() {
		out = l.Learn(out[:0], &k, flow.SideB, 1, true, ftp)
		out = l.Learn(out[:0], &ku, flow.SideA, 1, false, call)
		out = l.Learn(out[:0], &kt, flow.SideB, 1, false, epm)
	})
	if n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func FuzzLearn(f *testing.F) {
	f.Add([]byte("227 Entering Passive Mode (10,0,0,5,195,80).\r\n"), uint16(21), true)
	f.Add([]byte("EPRT |2|2001:db8::1|40002|\r\n"), uint16(21), false)
	f.Add(rpcMsg(1, 1, 0, 0, "", 0, 20048), uint16(111), true)
	f.Add([]byte{5, 0, 2, 3, 16, 0, 0, 0, 1, 0, 7, 2, 0, 1, 1, 1, 0, 9, 4, 0, 1, 2, 3, 4}, uint16(135), true)
	f.Fuzz(func(t *testing.T, b []byte, sport uint16, fromServer bool) {
		var l Learner
		// A call first, so that replies are read too.
		learn(t, &l, ipproto.UDP, 700, sport, false, rpcMsg(1, 0, 2, 100000, 2, 3, 0, "", 0, "", 100005, 3, 17, 0))
		for _, proto := range []ipproto.Proto{ipproto.TCP, ipproto.UDP} {
			for _, a := range learn(t, &l, proto, 700, sport, fromServer, b) {
				if a.Port == 0 || a.How == None || (a.Proto != ipproto.TCP && a.Proto != ipproto.UDP) {
					t.Fatalf("bad announcement %+v", a)
				}
			}
		}
	})
}

package classify

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
)

// TestCorpusAnnouncements reads every corpus capture and lists the related
// flows' announcements learned: exactly the replies of the captures that
// hold a portmapper or endpoint mapper exchange, nothing from the many
// other SMB, DCE-RPC-over-SMB, NFS and damaged captures.
func TestCorpusAnnouncements(t *testing.T) {
	dir, files := corpusFiles(t)
	var got []string
	for _, file := range files {
		obs, _ := readCorpus(file)
		if obs == nil {
			continue
		}
		rel, _ := filepath.Rel(dir, file)
		for _, a := range obs.Related {
			got = append(got, fmt.Sprintf("%s: %s %s %s program %d", rel, a.How, a.Proto, a.Listener(), a.Program))
		}
	}
	// tshark -Y portmap -T fields -e portmap.uaddr lists the same replies:
	// 139.25.22.102.4.24 (mountd) twice and .8.1 (nfs) once in each.
	want := []string{
		"protocols/suricata-verify__issue-3277-nfsv2-filestore__nfsv2.pcap: GETADDR udp 139.25.22.102:1048 program 100005",
		"protocols/suricata-verify__issue-3277-nfsv2-filestore__nfsv2.pcap: GETADDR udp 139.25.22.102:1048 program 100005",
		"protocols/suricata-verify__issue-3277-nfsv2-filestore__nfsv2.pcap: GETADDR udp 139.25.22.102:2049 program 100003",
		"protocols/suricata-verify__nfs3-procedure__input.pcap: GETADDR udp 139.25.22.102:1048 program 100005",
		"protocols/suricata-verify__nfs3-procedure__input.pcap: GETADDR udp 139.25.22.102:1048 program 100005",
		"protocols/suricata-verify__nfs3-procedure__input.pcap: GETADDR udp 139.25.22.102:2049 program 100003",
		"protocols/suricata-verify__smb2-07__20171220_smb_psexec_add_user.pcap: EPM map tcp 192.168.10.10:49163 program 0",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("announcements in the corpus:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestAnnounceNoAllocs: a payload of a control flow that announces nothing
// (most of them) and a payload of any other flow cost no allocation.
func TestAnnounceNoAllocs(t *testing.T) {
	in := NewInspector()
	client, server := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.5")
	ctl := flow.Flow{Key: flow.MakeKey(ipproto.TCP, netip.AddrPortFrom(client, 40000), netip.AddrPortFrom(server, 21))}
	web := flow.Flow{Key: flow.MakeKey(ipproto.TCP, netip.AddrPortFrom(client, 40001), netip.AddrPortFrom(server, 443))}
	tctl := packet.Tuple{Src: server.As16(), Dst: client.As16(), SrcPort: 21, DstPort: 40000, Proto: ipproto.TCP}
	tweb := packet.Tuple{Src: server.As16(), Dst: client.As16(), SrcPort: 443, DstPort: 40001, Proto: ipproto.TCP}
	reply := []byte("226 Transfer complete.\r\n")
	data := []byte("\x17\x03\x03\x00\x10application data")
	side := flow.SideB
	if ctl.Key.Addr(flow.SideA) == server {
		side = flow.SideA
	}
	n := testing.AllocsPerRun(200, func() {
		in.Announce(&ctl, side, &tctl, 1, reply)
		in.Announce(&web, side, &tweb, 1, data)
	})
	if n != 0 || len(in.ann) != 0 {
		t.Errorf("%v allocations per run, %d announcements; want none", n, len(in.ann))
	}
}

package classify

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wirecheck/wirecheck/bpf/testenv"
	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/classify/service"
	"github.com/wirecheck/wirecheck/internal/testcorpus"
)

// The tshark fields TestFlowTruthAgainstTshark reads, in this order. tshark
// dissects each packet by itself (no TCP reassembly, no IP reassembly, raw
// sequence numbers), so that every field belongs to the packet it is on.
var tsharkFields = []string{
	"frame.number", "frame.len", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
	"tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
	"tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "udp.length",
	"icmp.type", "icmpv6.type",
	// What a payload says of its sender.
	"dns.flags.response", "nbns.flags.response", "rpc.msgtyp", "tls.handshake.type", "dtls.handshake.type",
	"http.request", "http.response", "ntp.flags.mode", "ntp.ctrl.flags2.r", "dhcp.type", "dhcpv6.msgtype", "kerberos.msg_type",
	"ldap.protocolOp", "smb.flags.response", "smb2.flags.response", "nbss.type", "dcerpc.pkt_type", "cip.rr",
	"iscsi.opcode", "cotp.type", "smtp.req", "smtp.response", "pop.request", "pop.response",
	"imap.request", "imap.response", "ftp.request", "ftp.response",
}

// tsPacket is one packet of a port flow as tshark dissected it.
type tsPacket struct {
	side     flow.Side
	flags    uint8
	seq, ack uint32
	payload  bool
	role     service.Role
}

// tsFlow is a flow as tshark's packets show it.
type tsFlow struct {
	key     flow.Key
	packets []tsPacket
	quoted  bool // an ICMP destination unreachable quoted it
	firstBy flow.Side
	// bytes sums its packets' frame lengths; inner is set when a packet
	// of it was inside another packet, whose frame length is not its own.
	bytes uint64
	inner bool
}

// accepted lists every difference between wirecheck and tshark on the
// shared corpus, each with the reason it is accepted. A difference not
// listed fails the test, and so does a listed one that no longer occurs.
var accepted = map[string]string{
	"protocols/arkime__nbns.pcap: udp 192.168.239.129:138-192.168.239.255:138: client 192.168.239.129:138 by first-packet, tshark 192.168.239.129:138 by payload":                                    whyNBDS,
	"protocols/nDPI__dos_win98_smb_netbeui.pcap: udp 192.168.239.129:138-192.168.239.255:138: client 192.168.239.129:138 by first-packet, tshark 192.168.239.129:138 by payload":                     whyNBDS,
	"protocols/nDPI__quic-29.pcap: udp 10.9.0.1:36588-10.9.0.2:443: client 10.9.0.1:36588 by well-known-port, tshark 10.9.0.1:36588 by payload":                                                      whyQUIC,
	"protocols/suricata-verify__smb2-07__20171220_smb_psexec_add_user.pcap: udp 192.168.10.10:138-192.168.10.255:138: client 192.168.10.10:138 by first-packet, tshark 192.168.10.10:138 by payload": whyNBDS,
	"protocols/tcpdump__quic_handshake.pcap: udp [::1]:443-[::1]:50606: client [::1]:50606 by well-known-port, tshark [::1]:50606 by payload":                                                        whyQUIC,
	"protocols/zeek__smb3_multichannel.pcap: udp 172.17.0.184:138-172.17.0.255:138: client 172.17.0.184:138 by first-packet, tshark 172.17.0.184:138 by payload":                                     whyNBDS,
	"tcpdump-tests/babel_update_oobr.pcap: tcp 0.1.31.99:52759-6.3.208.255:6379: state established, tshark half-open":                                                                                whySYNACKData,
	"tcpdump-tests/babel_update_oobr.pcap: tcp 0.1.31.99:52759-6.3.218.255:6379: state established, tshark half-open":                                                                                whySYNACKData,
	"tcpdump-tests/dns-badlabel.pcap: udp 156.118.17.235:53-156.118.27.229:500: client 156.118.17.235:53 by first-packet, tshark 156.118.27.229:500 by payload":                                      whyBadLabel,
	"tcpdump-tests/dns-zlip-1.pcap: udp 10.0.0.1:1024-146.84.28.88:53: client 10.0.0.1:1024 by payload, tshark shows neither":                                                                        whyZlip,
	"tcpdump-tests/dns_fwdptr.pcap: udp 156.118.17.235:53-156.118.27.229:500: client 156.118.17.235:53 by first-packet, tshark 156.118.27.229:500 by payload":                                        whyBadLabel,
	"tcpdump-tests/eapon1.pcap: udp 169.254.67.194:138-169.254.255.255:138: client 169.254.67.194:138 by first-packet, tshark 169.254.67.194:138 by payload":                                         whyNBDS,
	"tcpdump-tests/eapon1.pcap: udp 192.168.1.249:138-192.168.1.255:138: client 192.168.1.249:138 by first-packet, tshark 192.168.1.249:138 by payload":                                              whyNBDS,
	"tcpdump-tests/icmp-cksum-oobr-1.pcap: udp 62.220.31.247:1027-62.225.245.115:9109: tshark has 0 packets, wirecheck no flow":                                                                      whyLie,
	"tcpdump-tests/icmp-cksum-oobr-3.pcapng: udp 97.242.24.11:162-97.242.24.11:60377: tshark has 0 packets, wirecheck no flow":                                                                       whyLie,
	"tcpdump-tests/ip-snmp-leftshift-unsigned.pcap: udp 10.0.0.0:162-154.1.214.234:65535: tshark has 1 packets, wirecheck no flow":                                                                   whyLie,
	"tcpdump-tests/kday4.pcap: tcp 204.9.51.132:50079-204.9.54.80:22: wirecheck 1 packets (0 fragments), tshark 2":                                                                                   whyLie,
	"tcpdump-tests/nfs-write-verf-cookie.pcapng: tcp 10.98.159.117:2049-10.207.74.149:993: client 10.207.74.149:993 by payload, tshark shows neither":                                                whyRPCOverTCP,
	"tcpdump-tests/nsh.pcap: udp 10.0.8.3:52229-10.13.13.13:8000: tshark has 1 packets, wirecheck no flow":                                                                                           whyNSH,
	"tcpdump-tests/rtp-seg-fault-1.pcapng: udp 10.1.1.99:53-208.21.2.184:1512: client 208.21.2.184:1512 by well-known-port, tshark 208.21.2.184:1512 by payload":                                     whyRTPDNS,
	"tcpdump-tests/smb_print_trans-oobr2.pcap: udp 192.168.1.249:138-192.168.1.255:138: client 192.168.1.249:138 by first-packet, tshark 192.168.1.249:138 by payload":                               whyNBDS,
	"tcpdump-tests/unaligned-nfs-1.pcap: tcp 128.112.130.130:2049-140.180.226.200:1023: client 140.180.226.200:1023 by payload, tshark shows neither":                                                whyRPCOverTCP,
	"protocols/tcpdump__bigtcp-ipv6.pcap: tcp [2604:1380:4091:ce00::b]:43267-[2604:1380:4091:ce00::d]:41219: wirecheck has 1 packets, tshark no flow":                                                whyBigTCP,
	"tcpdump-tests/bigtcp-ipv6.pcap: tcp [2604:1380:4091:ce00::b]:43267-[2604:1380:4091:ce00::d]:41219: wirecheck has 1 packets, tshark no flow":                                                     whyBigTCP,
	"tcpdump-tests/nsh-over-vxlan-gpe.pcap: udp 192.168.0.1:10000-192.168.0.2:20000: tshark has 1 packets, wirecheck no flow":                                                                        whyTunnel,
	"tcpdump-tests/sflow_expanded.pcap: tcp 52.52.52.52:22-53.53.53.53:52237: tshark has 1 packets, wirecheck no flow":                                                                               whySFlow,
	"protocols/libpcap__geneve.pcap: udp 20.0.0.1:6081-20.0.0.2:50525: tshark has 1 packets, wirecheck no flow":                                                                                      whyTunnelOuter,
	"protocols/libpcap__geneve.pcap: udp 20.0.0.1:6081-20.0.0.2:43443: tshark has 5 packets, wirecheck no flow":                                                                                      whyTunnelOuter,
	"protocols/libpcap__geneve.pcap: udp 20.0.0.1:22540-20.0.0.2:6081: tshark has 3 packets, wirecheck no flow":                                                                                      whyTunnelOuter,
	"protocols/libpcap__geneve.pcap: udp 20.0.0.1:12618-20.0.0.2:6081: tshark has 1 packets, wirecheck no flow":                                                                                      whyTunnelOuter,
	"protocols/libpcap__vxlan.pcap: udp 192.168.202.1:4789-192.168.203.1:45149: tshark has 4 packets, wirecheck no flow":                                                                             whyTunnelOuter,
	"protocols/libpcap__vxlan.pcap: udp 192.168.202.1:42710-192.168.203.1:4789: tshark has 1 packets, wirecheck no flow":                                                                             whyTunnelOuter,
	"protocols/libpcap__vxlan.pcap: udp 192.168.202.1:4789-192.168.203.1:52102: tshark has 1 packets, wirecheck no flow":                                                                             whyTunnelOuter,
	"protocols/libpcap__vxlan.pcap: udp 192.168.202.1:32894-192.168.203.1:4789: tshark has 4 packets, wirecheck no flow":                                                                             whyTunnelOuter,
	"tcpdump-tests/bigtcp-ipv4-vxlan-ipv4.pcap: udp 10.25.132.11:47044-10.25.132.13:4789: tshark has 1 packets, wirecheck no flow":                                                                   whyBigTCP,
	"tcpdump-tests/bigtcp-ipv4-vxlan-ipv4.pcap: tcp 192.168.1.1:36449-192.168.1.2:36875: wirecheck has 1 packets, tshark no flow":                                                                    whyBigTCP,
	"tcpdump-tests/bigtcp-ipv6-geneve-ipv4.pcap: tcp 192.168.1.1:39887-192.168.1.2:43959: wirecheck has 1 packets, tshark no flow":                                                                   whyBigTCP,
	"tcpdump-tests/bigtcp-ipv6-geneve-ipv6.pcap: tcp [fd00::1]:38339-[fd00::2]:43997: wirecheck has 1 packets, tshark no flow":                                                                       whyBigTCP,
	"tcpdump-tests/brcm-tag.pcap: udp 0.0.0.0:68-255.255.255.255:67: wirecheck has 4 packets, tshark no flow":                                                                                        whyBRCM,
	"tcpdump-tests/brcm-tag.pcap: udp 192.168.1.1:67-192.168.1.115:68: wirecheck has 2 packets, tshark no flow":                                                                                      whyBRCM,
	"tcpdump-tests/brcm-tag.pcap: udp 192.168.3.1:67-192.168.3.23:68: wirecheck has 2 packets, tshark no flow":                                                                                       whyBRCM,
	"tcpdump-tests/gso-ipv4-vxlan-ipv4.pcap: udp 10.25.132.11:60345-10.25.132.13:4789: tshark has 1 packets, wirecheck no flow":                                                                      whyTunnelOuter,
	"tcpdump-tests/gso-ipv4-vxlan-ipv6.pcap: udp 10.25.132.11:55123-10.25.132.13:4789: tshark has 1 packets, wirecheck no flow":                                                                      whyTunnelOuter,
	"tcpdump-tests/gso-ipv6-geneve-ipv6.pcap: udp [2604:1380:4091:ce00::b]:60561-[2604:1380:4091:ce00::d]:6081: tshark has 1 packets, wirecheck no flow":                                             whyTunnelOuter,
	"tcpdump-tests/gso-ipv6-vxlan-ipv4.pcap: udp [2604:1380:4091:ce00::b]:35971-[2604:1380:4091:ce00::d]:4789: tshark has 1 packets, wirecheck no flow":                                              whyTunnelOuter,
}

// Why each accepted difference is one.
const (
	whyNBDS = "a NetBIOS datagram to the broadcast address: tshark reads the request flag of the SMB mailslot transaction inside it; " +
		"service.Says reads no role from the datagram service, which has no answers; the client is the same, by first packet"
	whyQUIC = "QUIC Initial packets are encrypted: tshark decrypts them with the version's initial keys and reads the ClientHello; " +
		"wirecheck does not decrypt; the client is the same, by the well-known port 443"
	whyNSH   = "IP behind a Network Service Header (EtherType 0x894f), an encapsulation wirecheck does not decode: counted as other traffic"
	whySFlow = "sFlow samples carry copies of other packets' headers, which tshark dissects as IP layers: this test takes them for " +
		"a tunnel's inner flow, which wirecheck does not see in a sample"
	whyTunnel      = "the inner flow of a VXLAN-GPE tunnel carrying NSH: tshark dissects it, wirecheck counts the outer UDP flow"
	whyTunnelOuter = "a VXLAN or GENEVE tunnel's outer UDP flow: with --tunnels auto wirecheck counts each packet in the inner flow it " +
		"carries (the mirrored host's, issue 18), tshark's tables list the outer conversation too"
	whyBRCM = "a Broadcom switch tag (link type 281/282): wirecheck decodes it (issue 18), tshark dissects the frames no further " +
		"without a decode-as setting"
	whyBigTCP = "a BIG TCP IPv6 frame (payload length 0 without a jumbo option, as tcpdump captures it): tshark stops at IPv6, " +
		"wirecheck trusts the frame's length and counts the flow"
	whyLie = "the IP header declares more bytes than the wire carried (a fuzzed length): wirecheck counts the frame as malformed " +
		"(issue 16), tshark dissects what is there"
	whySYNACKData = "a fuzzed lone SYN-ACK carrying 22 bytes: the counters cannot tell data on a SYN-ACK from data after it, and " +
		"take it for the server having gone on; stacks put data on a SYN-ACK only for TCP Fast Open"
	whyBadLabel = "a DNS response with a malformed label (the file tests that): service.Detect does not take it for DNS, so its QR bit " +
		"is not read, and 53 and 500 are both well-known ports: the first packet decides"
	whyZlip       = "tshark stops at UDP for this packet (the compression-loop test); wirecheck reads the query's QR bit"
	whyRPCOverTCP = "tshark does not dissect ONC RPC over TCP in these mid-stream captures (it shows data); wirecheck reads the RPC call " +
		"behind the record mark: an NFS client on port 993 or 1023"
	whyRTPDNS = "a fuzzed DNS response tshark dissects and service.Detect refuses; the client is the same, by the well-known port 53"
)

// TestFlowTruthAgainstTshark compares every flow's state and client role,
// and the bytes of each flow that is no tunnel's passenger and has no
// fragments, with what tshark's per-packet fields show, over the whole
// shared corpus.
// The corpus is written into one pcapng file (frames as wirecheck's reader
// delivered them, one interface per link type), so that tshark starts once:
// starting it per file took minutes. From tshark's fields the test derives
// each flow independently of wirecheck's counters: the client from the
// first SYN (or SYN-ACK), else from what the first payload each side sent
// says; the state from the packets in order, with the client's ACK checked
// against the server's initial sequence number.
func TestFlowTruthAgainstTshark(t *testing.T) {
	testenv.RequireTools(t, "tshark")
	dir, files := corpusFiles(t)
	merged := filepath.Join(t.TempDir(), "corpus.pcapng")
	obs, frameFile := mergeCorpus(t, files, merged)
	tsFlows := tsharkFlows(t, merged, frameFile)

	hints := flow.PortHints{WellKnown: service.WellKnown}
	var diffs []string
	compared, bytesCompared, notCompared := 0, 0, map[string]int{}
	for fi, file := range files {
		name, _ := filepath.Rel(dir, file)
		ours := map[flow.Key]*flow.Flow{}
		for i := range obs[fi].Flows {
			ours[obs[fi].Flows[i].Key] = &obs[fi].Flows[i]
		}
		for _, tf := range tsFlows[fi] {
			f := ours[tf.key]
			if f == nil {
				notCompared["tshark has a flow wirecheck has not"]++
				diffs = append(diffs, fmt.Sprintf("%s: %s: tshark has %d packets, wirecheck no flow", name, keyString(tf.key), len(tf.packets)))
				continue
			}
			if p, _ := f.Total(); p-uint64(f.Fragments) != uint64(len(tf.packets)) {
				notCompared["packet counts differ"]++
				diffs = append(diffs, fmt.Sprintf("%s: %s: wirecheck %d packets (%d fragments), tshark %d", name, keyString(tf.key), p, f.Fragments, len(tf.packets)))
				continue
			}
			compared++
			// Bytes: a flow's are its frames' lengths on the wire, where
			// no packet of it was a fragment or inside another packet.
			if _, b := f.Total(); !tf.inner && f.Fragments == 0 && obs[fi].Tunneled[f.Key] == "" {
				bytesCompared++
				if b != tf.bytes {
					diffs = append(diffs, fmt.Sprintf("%s: %s: wirecheck %d bytes, tshark %d", name, keyString(tf.key), b, tf.bytes))
				}
			}
			c, m := f.Client(hints)
			st := f.State(c)
			tc, tm, ok := tf.client()
			switch {
			case ok && (tc != c || tm != m):
				diffs = append(diffs, fmt.Sprintf("%s: %s: client %s by %v, tshark %s by %v", name, keyString(tf.key), sideString(f.Key, c), m, sideString(f.Key, tc), tm))
				continue
			case !ok && (m == flow.ByHandshake || m == flow.ByPayload):
				diffs = append(diffs, fmt.Sprintf("%s: %s: client %s by %v, tshark shows neither", name, keyString(tf.key), sideString(f.Key, c), m))
				continue
			}
			if tst := tf.state(c); tst != st {
				diffs = append(diffs, fmt.Sprintf("%s: %s: state %v, tshark %v", name, keyString(tf.key), st, tst))
			}
		}
		for _, f := range obs[fi].Flows {
			if _, ok := tsFlows[fi][f.Key]; !ok && (f.Key.Proto == ipproto.TCP || f.Key.Proto == ipproto.UDP) {
				p, _ := f.Total()
				notCompared["wirecheck has a flow tshark has not"]++
				diffs = append(diffs, fmt.Sprintf("%s: %s: wirecheck has %d packets, tshark no flow", name, keyString(f.Key), p))
			}
		}
	}
	t.Logf("%d flows compared with tshark (%d by bytes too); not compared: %v", compared, bytesCompared, notCompared)
	if bytesCompared < compared/2 {
		t.Errorf("%d of %d flows compared by bytes: the comparison no longer covers the corpus", bytesCompared, compared)
	}
	checkAccepted(t, diffs, accepted)
}

// checkAccepted fails t for each difference from another tool that is not
// in accepted, and for each accepted one that no longer occurs: the list
// stays the exact set of understood differences.
func checkAccepted(t *testing.T, diffs []string, accepted map[string]string) {
	t.Helper()
	seen := map[string]bool{}
	for _, d := range diffs {
		seen[d] = true
		if _, ok := accepted[d]; !ok {
			t.Errorf("not accepted: %q", d)
		}
	}
	for d := range accepted {
		if !seen[d] {
			t.Errorf("accepted difference no longer occurs: %q", d)
		}
	}
}

// mergeCorpus reads every file with wirecheck's reader, classifies its
// frames as Read would, and writes them to merged. It returns each file's
// observation and, per frame of merged, the index of its file.
func mergeCorpus(t *testing.T, files []string, merged string) ([]*Observation, []int) {
	out, err := os.Create(merged)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	bw := bufio.NewWriter(out)
	w, err := pcapgo.NewNgWriterInterface(bw, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, SnapLength: 0}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ifaces := map[layers.LinkType]int{layers.LinkTypeEthernet: 0}
	obs := make([]*Observation, len(files))
	var frameFile []int
	for fi, file := range files {
		c := New(64)
		obs[fi] = c.Observation()
		src, err := capture.Open(file)
		if err != nil {
			continue // not a capture: TestCorpus holds the error
		}
		var fr capture.Frame
		for {
			if err := src.Next(&fr); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Logf("%s: %v", file, err)
				}
				break
			}
			id, ok := ifaces[fr.LinkType]
			if !ok {
				if id, err = w.AddInterface(pcapgo.NgInterface{LinkType: fr.LinkType}); err != nil {
					t.Fatal(err)
				}
				ifaces[fr.LinkType] = id
			}
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, fr.Time), CaptureLength: len(fr.Data), Length: max(fr.WireLen, len(fr.Data)), InterfaceIndex: id}
			if err := w.WritePacket(ci, fr.Data); err != nil {
				t.Fatalf("%s: writing a frame of %d bytes: %v", file, len(fr.Data), err)
			}
			frameFile = append(frameFile, fi)
			c.Add(&fr)
		}
		src.Close()
		obs[fi] = c.Observation()
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return obs, frameFile
}

// tsharkFlows runs tshark once over merged and groups its packets into
// flows per corpus file.
func tsharkFlows(t *testing.T, merged string, frameFile []int) []map[flow.Key]*tsFlow {
	args := []string{"-n", "-r", merged, "-o", "tcp.desegment_tcp_streams:FALSE", "-o", "ip.defragment:FALSE",
		"-o", "ipv6.defragment:FALSE", "-o", "tcp.relative_sequence_numbers:FALSE", "-o", "tcp.analyze_sequence_numbers:FALSE",
		"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command("tshark", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	flows := make([]map[flow.Key]*tsFlow, 0, len(frameFile))
	for range frameFile {
		flows = append(flows, nil)
	}
	idx := map[string]int{}
	for i, f := range tsharkFields {
		idx[f] = i
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		v := strings.Split(sc.Text(), "\t")
		if len(v) != len(tsharkFields) {
			t.Fatalf("tshark line %q: %d fields, want %d", sc.Text(), len(v), len(tsharkFields))
		}
		get := func(f string) string { return v[idx[f]] }
		n, err := strconv.Atoi(get("frame.number"))
		if err != nil || n < 1 || n > len(frameFile) {
			t.Fatalf("tshark frame number %q of %d frames", get("frame.number"), len(frameFile))
		}
		fi := frameFile[n-1]
		if flows[fi] == nil {
			flows[fi] = map[flow.Key]*tsFlow{}
		}
		addTsharkPacket(flows[fi], get)
	}
	if lines != len(frameFile) {
		t.Fatalf("tshark dissected %d frames of %d", lines, len(frameFile))
	}
	return flows
}

// addTsharkPacket adds one dissected packet to the flows of its file: to
// the flow of each IP layer with ports (a tunnel's outer flow and its inner
// one), in the order of frame.protocols; or it marks the flow an ICMP
// destination unreachable quotes. What a payload says is read for the
// innermost flow only: an outer flow's payload is the tunnel's header.
func addTsharkPacket(flows map[flow.Key]*tsFlow, get func(string) string) {
	list := func(f string) []string {
		if v := get(f); v != "" {
			return strings.Split(v, ",")
		}
		return nil
	}
	ip4s, ip4d, ip6s, ip6d := list("ip.src"), list("ip.dst"), list("ipv6.src"), list("ipv6.dst")
	tcpS, tcpD, udpS, udpD := list("tcp.srcport"), list("tcp.dstport"), list("udp.srcport"), list("udp.dstport")
	udpLen := list("udp.length")
	type layer struct {
		src, dst string
		proto    ipproto.Proto
		sp, dp   string
		i        int  // index in the protocol's field lists
		quoted   bool // inside an ICMP unreachable
	}
	var layers []layer
	var src, dst string
	var i4, i6, it, iu int
	icmp, unreach := false, first(get("icmp.type")) == "3" || first(get("icmpv6.type")) == "1"
	for _, pr := range strings.Split(get("frame.protocols"), ":") {
		switch {
		case pr == "ip" && i4 < len(ip4s) && i4 < len(ip4d):
			src, dst = ip4s[i4], ip4d[i4]
			i4++
		case pr == "ipv6" && i6 < len(ip6s) && i6 < len(ip6d):
			src, dst = ip6s[i6], ip6d[i6]
			i6++
		case pr == "icmp" || pr == "icmpv6":
			icmp, src = true, ""
		case pr == "tcp" && src != "" && it < len(tcpS) && it < len(tcpD):
			layers = append(layers, layer{src, dst, ipproto.TCP, tcpS[it], tcpD[it], it, icmp})
			it, src = it+1, ""
		case pr == "udp" && src != "" && iu < len(udpS) && iu < len(udpD):
			layers = append(layers, layer{src, dst, ipproto.UDP, udpS[iu], udpD[iu], iu, icmp})
			iu, src = iu+1, ""
		}
	}
	for li, l := range layers {
		if l.quoted && !unreach {
			continue // time exceeded and the like quote packets too; they tie to no flow
		}
		sa, err1 := netip.ParseAddr(l.src)
		da, err2 := netip.ParseAddr(l.dst)
		spn, err3 := strconv.ParseUint(l.sp, 10, 16)
		dpn, err4 := strconv.ParseUint(l.dp, 10, 16)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			continue
		}
		tu := packet.Tuple{Src: sa.As16(), Dst: da.As16(), SrcPort: uint16(spn), DstPort: uint16(dpn), Proto: l.proto}
		key, side := flow.KeyOf(tu)
		tf := flows[key]
		if tf == nil {
			tf = &tsFlow{key: key, firstBy: side}
			flows[key] = tf
		}
		if l.quoted {
			tf.quoted = true
			continue
		}
		p := tsPacket{side: side}
		if l.proto == ipproto.TCP {
			at := func(f string) string {
				if v := list(f); l.i < len(v) {
					return v[l.i]
				}
				return ""
			}
			fl, _ := strconv.ParseUint(strings.TrimPrefix(at("tcp.flags"), "0x"), 16, 16)
			seq, _ := strconv.ParseUint(at("tcp.seq_raw"), 10, 32)
			ack, _ := strconv.ParseUint(at("tcp.ack_raw"), 10, 32)
			n, _ := strconv.Atoi(at("tcp.len"))
			p.flags, p.seq, p.ack, p.payload = uint8(fl), uint32(seq), uint32(ack), n > 0
		} else if l.i < len(udpLen) {
			n, _ := strconv.Atoi(udpLen[l.i])
			p.payload = n > 8
		}
		if p.payload && li == len(layers)-1 {
			p.role = tsharkRole(get)
		}
		tf.packets = append(tf.packets, p)
		n, _ := strconv.ParseUint(get("frame.len"), 10, 64)
		tf.bytes += n
		tf.inner = tf.inner || li > 0
	}
}

func first(s string) string {
	if i := strings.IndexByte(s, ','); i >= 0 {
		return s[:i]
	}
	return s
}

// tsharkRole is what tshark's dissectors say the packet's payload is: a
// request or a response, for the protocols service.Says reads.
func tsharkRole(get func(string) string) service.Role {
	set := func(f string) bool { v := first(get(f)); return v != "" && v != "0" && v != "False" }
	num := func(f string) (int, bool) {
		v := first(get(f))
		if v == "" {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(v, "0x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(v, "0x")], 64)
		return int(n), err == nil
	}
	rr := func(f string) service.Role { // a response flag
		if get(f) == "" {
			return service.RoleNone
		}
		if set(f) {
			return service.RoleResponse
		}
		return service.RoleRequest
	}
	for _, f := range []string{"dns.flags.response", "nbns.flags.response", "smb.flags.response", "smb2.flags.response", "cip.rr"} {
		if r := rr(f); r != service.RoleNone {
			return r
		}
	}
	if n, ok := num("rpc.msgtyp"); ok {
		return []service.Role{service.RoleRequest, service.RoleResponse}[n&1]
	}
	for _, f := range []string{"tls.handshake.type", "dtls.handshake.type"} {
		switch n, _ := num(f); n {
		case 1:
			return service.RoleRequest
		case 2, 3:
			return service.RoleResponse
		}
	}
	switch {
	case set("http.request"):
		return service.RoleRequest
	case set("http.response"):
		return service.RoleResponse
	}
	if n, ok := num("ntp.flags.mode"); ok {
		switch n {
		case 3:
			return service.RoleRequest
		case 4:
			return service.RoleResponse
		case 6: // a control message: its R bit
			return rr("ntp.ctrl.flags2.r")
		}
	}
	if n, ok := num("dhcp.type"); ok {
		return []service.Role{service.RoleNone, service.RoleRequest, service.RoleResponse, service.RoleNone}[n&3]
	}
	if n, ok := num("dhcpv6.msgtype"); ok {
		switch n {
		case 1, 3, 4, 5, 6, 8, 9, 11:
			return service.RoleRequest
		case 2, 7, 10:
			return service.RoleResponse
		}
	}
	if n, ok := num("kerberos.msg_type"); ok {
		switch n {
		case 10, 12, 14:
			return service.RoleRequest
		case 11, 13, 15, 30:
			return service.RoleResponse
		}
	}
	if n, ok := num("ldap.protocolOp"); ok {
		switch n {
		case 0, 2, 3, 6, 8, 10, 12, 14, 16, 23:
			return service.RoleRequest
		}
		return service.RoleResponse
	}
	if n, ok := num("nbss.type"); ok {
		switch n {
		case 0x81:
			return service.RoleRequest
		case 0x82, 0x83:
			return service.RoleResponse
		}
	}
	if n, ok := num("dcerpc.pkt_type"); ok {
		switch n {
		case 0, 11, 14:
			return service.RoleRequest
		case 2, 3, 12, 13, 15:
			return service.RoleResponse
		}
	}
	if n, ok := num("iscsi.opcode"); ok {
		switch n & 0x3f {
		case 0x03:
			return service.RoleRequest
		case 0x23:
			return service.RoleResponse
		}
	}
	if n, ok := num("cotp.type"); ok {
		switch n {
		case 0x0e:
			return service.RoleRequest
		case 0x0d:
			return service.RoleResponse
		}
	}
	for _, p := range [][2]string{{"smtp.req", "smtp.response"}, {"pop.request", "pop.response"}, {"imap.request", "imap.response"}, {"ftp.request", "ftp.response"}} {
		switch {
		case set(p[0]):
			return service.RoleRequest
		case set(p[1]):
			return service.RoleResponse
		}
	}
	return service.RoleNone
}

// client derives the client from tshark's packets: the sender of the first
// SYN (the first packet if both sides sent one), the receiver of a SYN-ACK,
// else what the first payload each side sent says, with the rules of
// flow.Flow.Client (the sides must not say the same; a multicast or
// broadcast address is never the client).
func (tf *tsFlow) client() (flow.Side, flow.Method, bool) {
	if tf.key.Proto == ipproto.TCP {
		for _, p := range tf.packets {
			if p.flags&(packet.SYN|packet.ACK) == packet.SYN {
				return p.side, flow.ByHandshake, true
			}
		}
		for _, p := range tf.packets {
			if p.flags&(packet.SYN|packet.ACK) == packet.SYN|packet.ACK {
				return p.side.Other(), flow.ByHandshake, true
			}
		}
	}
	var says [2]service.Role
	var spoke [2]bool
	for _, p := range tf.packets {
		if p.payload && !spoke[p.side] {
			spoke[p.side], says[p.side] = true, p.role
		}
	}
	a, b := says[flow.SideA], says[flow.SideB]
	var c flow.Side
	switch {
	case a == service.RoleRequest && b != service.RoleRequest, b == service.RoleResponse && a != service.RoleResponse:
		c = flow.SideA
	case b == service.RoleRequest && a != service.RoleRequest, a == service.RoleResponse && b != service.RoleResponse:
		c = flow.SideB
	default:
		return 0, 0, false
	}
	if addr := tf.key.Addr(c); addr.IsMulticast() || addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return 0, 0, false
	}
	return c, flow.ByPayload, true
}

// state derives the state from tshark's packets in order, given the
// client, by the table of classify/report/SCHEMA.md, but from packets
// rather than counters: the client's acknowledgement of the server must
// cover the server's initial sequence number when the SYN-ACK is in the
// capture.
func (tf *tsFlow) state(client flow.Side) flow.State {
	server := client.Other()
	var n [2]int
	var flags [2]uint8
	for _, p := range tf.packets {
		n[p.side]++
		flags[p.side] |= p.flags
	}
	if tf.key.Proto != ipproto.TCP {
		switch {
		case n[client] > 0 && n[server] > 0:
			return flow.StateAnswered
		case n[server] == 0 && tf.quoted:
			return flow.StateUnreachable
		}
		return flow.StateOneWay
	}
	var opened, synAck, acked, wentOn, serverRST bool
	var isn uint32
	for _, p := range tf.packets {
		switch {
		case p.side == client && p.flags&(packet.SYN|packet.ACK) == packet.SYN:
			opened = true
		case p.side == server && p.flags&(packet.SYN|packet.ACK) == packet.SYN|packet.ACK:
			synAck, isn = true, p.seq
		case p.side == client && p.flags&packet.ACK != 0 && p.flags&packet.SYN == 0:
			// With the SYN-ACK seen, the ACK must cover its ISN; without
			// it, any ACK but an RST's alone after the SYN counts.
			if synAck {
				acked = acked || p.ack-isn-1 < 1<<31
			} else {
				acked = acked || p.flags&packet.RST == 0 || p.payload || p.flags&packet.FIN != 0
			}
		case p.side == server && p.flags&packet.SYN == 0 && (p.payload || p.flags&packet.FIN != 0):
			wentOn = true
		}
		if p.side == server && p.flags&packet.RST != 0 {
			serverRST = true
		}
	}
	ended := func(fl uint8) flow.State {
		switch {
		case fl&packet.RST != 0 && !(flags[0]&packet.FIN != 0 && flags[1]&packet.FIN != 0):
			return flow.StateReset
		case fl&packet.FIN != 0:
			return flow.StateClosed
		}
		return flow.StateEstablished
	}
	switch {
	case n[server] == 0:
		switch {
		case opened && acked:
			return ended(flags[client])
		case tf.quoted:
			return flow.StateUnreachable
		case opened:
			return flow.StateUnanswered
		}
		return flow.StateOneWay
	case n[client] == 0:
		switch {
		case synAck && wentOn:
			return ended(flags[server])
		case synAck:
			return flow.StateHalfOpen
		}
		return flow.StateOneWay
	case opened && !synAck && serverRST:
		return flow.StateRefused
	case synAck && !acked && !wentOn:
		return flow.StateHalfOpen
	}
	return ended(flags[0] | flags[1])
}

func keyString(k flow.Key) string {
	return fmt.Sprintf("%v %s-%s", k.Proto, netip.AddrPortFrom(k.Addr(flow.SideA), k.APort), netip.AddrPortFrom(k.Addr(flow.SideB), k.BPort))
}

func sideString(k flow.Key, s flow.Side) string {
	return netip.AddrPortFrom(k.Addr(s), k.Port(s)).String()
}

// TestFlowTruthCorpusCases holds the cases of issue 16 that the shared
// corpus shows, each on its capture.
func TestFlowTruthCorpusCases(t *testing.T) {
	dir := testcorpus.Dir(t)
	hints := flow.PortHints{WellKnown: service.WellKnown}
	type want struct {
		file, a, b string // the flow's two ends, addr:port
		client     string
		method     flow.Method
		state      flow.State
		oneSided   bool
		fragments  uint32
	}
	tests := []struct {
		why string
		want
	}{
		{"one-direction capture: the client's ACKs prove the server answered, not unanswered",
			want{"protocols/nDPI__tls_1.2_unidirectional_client.pcapng", "192.168.12.156:43854", "216.58.209.42:443", "192.168.12.156:43854", flow.ByHandshake, flow.StateReset, true, 0}},
		{"one-direction capture of telnet behind MPLS",
			want{"protocols/zeek__mixed-vlan-mpls.pcap", "10.1.2.1:11001", "10.34.0.1:23", "10.1.2.1:11001", flow.ByHandshake, flow.StateClosed, true, 0}},
		{"a lone DNS response: one-way, and the payload names the asker the client",
			want{"protocols/PcapPlusPlus__null_loopback.pcap", "10.0.0.1:58125", "10.0.0.138:53", "10.0.0.1:58125", flow.ByPayload, flow.StateOneWay, false, 0}},
		{"a lone mid-stream segment from the server side is one-way",
			want{"tcpdump-tests/bgp-encap.pcap", "10.0.14.1:63656", "10.0.14.4:179", "10.0.14.1:63656", flow.ByWellKnownPort, flow.StateOneWay, false, 0}},
		{"a lone mid-stream RPC reply is one-way, and names the other side the client",
			want{"tcpdump-tests/unaligned-nfs-1.pcap", "140.180.226.200:1023", "128.112.130.130:2049", "140.180.226.200:1023", flow.ByPayload, flow.StateOneWay, false, 0}},
		{"an NFS MOUNT call from reserved port 706 to 1048: the RPC call names the client",
			want{"protocols/suricata-verify__nfs3-procedure__input.pcap", "139.25.22.2:706", "139.25.22.102:1048", "139.25.22.2:706", flow.ByPayload, flow.StateAnswered, false, 0}},
		{"an NFS client on port 993 is no imaps server",
			want{"tcpdump-tests/nfs-write-verf-cookie.pcapng", "10.207.74.149:993", "10.98.159.117:2049", "10.207.74.149:993", flow.ByPayload, flow.StateEstablished, false, 0}},
		{"DHCP replies 67 to 68: the replier is the server",
			want{"protocols/google-testrun__conn__captures__monitor.pcap", "10.10.10.2:67", "10.10.10.15:68", "10.10.10.15:68", flow.ByPayload, flow.StateAnswered, false, 0}},
		{"DHCPv6: the 546 side asks",
			want{"tcpdump-tests/dhcpv6-domain-list.pcap", "[fe80::20c:29ff:fe38:f368]:546", "[fe80::20c:29ff:fe9b:a15d]:547", "[fe80::20c:29ff:fe38:f368]:546", flow.ByPayload, flow.StateOneWay, false, 0}},
		{"a fragmented DNS answer over IPv6: the later fragment is in the flow",
			want{"protocols/nDPI__dns_fragmented.pcap", "[2a00:1450:4013:c03::10a]:46433", "[2001:470:765b::a25:53]:53", "[2a00:1450:4013:c03::10a]:46433", flow.ByPayload, flow.StateAnswered, false, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.why, func(t *testing.T) {
			obs, err := readCorpus(filepath.Join(dir, tc.file))
			if obs == nil {
				t.Fatal(err)
			}
			a, b := netip.MustParseAddrPort(tc.a), netip.MustParseAddrPort(tc.b)
			var f *flow.Flow
			for i := range obs.Flows {
				k := obs.Flows[i].Key
				if k.Proto.HasPorts() && (k == flow.MakeKey(k.Proto, a, b)) {
					f = &obs.Flows[i]
				}
			}
			if f == nil {
				t.Fatalf("no flow %s - %s in %s", a, b, tc.file)
			}
			cs, m := f.Client(hints)
			got := want{tc.file, tc.a, tc.b, netip.AddrPortFrom(f.Key.Addr(cs), f.Key.Port(cs)).String(), m, f.State(cs), f.OneSided(cs), f.Fragments}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}

	// A header that lies: an IPv4 header claiming 34,817 bytes in a
	// 97-byte frame is malformed, not a flow.
	obs, _ := readCorpus(filepath.Join(dir, "tcpdump-tests/ip-snmp-leftshift-unsigned.pcap"))
	if obs == nil || obs.Malformed.Malformed != 1 || len(obs.Flows) != 0 {
		t.Errorf("ip-snmp-leftshift-unsigned.pcap: %+v", obs)
	}
}

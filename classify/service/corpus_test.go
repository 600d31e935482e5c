package service

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// flowKey labels one side's first payload: the transport, the server port
// (taken as the lower of the two) with the direction, and what Detect said.
func flowKey(s segment, a App) string {
	if s.srcPort < s.dstPort {
		return fmt.Sprintf("%s %d-> %s", s.proto, s.srcPort, a)
	}
	return fmt.Sprintf("%s ->%d %s", s.proto, s.dstPort, a)
}

// TestCorpusDetect runs Detect on the first payload of every flow side in
// real captures. The expected labels were checked against tshark's dissection
// of the same frames (frame.protocols); where tshark shows only "data" or
// nothing, the frame is the first segment of a PDU it reassembles later, or
// a protocol on a port it does not associate with it (SSH on 8000).
// Unknowns are protocols Detect does not cover (DHCPv6, DCE/RPC) or
// payloads that do not start a message (a one-byte "e" typed into SMTP, an
// HTML body of a connection the capture joined late).
func TestCorpusDetect(t *testing.T) {
	corpusDir(t) // skip or fail once, before the subtests
	tests := []struct {
		file string
		want map[string]int
	}{
		{"google-testrun__tls__captures__tls.pcap", map[string]int{"tcp ->443 tls": 4, "tcp 443-> tls": 4, "udp ->67 unknown": 1}},
		{"nDPI__tls_esni_sni_both.pcap", map[string]int{"tcp ->443 tls": 2, "tcp 443-> tls": 2}},
		{"zeek__tls13-ech.pcap", map[string]int{"tcp ->443 tls": 3, "tcp 443-> tls": 3}},
		{"nDPI__dns_dot.pcap", map[string]int{"tcp ->853 tls": 1, "tcp 853-> tls": 1}},
		{"nDPI__ssh.pcap", map[string]int{"tcp ->22 ssh": 1, "tcp 22-> ssh": 1, "tcp ->8000 ssh": 1, "tcp 8000-> ssh": 1}},
		{"suricata-verify__smb2-01__smb2-peter.pcap", map[string]int{"tcp ->445 smb": 1, "tcp 445-> smb": 1}},
		{"suricata-verify__smb3-01__input.pcap", map[string]int{"tcp ->445 smb": 1, "tcp 445-> smb": 1}},
		{"nDPI__smbv1.pcap", map[string]int{"tcp ->445 smb": 1, "tcp 445-> smb": 1}},
		{"arkime__smb-smb1-ascii.pcap", map[string]int{"tcp ->445 smb": 1, "tcp 445-> smb": 1}},
		{"suricata-verify__smb2-07__20171220_smb_psexec_add_user.pcap", map[string]int{"tcp ->135 unknown": 1, "tcp 135-> unknown": 1, "tcp ->139 smb": 2, "tcp 139-> smb": 2, "tcp ->445 smb": 2, "tcp 445-> smb": 2, "udp ->53 dns": 5, "udp 53-> dns": 4, "udp ->137 netbios": 2, "udp ->138 netbios": 1, "udp 546-> unknown": 3, "udp ->5355 dns": 4}},
		{"suricata-verify__nfs3-procedure__input.pcap", map[string]int{"tcp ->880 rpc": 1, "tcp 880-> rpc": 1, "udp ->111 rpc": 3, "udp 111-> rpc": 3, "udp ->706 rpc": 1, "udp 706-> rpc": 1, "udp ->722 rpc": 1, "udp 722-> rpc": 1, "udp ->1022 rpc": 1, "udp 1022-> rpc": 1, "udp ->1048 rpc": 1, "udp 1048-> rpc": 1, "udp ->2049 rpc": 1, "udp 2049-> rpc": 1}},
		{"suricata-verify__issue-3277-nfsv2-filestore__nfsv2.pcap", map[string]int{"udp ->111 rpc": 3, "udp 111-> rpc": 3, "udp ->671 rpc": 1, "udp 671-> rpc": 1, "udp ->686 rpc": 1, "udp 686-> rpc": 1, "udp ->1023 rpc": 1, "udp 1023-> rpc": 1, "udp ->2049 rpc": 1, "udp 2049-> rpc": 1}},
		{"tcpdump__tests__ntp.pcap", map[string]int{"udp ->123 ntp": 5, "udp 123-> ntp": 3}},
		{"tcpdump__ntp-control.pcap", map[string]int{"udp ->123 ntp": 1, "udp 123-> ntp": 1}},
		{"nDPI__NTPv4.pcap", map[string]int{"udp ->123 ntp": 1}},
		{"tcpdump__dns_udp.pcap", map[string]int{"udp ->53 dns": 1, "udp 53-> dns": 1}},
		{"nDPI__dns_fragmented.pcap", map[string]int{"tcp ->53 dns": 2, "tcp 53-> dns": 2, "udp ->53 dns": 19, "udp 53-> dns": 12}},
		{"zeek__mdns.pcap", map[string]int{"udp ->5353 dns": 2}},
		{"PcapPlusPlus__DnsPackets.pcap", map[string]int{"udp ->53 dns": 210, "udp 53-> dns": 210, "udp ->5353 dns": 3, "udp ->5355 dns": 6}},
		{"arkime__krb5-tcp.pcap", map[string]int{"tcp ->88 kerberos": 1}},
		{"suricata-verify__krb5-krb5_msg_type__input.pcap", map[string]int{"tcp ->88 kerberos": 5, "tcp 88-> kerberos": 5}},
		{"suricata-verify__krb5-request-frag-log__krb5-frag.pcap", map[string]int{"tcp ->88 kerberos": 3, "tcp 88-> kerberos": 3, "tcp ->389 ldap": 1, "tcp 389-> ldap": 1}},
		{"suricata-verify__ldap-udp__cldap.pcap", map[string]int{"udp ->389 ldap": 1, "udp 389-> ldap": 1}},
		{"zeek__simpleauth.pcap", map[string]int{"tcp ->3268 ldap": 1, "tcp 3268-> ldap": 1}},
		{"zeek__aduser1.pcap", map[string]int{"tcp ->88 kerberos": 2, "tcp 88-> kerberos": 2, "tcp ->389 ldap": 1, "tcp 389-> ldap": 1, "tcp ->445 smb": 1, "tcp 445-> smb": 1}},
		{"suricata-verify__http-ipv6__input.pcap", map[string]int{"tcp ->8000 http": 1, "tcp 8000-> http": 1}},
		{"arkime__http2-nghttp2.pcap", map[string]int{"tcp ->80 http": 1, "tcp 80-> http": 1}},
		{"arkime__nbns.pcap", map[string]int{"udp ->137 netbios": 2, "udp ->138 netbios": 1}},
		{"tcpdump__quic_handshake.pcap", map[string]int{"udp ->443 quic": 1, "udp 443-> quic": 1}},
		{"zeek__dtls1_2.pcap", map[string]int{"udp ->4400 tls": 1, "udp 4400-> tls": 1}},
		{"zeek__mixed-vlan-mpls.pcap", map[string]int{"tcp ->23 telnet": 1, "tcp ->80 http": 2, "tcp 80-> http": 1, "tcp 80-> unknown": 1}},
		{"zeek__communityid__ipv6.pcap", map[string]int{"tcp ->25 unknown": 1, "tcp 25-> smtp": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := map[string]int{}
			for _, s := range firstPayloads(t, tt.file) {
				got[flowKey(s, Detect(s.proto, s.srcPort, s.dstPort, s.payload))]++
			}
			for k, n := range tt.want {
				if got[k] != n {
					t.Errorf("%q: %d first payloads, want %d", k, got[k], n)
				}
			}
			for k, n := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected %q: %d first payloads", k, n)
				}
			}
		})
	}
}

// segmentAt returns the segment of frame (1-based) in file.
func segmentAt(t *testing.T, file string, frame int) segment {
	t.Helper()
	for _, s := range readSegments(t, file) {
		if s.frame == frame {
			return s
		}
	}
	t.Fatalf("%s: frame %d has no TCP or UDP payload", file, frame)
	return segment{}
}

// TestCorpusTLS parses ClientHellos and ServerHellos in real captures. The
// expected values were checked against tshark:
//
//	tshark -r FILE -Y tls.handshake.type==1 -T fields -e frame.number -e tls.handshake.extensions_server_name
//	tshark -r FILE -Y tls.handshake.type==2 -T fields -e frame.number -e tls.handshake.version \
//	    -e tls.handshake.extensions.supported_version -e tls.handshake.ciphersuite
func TestCorpusTLS(t *testing.T) {
	corpusDir(t) // skip or fail once, before the subtests
	hellos := []struct {
		file  string
		frame int
		sni   string // "" when the ClientHello has none
	}{
		{"nDPI__tls_esni_sni_both.pcap", 4, "these-are-not-the-droids-youre-looking-for.com"},
		{"nDPI__tls_esni_sni_both.pcap", 24, "you-think-thats-normal-tls-traffic-youre-seeing.com"},
		{"nDPI__tls_verylong_certificate.pcap", 4, "feodotracker.abuse.ch"},
		{"nDPI__tls_1.2_unidirectional_client.pcapng", 3, "notifications-pa.googleapis.com"},
		{"suricata-verify__tls-alpn-log-detect-02__input.pcap", 4, "p130-contacts.icloud.com"},
		{"zeek__tls-conn-with-extensions.pcap", 4, "ssl.gstatic.com"},
		{"zeek__tls13-ech.pcap", 7, "cloudflare-ech.com"}, // the outer, public name
		{"zeek__tls13-ech.pcap", 39, "cloudflare-ech.com"},
		{"google-testrun__tls__captures__tls.pcap", 538, ""},
		{"google-testrun__tls__captures__tls.pcap", 560, ""},
		{"nDPI__dns_dot.pcap", 4, ""},
		{"suricata-verify__ldap-starttls__input.pcap", 8, ""}, // after StartTLS
	}
	for _, h := range hellos {
		t.Run(fmt.Sprintf("%s/%d", h.file, h.frame), func(t *testing.T) {
			s := segmentAt(t, h.file, h.frame)
			sni, ok := ParseClientHello(s.payload)
			if ok != (h.sni != "") || sni != h.sni {
				t.Errorf("ParseClientHello = %q, %v; tshark shows %q", sni, ok, h.sni)
			}
		})
	}

	servers := []struct {
		file            string
		frame           int
		version, cipher uint16
	}{
		{"google-testrun__tls__captures__tls.pcap", 540, 0x0303, 0xc030},
		{"google-testrun__tls__captures__tls.pcap", 553, 0x0303, 0xc030},
		{"google-testrun__tls__captures__tls.pcap", 562, 0x0304, 0x1302},
		{"google-testrun__tls__captures__tls.pcap", 577, 0x0303, 0xc030},
		{"nDPI__tls_esni_sni_both.pcap", 6, 0x0304, 0x1303},
		{"nDPI__tls_verylong_certificate.pcap", 6, 0x0303, 0xc02f},
		{"suricata-verify__tls-alpn-log-detect-02__input.pcap", 6, 0x0303, 0xc02c},
		{"zeek__tls-conn-with-extensions.pcap", 6, 0x0301, 0xc011},
		{"zeek__tls13-ech.pcap", 9, 0x0304, 0x1301},
		{"zeek__tls13-ech.pcap", 41, 0x0304, 0x1301},
		{"suricata-verify__ldap-starttls__input.pcap", 9, 0x0303, 0x002f},
		{"nDPI__dns_dot.pcap", 6, 0x0303, 0xcca8},
	}
	for _, h := range servers {
		t.Run(fmt.Sprintf("%s/%d", h.file, h.frame), func(t *testing.T) {
			s := segmentAt(t, h.file, h.frame)
			v, c, ok := ParseServerHello(s.payload)
			if !ok || v != h.version || c != h.cipher {
				t.Errorf("ParseServerHello = %#04x %#04x %v; tshark shows %#04x %#04x", v, c, ok, h.version, h.cipher)
			}
		})
	}
}

type dnsCall struct {
	name string
	addr netip.Addr
}

// TestCorpusDNS reads DNS responses from real captures. The expected records
// were checked against tshark -O dns for each frame (question, answers with
// their CNAME chain, additional records).
func TestCorpusDNS(t *testing.T) {
	corpusDir(t) // skip or fail once, before the subtests
	a := netip.MustParseAddr
	tests := []struct {
		file  string
		frame int
		want  []dnsCall // nil: no call; error must be nil unless wantErr
		err   bool
	}{
		// www.apple.com CNAME www-apple-com.v.aaplimg.com CNAME
		// www.apple.com.edgekey.net CNAME e6858.dsce9.akamaiedge.net A 23.194.101.24
		{"zeek__pcapng-multi-interface.pcapng", 2, []dnsCall{
			{"www.apple.com", a("23.194.101.24")},
			{"e6858.dsce9.akamaiedge.net", a("23.194.101.24")},
		}, false},
		{"zeek__pcapng-multi-interface.pcapng", 6, []dnsCall{
			{"google.com", a("2607:f8b0:4023:2007::66")},
			{"google.com", a("2607:f8b0:4023:2007::8b")},
			{"google.com", a("2607:f8b0:4023:2007::71")},
			{"google.com", a("2607:f8b0:4023:2007::8a")},
		}, false},
		// Two answers, then A/AAAA glue for the name servers.
		{"tcpdump__dns_udp.pcap", 2, []dnsCall{
			{"www.tcpdump.org", a("192.139.46.66")},
			{"www.tcpdump.org", a("198.199.88.104")},
			{"nic.sandelman.ca", a("209.87.249.18")},
			{"nic.sandelman.ca", a("2607:f0b0:f::babe:f00d")},
			{"sns.cooperix.net", a("97.107.133.15")},
			{"sns.cooperix.net", a("2600:3c03::f03c:91ff:fe96:e8ef")},
		}, false},
		// mDNS announcement: no question, owner names.
		{"zeek__mdns.pcap", 4, []dnsCall{
			{"johanna-qemu-virtual-machine.local", a("fd52:429e:c03c:8235:883c:d6ff:fee1:4dc4")},
			{"johanna-qemu-virtual-machine.local", a("fd52:429e:c03c:8235:5968:5bc6:1563:f82f")},
			{"johanna-qemu-virtual-machine.local", a("10.0.2.7")},
		}, false},
		{"nDPI__dns_fragmented.pcap", 56, []dnsCall{{"ns2.weberdns.de", a("194.247.5.14")}}, false},
		{"nDPI__dns_fragmented.pcap", 44, []dnsCall{{"ns2.weberdns.de", a("2001:470:1f0b:16b0::a26:53")}}, false},
		// DNS over TCP: a 1730-byte DNSKEY response in one segment, no addresses.
		{"nDPI__dns_fragmented.pcap", 50, nil, false},
		// A query.
		{"tcpdump__dns_udp.pcap", 1, nil, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.file, tt.frame), func(t *testing.T) {
			s := segmentAt(t, tt.file, tt.frame)
			var got []dnsCall
			err := DNSAnswers(s.payload, s.proto == protoTCP, func(name string, addr netip.Addr) {
				got = append(got, dnsCall{name, addr})
			})
			if (err != nil) != tt.err {
				t.Fatalf("DNSAnswers error = %v, want error %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("DNSAnswers calls\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

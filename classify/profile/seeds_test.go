package profile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The seed tests hold the built-in profiles to the vendor tables they come
// from (the seed documents in ../shared/seeds, outside this repository). Each
// test writes out one table's rows as read from the document — who opens the
// flow, to whom, protocol, ports, and the level the table gives — next to
// what the profile does with the row. A profile edit that drifts from the
// table fails here; so does a rule that cites the table but is missing from
// the test, and a departure from the table without a note saying why.

// seedRow is one row of a vendor table and the rule that carries it.
type seedRow struct {
	row     string // the row as the document has it, for messages
	profile string
	rule    string
	from    string
	to      string
	either  bool // bidirectional
	proto   Protos
	ports   string // as PortStrings joins them: "1024-1064", "443,80"; "" for any
	level   Level
	phase   string
	overlay bool
	tls     string // "versions 1.0,1.1", "forward_secrecy false"
	// each is what the row requires of a list: "" (any one port or
	// endpoint, as "139 or 445"), "ports" ("111, 635, and 2049"), "peers"
	// (several endpoints the agent accesses).
	each string
	// scope is "network" for rows whose traffic never passes the agent
	// host ("DataSync service -> ..."), "" otherwise.
	scope string
	// peer lists the names or CIDRs the table gives for the far end, when
	// it gives any ("" means the table names none, so the group is the user's
	// to bind).
	peer []string
	// tableProto and tableLevel are what the table itself says when the
	// profile departs from it (zero: the same as proto and level, or the
	// table has no such column). A departure needs a note on the rule.
	tableProto Protos
	tableLevel Level
	// tablePorts is the table's ports when the profile departs from them.
	tablePorts string
	// none is set when the table names addresses only the user knows ("the
	// specified CIDR block"): the group must match no address until bound.
	none bool
}

type seedTable struct {
	doc, table string
	rows       []seedRow
}

func (tab seedTable) check(t *testing.T) {
	t.Helper()
	cited := map[string]bool{}
	for _, row := range tab.rows {
		t.Run(row.row+"/"+row.profile, func(t *testing.T) {
			set, err := Load(row.profile)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := set.Profile(row.profile)
			i := slices.IndexFunc(p.Rules, func(r Rule) bool { return r.Name == row.rule })
			if i < 0 {
				t.Fatalf("%s has no rule %s", row.profile, row.rule)
			}
			r := &p.Rules[i]
			cited[r.ID()] = true
			got := fmt.Sprintf("%s -> %s either=%v %s [%s] %s phase=%q overlay=%v tls=%q each=%s scope=%s",
				r.From, r.To, r.Bidirectional, r.Protos, strings.Join(r.PortStrings(), ","), r.Level, r.Phase, r.Overlay, tlsString(r.TLS), r.Each, r.Scope)
			want := fmt.Sprintf("%s -> %s either=%v %s [%s] %s phase=%q overlay=%v tls=%q each=%s scope=%s",
				row.from, row.to, row.either, row.proto, row.ports, row.level, row.phase, row.overlay, row.tls, cmp.Or(row.each, "any"), cmp.Or(row.scope, "any"))
			if got != want {
				t.Errorf("rule %s\n got  %s\n want %s", r.ID(), got, want)
			}
			if !slices.ContainsFunc(r.Sources, func(s Source) bool { return s.Doc == tab.doc && s.Table == tab.table && s.Row != "" }) {
				t.Errorf("rule %s does not cite %s, table %q, with a row", r.ID(), tab.doc, tab.table)
			}
			if row.tablePorts != "" && row.tablePorts != row.ports && r.Note == "" {
				t.Errorf("rule %s departs from the table's ports %s without a note saying why", r.ID(), row.tablePorts)
			}
			for _, name := range []string{r.From, r.To} {
				if g, ok := set.Group(row.profile, name); ok && g.Unbound() && g.NoneUntilBound != row.none {
					t.Errorf("rule %s: group %s matches %s until bound, want %s", r.ID(), name,
						map[bool]string{true: "no address", false: "any address"}[g.NoneUntilBound], map[bool]string{true: "no address", false: "any address"}[row.none])
				}
			}
			if (row.tableLevel != 0 && row.tableLevel != row.level || row.tableProto != 0 && row.tableProto != row.proto) && r.Note == "" {
				t.Errorf("rule %s departs from the table (which says %s) without a note saying why", r.ID(), strings.TrimSpace(fmt.Sprintf("%s %s", cmp.Or(row.tableProto, row.proto), cmp.Or(row.tableLevel, row.level))))
			}
			if row.peer != nil {
				name := r.To
				if name == PeerHost {
					name = r.From
				}
				g, ok := set.Group(row.profile, name)
				if !ok {
					t.Fatalf("rule %s: group %s not found", r.ID(), name)
				}
				var have []string
				for _, c := range g.CIDRs {
					have = append(have, c.String())
				}
				have = append(have, g.Names...)
				if !slices.Equal(have, row.peer) {
					t.Errorf("rule %s: group %s is %q, the table gives %q", r.ID(), name, have, row.peer)
				}
			}
		})
	}
	// Every rule that cites the table is one of its rows here.
	all, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		for _, r := range p.Rules {
			for _, s := range r.Sources {
				if s.Doc == tab.doc && s.Table == tab.table && !cited[r.ID()] {
					t.Errorf("rule %s cites %s %q (row %q) but is not among the table's rows in this test", r.ID(), tab.doc, tab.table, s.Row)
				}
			}
		}
	}
}

func tlsString(c *TLSCondition) string {
	if c == nil {
		return ""
	}
	var parts []string
	if len(c.Versions) > 0 {
		var vs []string
		for _, v := range c.Versions {
			if v == 0x0300 {
				vs = append(vs, "3.0")
				continue
			}
			vs = append(vs, fmt.Sprintf("1.%d", v-0x0301))
		}
		parts = append(parts, "versions "+strings.Join(vs, ","))
	}
	if c.ForwardSecrecy != nil {
		parts = append(parts, fmt.Sprintf("forward_secrecy %v", *c.ForwardSecrecy))
	}
	if c.OfferedForwardSecrecy != nil {
		parts = append(parts, fmt.Sprintf("offered_forward_secrecy %v", *c.OfferedForwardSecrecy))
	}
	return strings.Join(parts, " ")
}

const (
	seedSGW      = "000_0a83fa13c25dca12.txt"
	seedDataSync = "001_a6fe39b89d3c08a0.txt"
	seedS3       = "002_db08055872edbd66.txt"
	seedECS      = "003_1856014ed4325334.txt"
	seedSGWSec   = "004_2f40dc7b762e7738.txt"
)

var (
	required    = LevelRequired
	allowed     = LevelAllowed
	discouraged = LevelDiscouraged
	forbidden   = LevelForbidden
)

// Storage Gateway, "The following ports are common to all gateway types and
// are required by all gateway types" (From, To, Protocol, Port, How Used).
func TestSeedStorageGatewayCommonPorts(t *testing.T) {
	seedTable{seedSGW, "Ports common to all gateway types", []seedRow{
		{row: "Storage Gateway VM -> AWS, TCP 443", profile: "storage-gateway/common", rule: "https-service",
			from: "host", to: "aws", proto: TCP, ports: "443", level: required, peer: []string{"*.amazonaws.com"}},
		{row: "Your web browser -> Storage Gateway VM, TCP 80, activation only", profile: "storage-gateway/common", rule: "http-activation",
			from: "browser", to: "host", proto: TCP, ports: "80", level: required, phase: "activation"},
		{row: "Storage Gateway VM -> DNS server, UDP 53", profile: "storage-gateway/common", rule: "dns",
			from: "host", to: "dns-servers", proto: TCP | UDP, ports: "53", level: required, tableProto: UDP},
		{row: "Storage Gateway VM -> AWS, TCP 22 (support channel)", profile: "storage-gateway/common", rule: "support-channel",
			from: "host", to: "aws", proto: TCP, ports: "22", level: allowed, tableLevel: required},
		{row: "Storage Gateway VM -> NTP server, UDP 123", profile: "storage-gateway/common", rule: "ntp",
			from: "host", to: "ntp-servers", proto: UDP, ports: "123", level: required},
	}}.check(t)
}

// Storage Gateway, the file gateway table (Rule, Network Element, File Share
// Type, Protocol, Port, Inbound, Outbound, Required?, Notes). Every row is
// ticked inbound and outbound: the profiles keep both directions where either
// side may open the flow (file shares, Active Directory) and one where only
// one side does.
func TestSeedStorageGatewayFileGatewayPorts(t *testing.T) {
	s3 := []string{"s3.amazonaws.com", "*.s3.amazonaws.com", "s3.{region}.amazonaws.com", "*.s3.{region}.amazonaws.com",
		"s3.dualstack.{region}.amazonaws.com", "*.s3.dualstack.{region}.amazonaws.com", "s3-fips.{region}.amazonaws.com", "*.s3-fips.{region}.amazonaws.com"}
	cf := []string{"*.cloudfront.net"}
	var rows []seedRow
	for _, sh := range []string{"storage-gateway/file-nfs", "storage-gateway/file-smb"} {
		rows = append(rows,
			seedRow{row: "2 web browser, TCP HTTPS 443 (console)", profile: sh, rule: "console-https",
				from: "console-browsers", to: "host", proto: TCP, ports: "443", level: allowed, tableLevel: required, none: true},
			seedRow{row: "6 Amazon S3, HTTPS data 443", profile: sh, rule: "s3",
				from: "host", to: "aws-s3", proto: TCP, ports: "443", level: required, peer: s3},
			seedRow{row: "8 Amazon CloudFront, TCP HTTPS 443, for activation", profile: sh, rule: "cloudfront-activation",
				from: "host", to: "aws-cloudfront", proto: TCP, ports: "443", level: required, phase: "activation", peer: cf},
		)
	}
	rows = append(rows,
		seedRow{row: "1 NFS, TCP/UDP Data 111", profile: "storage-gateway/file-nfs", rule: "nfs-portmapper",
			from: "nfs-clients", to: "host", either: true, proto: TCP | UDP, ports: "111", level: required},
		seedRow{row: "1 NFS, TCP/UDP NFS 2049", profile: "storage-gateway/file-nfs", rule: "nfs",
			from: "nfs-clients", to: "host", either: true, proto: TCP | UDP, ports: "2049", level: required},
		seedRow{row: "1 NFS, TCP/UDP NFSv3 20048", profile: "storage-gateway/file-nfs", rule: "nfs-mountd",
			from: "nfs-clients", to: "host", either: true, proto: TCP | UDP, ports: "20048", level: required},
		seedRow{row: "1 SMB, TCP/UDP SMBv2 139", profile: "storage-gateway/file-smb", rule: "smb-netbios-session",
			from: "smb-clients", to: "host", either: true, proto: TCP | UDP, ports: "139", level: allowed, tableLevel: required},
		seedRow{row: "1 SMB, TCP/UDP SMBv3 445", profile: "storage-gateway/file-smb", rule: "smb",
			from: "smb-clients", to: "host", either: true, proto: TCP | UDP, ports: "445", level: required},
		seedRow{row: "2 web browser, TCP HTTP 80, activation only", profile: "storage-gateway/common", rule: "http-activation",
			from: "browser", to: "host", proto: TCP, ports: "80", level: required, phase: "activation"},
		seedRow{row: "3 DNS, TCP/UDP 53", profile: "storage-gateway/common", rule: "dns",
			from: "host", to: "dns-servers", proto: TCP | UDP, ports: "53", level: required},
		seedRow{row: "4 NTP, UDP 123", profile: "storage-gateway/common", rule: "ntp",
			from: "host", to: "ntp-servers", proto: UDP, ports: "123", level: required, peer: []string{"*.amazon.pool.ntp.org"}},
		seedRow{row: "5 Active Directory, UDP NetBIOS 137", profile: "storage-gateway/file-smb", rule: "ad-netbios-name",
			from: "host", to: "active-directory", either: true, proto: UDP, ports: "137", level: required},
		seedRow{row: "5 Active Directory, UDP NetBIOS 138", profile: "storage-gateway/file-smb", rule: "ad-netbios-datagram",
			from: "host", to: "active-directory", either: true, proto: UDP, ports: "138", level: required},
		seedRow{row: "5 Active Directory, TCP LDAP 389 (not marked required)", profile: "storage-gateway/file-smb", rule: "ad-ldap",
			from: "host", to: "active-directory", either: true, proto: TCP, ports: "389", level: allowed},
		seedRow{row: "5 Active Directory, TCP LDAPS 636 (not marked required)", profile: "storage-gateway/file-smb", rule: "ad-ldaps",
			from: "host", to: "active-directory", either: true, proto: TCP, ports: "636", level: allowed},
		seedRow{row: "7 Storage Gateway, TCP SSH 22 (support channel)", profile: "storage-gateway/common", rule: "support-channel",
			from: "host", to: "aws", proto: TCP, ports: "22", level: allowed, tableLevel: required},
		seedRow{row: "7 Storage Gateway, TCP HTTPS 443 (management control)", profile: "storage-gateway/common", rule: "https-service",
			from: "host", to: "aws", proto: TCP, ports: "443", level: required, peer: []string{"*.amazonaws.com"}},
	)
	seedTable{seedSGW, "File gateway ports", rows}.check(t)
}

// Storage Gateway, "In addition to the common ports, volume and tape gateways
// require the following port".
func TestSeedStorageGatewayVolumeTapePorts(t *testing.T) {
	var rows []seedRow
	for _, p := range []string{"storage-gateway/volume", "storage-gateway/tape"} {
		rows = append(rows, seedRow{row: "iSCSI initiators -> Storage Gateway VM, TCP 3260", profile: p, rule: "iscsi",
			from: "iscsi-initiators", to: "host", proto: TCP, ports: "3260", level: required})
	}
	seedTable{seedSGW, "Volume and tape gateway ports", rows}.check(t)
}

// Storage Gateway infrastructure security: "Clients must support TLS 1.0 or
// later. We recommend TLS 1.2 or later. Clients must also support cipher
// suites with perfect forward secrecy (PFS) such as DHE or ECDHE."
func TestSeedStorageGatewayInfrastructureSecurity(t *testing.T) {
	aws := []string{"*.amazonaws.com"} // the seed is about "AWS published API calls"
	seedTable{seedSGWSec, "Infrastructure security", []seedRow{
		{row: "TLS 1.0 or later: SSL 3.0 fails", profile: "storage-gateway/tls", rule: "ssl3",
			from: "host", to: "aws", proto: TCP, level: forbidden, overlay: true, tls: "versions 3.0", peer: aws},
		{row: "TLS 1.2 or later recommended", profile: "storage-gateway/tls", rule: "tls-old-version",
			from: "host", to: "aws", proto: TCP, level: discouraged, overlay: true, tls: "versions 1.0,1.1", peer: aws},
		{row: "clients must support cipher suites with PFS: judged from the ClientHello", profile: "storage-gateway/tls", rule: "tls-client-no-forward-secrecy",
			from: "host", to: "aws", proto: TCP, level: forbidden, overlay: true, tls: "offered_forward_secrecy false", peer: aws},
		{row: "a negotiated suite without PFS is the server's choice", profile: "storage-gateway/tls", rule: "tls-no-forward-secrecy",
			from: "host", to: "aws", proto: TCP, level: discouraged, overlay: true, tls: "forward_secrecy false", peer: aws},
	}}.check(t)
}

// DataSync, "Network requirements for self-managed storage systems": the
// ports an agent "needs open", so every row is required unless the profile
// says why not.
func TestSeedDataSyncSelfManagedStorage(t *testing.T) {
	seedTable{seedDataSync, "Self-managed storage systems", []seedRow{
		{row: "DataSync agent -> NFS server, TCP/UDP 2049", profile: "datasync/nfs", rule: "nfs",
			from: "host", to: "nfs-server", proto: TCP | UDP, ports: "2049", level: required},
		{row: "DataSync agent -> SMB server, TCP/UDP 139 or 445", profile: "datasync/smb", rule: "smb",
			from: "host", to: "smb-server", proto: TCP | UDP, ports: "139,445", level: required},
		{row: "DataSync agent -> Object storage, TCP 443 or 80", profile: "datasync/object-storage", rule: "object-storage",
			from: "host", to: "object-storage", proto: TCP, ports: "443,80", level: required},
		{row: "DataSync agent -> Hadoop cluster, TCP NameNode 8020", profile: "datasync/hdfs", rule: "namenode",
			from: "host", to: "hdfs-namenodes", proto: TCP, ports: "8020", level: required},
		{row: "DataSync agent -> Hadoop cluster, TCP DataNode 50010", profile: "datasync/hdfs", rule: "datanode",
			from: "host", to: "hdfs-datanodes", proto: TCP, ports: "50010", level: required},
		{row: "DataSync agent -> Hadoop KMS, TCP 9600", profile: "datasync/hdfs", rule: "kms",
			from: "host", to: "hdfs-kms", proto: TCP, ports: "9600", level: allowed, tableLevel: required},
		{row: "DataSync agent -> Kerberos KDC, TCP 88", profile: "datasync/hdfs", rule: "kerberos",
			from: "host", to: "kerberos-kdc", proto: TCP, ports: "88", level: allowed, tableLevel: required},
	}}.check(t)
}

// DataSync, "Network requirements for AWS storage services" (From, To,
// Protocol, Port). The FSx for Windows File Server, Lustre and OpenZFS rows
// give no ports (they point to each file system's access control), so no
// rule carries them.
func TestSeedDataSyncAWSStorageServices(t *testing.T) {
	seedTable{seedDataSync, "AWS storage services", []seedRow{
		{row: "DataSync service -> Amazon EFS, TCP 2049", profile: "datasync/efs", rule: "nfs",
			from: "datasync-interfaces", to: "efs", proto: TCP, ports: "2049", level: required, scope: "network"},
		{row: "DataSync service -> FSx for ONTAP, TCP 111, 635, 2049 (NFS)", profile: "datasync/fsx-ontap", rule: "nfs",
			from: "datasync-interfaces", to: "fsx-ontap", proto: TCP, ports: "111,635,2049", level: allowed, tableLevel: required, scope: "network"},
		{row: "DataSync service -> FSx for ONTAP, TCP 445 (SMB)", profile: "datasync/fsx-ontap", rule: "smb",
			from: "datasync-interfaces", to: "fsx-ontap", proto: TCP, ports: "445", level: allowed, tableLevel: required, scope: "network"},
		{row: "DataSync service -> FSx for ONTAP, TCP 111, 635, and 2049 (NFS): each", profile: "datasync/fsx-ontap-nfs", rule: "nfs",
			from: "datasync-interfaces", to: "fsx-ontap", proto: TCP, ports: "111,635,2049", level: required, each: "ports", scope: "network"},
		{row: "DataSync service -> FSx for ONTAP, TCP 445 (SMB), SMB location", profile: "datasync/fsx-ontap-smb", rule: "smb",
			from: "datasync-interfaces", to: "fsx-ontap", proto: TCP, ports: "445", level: required, scope: "network"},
		{row: "DataSync service -> Amazon S3, TCP 443", profile: "datasync/s3", rule: "https",
			from: "datasync-interfaces", to: "aws-s3", proto: TCP, ports: "443", level: required, scope: "network"},
	}}.check(t)
}

// DataSync, "DataSync requires the following ports for your agent to use a
// VPC endpoint".
func TestSeedDataSyncVPCEndpoints(t *testing.T) {
	seedTable{seedDataSync, "VPC endpoints", []seedRow{
		{row: "Your web browser -> Your DataSync agent, TCP 80 (activation key)", profile: "datasync/agent-common", rule: "http-activation",
			from: "browser", to: "host", proto: TCP, ports: "80", level: allowed, phase: "activation", tableLevel: required},
		{row: "DataSync agent -> Your DataSync VPC endpoint, TCP 1024-1064", profile: "datasync/agent-vpc", rule: "control",
			from: "host", to: "vpc-endpoint", proto: TCP, ports: "1024-1064", level: required},
		{row: "DataSync agent -> Your task's network interfaces, TCP 443", profile: "datasync/agent-vpc", rule: "data-https",
			from: "host", to: "task-interfaces", proto: TCP, ports: "443", level: required},
		{row: "DataSync agent -> Your DataSync VPC endpoint, TCP 22 (support channel)", profile: "datasync/agent-vpc", rule: "support-channel",
			from: "host", to: "vpc-endpoint", proto: TCP, ports: "22", level: allowed, tableLevel: required},
	}}.check(t)
}

// DataSync, "Network requirements for public or FIPS endpoints" (From, To,
// Protocol, Port, How it's used, Endpoints accessed by the agent). The
// table's example Region us-east-2 and $activation_region are {region}.
func TestSeedDataSyncPublicFIPSEndpoints(t *testing.T) {
	support := []string{"54.201.223.107/32"}
	ntp := []string{"0.amazon.pool.ntp.org", "1.amazon.pool.ntp.org", "2.amazon.pool.ntp.org", "3.amazon.pool.ntp.org"}
	seedTable{seedDataSync, "Public or FIPS endpoints", []seedRow{
		{row: "Your web browser -> DataSync agent, TCP 80 (activation key)", profile: "datasync/agent-common", rule: "http-activation",
			from: "browser", to: "host", proto: TCP, ports: "80", level: allowed, phase: "activation", tableLevel: required},
		{row: "DataSync agent -> AWS, TCP 443, activation (public)", profile: "datasync/agent", rule: "activation-https",
			from: "host", to: "datasync-activation", proto: TCP, ports: "443", level: required, phase: "activation",
			peer: []string{"activation.datasync.{region}.amazonaws.com"}},
		{row: "DataSync agent -> AWS, TCP 443, activation (FIPS)", profile: "datasync/agent-fips", rule: "activation-https",
			from: "host", to: "datasync-activation-fips", proto: TCP, ports: "443", level: required, phase: "activation",
			peer: []string{"activation.datasync-fips.{region}.amazonaws.com"}},
		{row: "DataSync agent -> AWS, TCP 443, API and data transfer endpoints", profile: "datasync/agent", rule: "service-https",
			from: "host", to: "datasync-service", proto: TCP, ports: "443", level: required, each: "peers",
			peer: []string{"datasync.{region}.amazonaws.com", "*.datasync-dp.{region}.amazonaws.com", "cp.datasync.{region}.amazonaws.com"}},
		{row: "DataSync agent -> AWS, TCP 443, data transfer endpoints for FIPS", profile: "datasync/agent-fips", rule: "service-https",
			from: "host", to: "datasync-service-fips", proto: TCP, ports: "443", level: required, each: "peers",
			peer: []string{"datasync.{region}.amazonaws.com", "*.datasync-dp.{region}.amazonaws.com", "cp.datasync-fips.{region}.amazonaws.com"}},
		{row: "DataSync agent -> AWS, TCP 80, updates", profile: "datasync/agent-common", rule: "updates-http",
			from: "host", to: "update-repos-http", proto: TCP, ports: "80", level: allowed, tableLevel: required,
			peer: []string{"repo.default.amazonaws.com", "packages.us-west-1.amazonaws.com", "packages.sa-east-1.amazonaws.com",
				"repo.{region}.amazonaws.com", "packages.{region}.amazonaws.com"}},
		{row: "DataSync agent -> AWS, TCP 443, updates", profile: "datasync/agent-common", rule: "updates-https",
			from: "host", to: "update-repos-https", proto: TCP, ports: "443", level: allowed, tableLevel: required,
			peer: []string{"amazonlinux.default.amazonaws.com", "cdn.amazonlinux.com",
				"amazonlinux-2-repos-{region}.s3.dualstack.{region}.amazonaws.com", "amazonlinux-2-repos-{region}.s3.{region}.amazonaws.com",
				"*.s3.{region}.amazonaws.com"}},
		{row: "DataSync agent -> DNS server, TCP/UDP 53 (public)", profile: "datasync/agent", rule: "dns",
			from: "host", to: "dns-servers", proto: TCP | UDP, ports: "53", level: required},
		{row: "DataSync agent -> DNS server, TCP/UDP 53 (FIPS)", profile: "datasync/agent-fips", rule: "dns",
			from: "host", to: "dns-servers", proto: TCP | UDP, ports: "53", level: required},
		{row: "DataSync agent -> DNS server, TCP/UDP 53: not necessary with VPC endpoints", profile: "datasync/agent-vpc", rule: "dns",
			from: "host", to: "dns-servers", proto: TCP | UDP, ports: "53", level: allowed, tableLevel: required},
		{row: "DataSync agent -> AWS, TCP 22 (support channel), public", profile: "datasync/agent", rule: "support-channel",
			from: "host", to: "aws-support", proto: TCP, ports: "22", level: allowed, tableLevel: required, peer: support},
		{row: "DataSync agent -> AWS, TCP 22 (support channel), FIPS", profile: "datasync/agent-fips", rule: "support-channel",
			from: "host", to: "aws-support", proto: TCP, ports: "22", level: allowed, tableLevel: required, peer: support},
		{row: "DataSync agent -> NTP server, UDP 123 (public)", profile: "datasync/agent", rule: "ntp",
			from: "host", to: "ntp-servers", proto: UDP, ports: "123", level: required, peer: ntp},
		{row: "DataSync agent -> NTP server, UDP 123 (FIPS)", profile: "datasync/agent-fips", rule: "ntp",
			from: "host", to: "ntp-servers", proto: UDP, ports: "123", level: required, peer: ntp},
		{row: "DataSync agent -> NTP server, UDP 123: not necessary with VPC endpoints", profile: "datasync/agent-vpc", rule: "ntp",
			from: "host", to: "ntp-servers", proto: UDP, ports: "123", level: allowed, tableLevel: required, peer: ntp},
	}}.check(t)
}

// "AWS S3 and the Use of Ports": 443 for HTTPS; 80 works for unencrypted
// requests but is "not recommended in production".
func TestSeedS3Ports(t *testing.T) {
	seedTable{seedS3, "Ports Used by AWS S3", []seedRow{
		{row: "Port 443: HTTPS", profile: "s3/client", rule: "https",
			from: "host", to: "aws-s3", proto: TCP, ports: "443", level: required},
		{row: "Port 80: HTTP, not recommended", profile: "s3/client", rule: "http",
			from: "host", to: "aws-s3", proto: TCP, ports: "80", level: discouraged},
		{row: "(silent about DNS): the client's lookups of the S3 names", profile: "s3/client", rule: "dns",
			from: "host", to: "dns-servers", proto: TCP | UDP, ports: "53", level: allowed},
	}}.check(t)
}

// ECS common ports page, table 共通ポート (port, service, description). The
// table has no direction or level; the profiles serve the port on the
// instance except where the description says the instance is the client
// (DNS) or does not say (mail). Telnet (23) and NetBIOS (137-139) rows have
// no scenario on the page and no profile.
func TestSeedECSCommonPorts(t *testing.T) {
	seedTable{seedECS, "共通ポート (common ports)", []seedRow{
		{row: "21 FTP", profile: "ecs/ftp", rule: "ftp", from: "ftp-clients", to: "host", proto: TCP, ports: "21", level: required, none: true},
		{row: "22 SSH", profile: "ecs/ssh", rule: "ssh", from: "ssh-clients", to: "host", proto: TCP, ports: "22", level: required},
		{row: "25 SMTP (disabled by default)", profile: "ecs/mail", rule: "smtp", from: "host", to: "mail-peers", either: true, proto: TCP, ports: "25", level: discouraged},
		{row: "25 SMTP: use the SSL port 465", profile: "ecs/mail", rule: "smtps", from: "host", to: "mail-peers", either: true, proto: TCP, ports: "465", level: allowed},
		{row: "53 DNS (outbound UDP)", profile: "ecs/dns", rule: "dns", from: "host", to: "dns-servers", proto: UDP, ports: "53", level: required},
		{row: "80 HTTP", profile: "ecs/web", rule: "http", from: "web-clients", to: "host", proto: TCP, ports: "80", level: required},
		{row: "110 POP3", profile: "ecs/mail", rule: "pop3", from: "host", to: "mail-peers", either: true, proto: TCP, ports: "110", level: allowed},
		{row: "143 IMAP", profile: "ecs/mail", rule: "imap", from: "host", to: "mail-peers", either: true, proto: TCP, ports: "143", level: allowed},
		{row: "443 HTTPS", profile: "ecs/web", rule: "https", from: "web-clients", to: "host", proto: TCP, ports: "443", level: allowed},
		{row: "1433 SQL Server (TCP)", profile: "ecs/sqlserver", rule: "sqlserver", from: "db-clients", to: "host", proto: TCP, ports: "1433", level: required},
		{row: "1434 SQL Server (UDP), Browser only", profile: "ecs/sqlserver", rule: "sqlserver-browser", from: "db-clients", to: "host", proto: UDP, ports: "1434", level: allowed},
		{row: "1434 SQL Server (UDP), Browser only", profile: "ecs/high-risk-ports", rule: "sqlserver-browser", from: "any", to: "any", proto: UDP, ports: "1434", level: discouraged, overlay: true},
		{row: "1521 Oracle", profile: "ecs/oracle", rule: "oracle", from: "db-clients", to: "host", proto: TCP, ports: "1521", level: required},
		{row: "3306 MySQL", profile: "ecs/mysql", rule: "mysql", from: "db-clients", to: "host", proto: TCP, ports: "3306", level: required},
		{row: "3389 Remote Desktop", profile: "ecs/rdp", rule: "rdp", from: "rdp-clients", to: "host", proto: TCP, ports: "3389", level: required},
		{row: "8080 proxy (alternative to 80)", profile: "ecs/web", rule: "http-proxy", from: "web-clients", to: "host", proto: TCP, ports: "8080", level: allowed},
	}}.check(t)
}

// ECS common ports page, table サンプル使用シナリオ (scenario, network type,
// direction, action, protocol, port range, object type, authorised object,
// priority). Every row is an inbound allow rule; the scenario's flow is
// required by its profile.
func TestSeedECSSampleScenarios(t *testing.T) {
	world := []string{"0.0.0.0/0"}
	seedTable{seedECS, "サンプル使用シナリオ (sample usage scenarios)", []seedRow{
		{row: "SSH to a Linux instance: inbound TCP 22, 0.0.0.0/0", profile: "ecs/ssh", rule: "ssh",
			from: "ssh-clients", to: "host", proto: TCP, ports: "22", level: required, peer: world},
		{row: "RDP to a Windows instance: inbound TCP 3389, 0.0.0.0/0", profile: "ecs/rdp", rule: "rdp",
			from: "rdp-clients", to: "host", proto: TCP, ports: "3389", level: required, peer: world},
		{row: "Ping over the Internet: inbound all ICMP, -1/-1", profile: "ecs/ping", rule: "ping",
			from: "ping-sources", to: "host", proto: ICMP, level: required, peer: []string{}},
		{row: "Web server: inbound TCP 80, 0.0.0.0/0", profile: "ecs/web", rule: "http",
			from: "web-clients", to: "host", proto: TCP, ports: "80", level: required, peer: world},
		{row: "FTP upload and download: inbound TCP 20/21, specified CIDR", profile: "ecs/ftp", rule: "ftp",
			from: "ftp-clients", to: "host", proto: TCP, ports: "21", tablePorts: "20-21", level: required, peer: []string{}, none: true},
	}}.check(t)
}

// ECS common ports page, 背景情報: "certain carriers mark ports 25, 135, 139,
// 444, 445, 5800 and 5900 as high-risk ports, and traffic on them is blocked
// by default ... we recommend not using them".
func TestSeedECSHighRiskPorts(t *testing.T) {
	seedTable{seedECS, "背景情報 (background)", []seedRow{
		{row: "high-risk ports blocked by carriers", profile: "ecs/high-risk-ports", rule: "carrier-blocked",
			from: "any", to: "any", proto: TCP | UDP, ports: "25,135,139,444,445,5800,5900", level: discouraged, overlay: true},
		{row: "high-risk ports: 25", profile: "ecs/mail", rule: "smtp",
			from: "host", to: "mail-peers", either: true, proto: TCP, ports: "25", level: discouraged},
	}}.check(t)
}

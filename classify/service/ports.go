package service

import (
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

//go:generate go run gen_ports.go -in iana/service-names-port-numbers.csv -out zz_ports.go

// portName is one row of the generated IANA tables: a port and its service
// name, stored as ianaNames[off:off+n] so that the tables hold no pointers.
type portName struct {
	port uint16
	n    uint8
	off  uint32
}

func (e portName) name() string { return ianaNames[e.off : e.off+uint32(e.n)] }

// ianaName returns IANA's service name for port in a generated table.
func ianaName(table []portName, port uint16) string {
	lo, hi := 0, len(table)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if table[m].port < port {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(table) && table[lo].port == port {
		return table[lo].name()
	}
	return ""
}

// Transport masks for the hand-written port lists.
const (
	tcp = 1 << iota
	udp
	both = tcp | udp
)

func protoMask(p ipproto.Proto) uint8 {
	switch p {
	case ipproto.TCP:
		return tcp
	case ipproto.UDP:
		return udp
	}
	return 0
}

// portRange is a run of ports on one or both transports with an optional
// service name.
type portRange struct {
	proto     uint8
	first, to uint16
	name      string // "" keeps IANA's name
}

// vendorPorts are the server ports that the vendor port tables list, with
// the names those tables give them where they differ from IANA's (lower-case,
// words joined by '-'). The documents are kept in the project's shared seeds:
//
//	[SGW]  AWS Storage Gateway, "Port Requirements"
//	[DS]   AWS DataSync, "network requirements"
//	[S3]   "AWS S3 and the Use of Ports"
//	[ECS]  Alibaba Cloud ECS, common ports (Japanese edition)
//
// Every port here is WellKnown. A later entry does not override an earlier
// one: Name uses the first entry that covers the port. Entries are in the
// order of their first port, so Name stops at the first one past the port
// (the text report names the service of every flow, twice).
var vendorPorts = [...]portRange{
	{tcp, 20, 21, ""},                     // [ECS] FTP data and control
	{tcp, 22, 22, "ssh"},                  // [SGW][DS][ECS] SSH, AWS "support channel"
	{tcp, 23, 23, "telnet"},               // [ECS]
	{tcp, 25, 25, "smtp"},                 // [ECS]
	{both, 53, 53, "dns"},                 // [SGW][DS][ECS] IANA: domain
	{tcp, 80, 80, "http"},                 // [SGW][DS][S3][ECS]
	{tcp, 88, 88, "kerberos"},             // [DS] Kerberos KDC for HDFS
	{tcp, 110, 110, "pop3"},               // [ECS]
	{both, 111, 111, ""},                  // [SGW][DS] NFS: portmapper (IANA: sunrpc)
	{udp, 123, 123, "ntp"},                // [SGW][DS]
	{tcp, 135, 135, ""},                   // [ECS] listed as a high-risk port
	{udp, 137, 137, "netbios-ns"},         // [SGW][ECS]
	{udp, 138, 138, "netbios-dgm"},        // [SGW][ECS]
	{both, 139, 139, "netbios-ssn"},       // [SGW][DS][ECS] SMB over NetBIOS
	{tcp, 143, 143, "imap"},               // [ECS]
	{tcp, 389, 389, "ldap"},               // [SGW] Active Directory
	{tcp, 443, 443, "https"},              // [SGW][DS][S3][ECS]
	{tcp, 444, 444, ""},                   // [ECS] listed as a high-risk port
	{both, 445, 445, "smb"},               // [SGW][DS][ECS] IANA: microsoft-ds
	{tcp, 465, 465, "submissions"},        // [ECS] SMTP over SSL; IANA lists urd first
	{tcp, 635, 635, "mountd"},             // [DS] NFS on FSx for ONTAP; IANA: rlzdbase
	{tcp, 636, 636, "ldaps"},              // [SGW]
	{tcp, 1024, 1064, "datasync-control"}, // [DS] DataSync agent control traffic over a VPC endpoint
	{tcp, 1433, 1433, "sql-server"},       // [ECS] IANA: ms-sql-s
	{udp, 1434, 1434, "sql-browser"},      // [ECS] SQL Server Browser; IANA: ms-sql-m
	{tcp, 1521, 1521, "oracle"},           // [ECS] IANA: ncube-lm
	{both, 2049, 2049, "nfs"},             // [SGW][DS]
	{tcp, 3260, 3260, "iscsi"},            // [SGW] IANA: iscsi-target
	{tcp, 3306, 3306, "mysql"},            // [ECS]
	{tcp, 3389, 3389, "rdp"},              // [ECS] IANA: ms-wbt-server
	{tcp, 5800, 5800, ""},                 // [ECS] listed as a high-risk port (VNC over HTTP)
	{tcp, 5900, 5900, ""},                 // [ECS] listed as a high-risk port (VNC)
	{tcp, 8020, 8020, "hdfs-namenode"},    // [DS] IANA: intu-ec-svcdisc
	{tcp, 8080, 8080, "http-proxy"},       // [ECS] "proxy service"; IANA: http-alt
	{tcp, 9600, 9600, "hadoop-kms"},       // [DS] IANA: micromuse-ncpw
	{both, 20048, 20048, "mountd"},        // [SGW] "NFSv3" mount protocol
	{tcp, 50010, 50010, "hdfs-datanode"},  // [DS]
}

// serverPorts are registered ports (1024 and up) that are widely used by
// servers and so mark the server side of a flow, in addition to the system
// ports IANA names and the vendorPorts.
var serverPorts = [...]portRange{
	{tcp, 1723, 1723, ""},   // PPTP
	{udp, 1812, 1813, ""},   // RADIUS
	{tcp, 2181, 2181, ""},   // ZooKeeper
	{tcp, 3268, 3269, ""},   // Active Directory global catalog, and over TLS
	{udp, 3478, 3478, ""},   // STUN/TURN
	{udp, 4500, 4500, ""},   // IPsec NAT traversal
	{tcp, 5060, 5061, ""},   // SIP, and over TLS
	{udp, 5060, 5060, ""},   // SIP
	{tcp, 5432, 5432, ""},   // PostgreSQL
	{udp, 5353, 5353, ""},   // mDNS
	{udp, 5355, 5355, ""},   // LLMNR
	{tcp, 5671, 5672, ""},   // AMQP over TLS, AMQP
	{tcp, 5985, 5986, ""},   // WinRM over HTTP, HTTPS
	{tcp, 6379, 6379, ""},   // Redis
	{tcp, 6443, 6443, ""},   // Kubernetes API server
	{tcp, 8443, 8443, ""},   // HTTPS alternate
	{tcp, 9092, 9092, ""},   // Kafka
	{tcp, 9200, 9200, ""},   // Elasticsearch
	{tcp, 11211, 11211, ""}, // memcached
	{tcp, 27017, 27017, ""}, // MongoDB
}

// wellKnown has one bit per port for TCP ([0]) and UDP ([1]); it is filled
// once by init and only read afterwards.
var wellKnown [2][1 << 16 / 64]uint64

func init() {
	mark := func(i int, port uint16) { wellKnown[i][port>>6] |= 1 << (port & 63) }
	for i, table := range [2][]portName{ianaTCP[:], ianaUDP[:]} {
		for _, e := range table {
			if e.port < 1024 {
				mark(i, e.port)
			}
		}
	}
	for _, list := range [][]portRange{vendorPorts[:], serverPorts[:]} {
		for _, r := range list {
			for p := int(r.first); p <= int(r.to); p++ {
				if r.proto&tcp != 0 {
					mark(0, uint16(p))
				}
				if r.proto&udp != 0 {
					mark(1, uint16(p))
				}
			}
		}
	}
}

// WellKnown reports whether port is a known server port for proto: a system
// port (below 1024) that IANA names for that transport, a port the vendor port
// tables list, or one of a short list of widely used registered server ports
// (databases, directory, remote desktop, brokers). It is one array lookup.
func WellKnown(proto ipproto.Proto, port uint16) bool {
	var i int
	switch proto {
	case ipproto.TCP:
		i = 0
	case ipproto.UDP:
		i = 1
	default:
		return false
	}
	return wellKnown[i][port>>6]&(1<<(port&63)) != 0
}

// Name returns the service name of port for proto: the name the vendor port
// tables use where they name the port, otherwise IANA's service name, and ""
// when neither names it or proto has no ports. It does not allocate.
func Name(proto ipproto.Proto, port uint16) string {
	m := protoMask(proto)
	if m == 0 {
		return ""
	}
	for _, r := range vendorPorts {
		if r.first > port {
			break
		}
		if r.proto&m != 0 && port <= r.to {
			if r.name != "" {
				return r.name
			}
			break
		}
	}
	if m == tcp {
		return ianaName(ianaTCP[:], port)
	}
	return ianaName(ianaUDP[:], port)
}

// Expected returns the App that normally runs on a server port, or
// AppUnknown when there is no firm expectation (including ports whose
// protocol Detect does not recognise).
func Expected(proto ipproto.Proto, port uint16) App {
	switch proto {
	case ipproto.TCP:
		switch port {
		case 21:
			return AppFTP
		case 22:
			return AppSSH
		case 23:
			return AppTelnet
		case 25, 587:
			return AppSMTP
		case 53:
			return AppDNS
		case 80, 8080:
			return AppHTTP
		case 88:
			return AppKerberos
		case 110:
			return AppPOP3
		case 111, 635, 2049, 20048:
			return AppRPC
		case 139, 445:
			return AppSMB
		case 143:
			return AppIMAP
		case 389, 3268:
			return AppLDAP
		// Implicit TLS: HTTPS, SMTP submission, LDAPS, DNS over TLS, FTPS,
		// telnets, IMAPS, IRCS, POP3S, AD global catalog, SIPS, Kubernetes
		// API, HTTPS alternate.
		case 443, 465, 636, 853, 989, 990, 992, 993, 994, 995, 3269, 5061, 6443, 8443:
			return AppTLS
		case 860, 3260:
			return AppISCSI
		case 3389:
			return AppRDP
		}
	case ipproto.UDP:
		switch port {
		case 53, 5353, 5355:
			return AppDNS
		case 88:
			return AppKerberos
		case 111, 635, 2049, 20048:
			return AppRPC
		case 123:
			return AppNTP
		case 137, 138:
			return AppNetBIOS
		case 389:
			return AppLDAP
		case 443:
			return AppQUIC
		}
	}
	return AppUnknown
}

// Mismatch reports whether detected contradicts what serverPort normally
// carries: both are known and they differ. Protocols that legitimately share
// a port are not a mismatch: NetBIOS session setup on the SMB ports, and
// DTLS on the QUIC port.
func Mismatch(proto ipproto.Proto, serverPort uint16, detected App) bool {
	if detected == AppNone || detected == AppUnknown {
		return false
	}
	want := Expected(proto, serverPort)
	if want == AppUnknown || want == detected {
		return false
	}
	switch {
	case want == AppSMB && detected == AppNetBIOS,
		want == AppNetBIOS && detected == AppSMB,
		want == AppQUIC && detected == AppTLS:
		return false
	}
	return true
}

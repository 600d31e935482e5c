package service

import "strconv"

// App is an application protocol recognised from payload bytes. flow.Flow
// stores it as a uint8; the zero value AppNone means no payload was inspected.
type App uint8

// The application protocols Detect recognises. The numbers are stored in flow
// records: append new values, never renumber.
const (
	AppNone     App = iota // no payload inspected yet
	AppUnknown             // payload seen, not recognised
	AppTLS                 // TLS (and DTLS over UDP)
	AppDNS                 // DNS, mDNS and LLMNR, over UDP or TCP
	AppHTTP                // HTTP/1.x, and the HTTP/2 connection preface
	AppSSH                 // SSH
	AppSMB                 // SMB1/2/3 over the NetBIOS session service or direct TCP
	AppNetBIOS             // NetBIOS name, datagram and session service without SMB
	AppRPC                 // ONC RPC, including portmapper, mountd and NFS
	AppNTP                 // NTP, including mode 6/7 control messages
	AppKerberos            // Kerberos 5 KDC and AP messages
	AppISCSI               // iSCSI
	AppSMTP                // SMTP
	AppLDAP                // LDAP and CLDAP
	AppFTP                 // FTP control connection
	AppRDP                 // RDP (X.224 connection request/confirm in TPKT)
	AppTelnet              // Telnet option negotiation
	AppPOP3                // POP3
	AppIMAP                // IMAP
	AppQUIC                // QUIC long-header packets of a known version
	numApps
)

var appNames = [numApps]string{
	AppNone:     "",
	AppUnknown:  "unknown",
	AppTLS:      "tls",
	AppDNS:      "dns",
	AppHTTP:     "http",
	AppSSH:      "ssh",
	AppSMB:      "smb",
	AppNetBIOS:  "netbios",
	AppRPC:      "rpc",
	AppNTP:      "ntp",
	AppKerberos: "kerberos",
	AppISCSI:    "iscsi",
	AppSMTP:     "smtp",
	AppLDAP:     "ldap",
	AppFTP:      "ftp",
	AppRDP:      "rdp",
	AppTelnet:   "telnet",
	AppPOP3:     "pop3",
	AppIMAP:     "imap",
	AppQUIC:     "quic",
}

// String returns the lower-case name used in reports ("tls", "dns", ...),
// "" for AppNone, "unknown" for AppUnknown and "app(N)" for values this
// version does not know.
func (a App) String() string {
	if a < numApps {
		return appNames[a]
	}
	return "app(" + strconv.Itoa(int(a)) + ")"
}

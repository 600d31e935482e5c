package conformtest_test

import (
	"fmt"

	"github.com/wirecheck/wirecheck/classify/report"
	"github.com/wirecheck/wirecheck/conformtest"
)

// logT stands in for the *testing.T of a real test and prints what the
// test would log, so that the example shows a failure's message.
type logT struct{ failed bool }

func (*logT) Helper() {}
func (t *logT) Errorf(format string, args ...any) {
	t.failed = true
	fmt.Printf(format+"\n", args...)
}
func (t *logT) Fatalf(format string, args ...any) { t.Errorf(format, args...) }

// In a test of your own, pass the test's t:
//
//	func TestGatewayTraffic(t *testing.T) {
//		conformtest.AssertConforms(t, "testdata/gateway.pcapng", conformtest.Options{
//			Profiles: []string{"storage-gateway/file-nfs"},
//			Host:     []string{"10.0.0.5"},
//		})
//	}
func ExampleAssertConforms() {
	t := &logT{}
	conformtest.AssertConforms(t, "../testdata/captures/filegw-conformant.pcapng", conformtest.Options{
		Profiles: []string{"storage-gateway/file-nfs"},
		Host:     []string{"10.0.0.5"},
	})
	fmt.Println("failed:", t.failed)
	// Output:
	// failed: false
}

// A capture that does not conform fails the test with each problem on a
// line, and a draft of the rules that would allow the unexpected flows.
func ExampleAssertConforms_failure() {
	t := &logT{}
	conformtest.AssertConforms(t, "../testdata/captures/filegw-faulty.pcap", conformtest.Options{
		Profiles: []string{"storage-gateway/file-nfs"},
		Host:     []string{"10.0.0.5"},
		// Groups left unbound match any address and are reported as such.
		Peers: map[string][]string{"nfs-clients": {"10.0.0.0/24"}, "dns-servers": {"10.0.0.53"}, "browser": {"10.0.0.20"}},
	})
	// Output:
	// ../testdata/captures/filegw-faulty.pcap does not conform to storage-gateway/common, storage-gateway/file-nfs (host 10.0.0.5): 4 problems
	//   1. blocked: TCP 443 to 198.51.100.10 (storagegateway.us-east-1.amazonaws.com): 3 SYNs, no answer (while TCP 443 to 198.51.100.20 worked) — likely dropped by a firewall or security group; required by storage-gateway/common:https-service
	//   2. missing: UDP 123 from host to ntp-servers (Time synchronisation of the gateway VM) was never attempted — check that the service is configured and that the capture covers a time when it runs; required by storage-gateway/common:ntp
	//   3. unexpected: inbound TCP 23 (telnet) from 10.0.0.66 to 10.0.0.5, refused (SYN answered by RST) — no rule allows it, and the attempt failed: block it upstream, or add a rule if it is needed
	//   4. unexpected: outbound TCP 25 (smtp) from 10.0.0.5 to 203.0.113.25 (mail.example.net), closed, 11 packets, 823 bytes — no rule allows it: find the process or peer behind it, or add a rule if it is needed
	// If the unexpected flows are wanted, a profile like this (add it to Options.Profiles) allows them:
	//     version: 1
	//     profile: draft/extra
	//     description: "Drafted from observed traffic"
	//     include: [storage-gateway/common, storage-gateway/file-nfs]
	//
	//     peers:
	//       smtp-servers:
	//         description: "Seen as the server of TCP 25 (smtp)"
	//         names:
	//           - mail.example.net
	//         # seen: mail.example.net = 203.0.113.25
	//       telnet-clients:
	//         description: "Seen as the client of TCP 23 (telnet)"
	//         cidrs: ["10.0.0.66"]
	//
	//     rules:
	//       - name: smtp-out
	//         from: host
	//         to: smtp-servers
	//         proto: tcp
	//         ports: [25]
	//         level: allowed
	//         note: "Observed 1 flow (closed), 11 packets, 823 bytes"
	//
	//       - name: telnet-in
	//         from: telnet-clients
	//         to: host
	//         proto: tcp
	//         ports: [23]
	//         level: allowed
	//         note: "Observed 1 flow (refused), 2 packets, 128 bytes. Only failed attempts were seen: keep this rule only if the flow is needed, and then open the path"
}

// Check gives the result itself, for tests that assert more than the
// verdict.
func ExampleCheck() {
	res, err := conformtest.Check("../testdata/captures/misc.pcapng", conformtest.Options{
		Profiles: []string{"storage-gateway/file-nfs"},
		Host:     []string{"10.0.0.5", "fd00::5"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Verdict)
	for _, f := range res.Flows {
		if f.Verdict.Fails() {
			fmt.Printf("%s %s to %s\n", f.Verdict, report.ProtoPort(f.Proto, f.ServerPort), f.Server())
		}
	}
	// Output:
	// not-conformant
	// unexpected ICMP to 10.0.0.1
	// unexpected TCP 443 to 198.51.100.40
	// unexpected TCP 8080 to fd00::1
	// unexpected UDP 9999 to 10.0.0.1
	// unexpected UDP 5000 to 10.0.0.99
	// unexpected ICMPV6 to fd00::1
}

package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wirecheck/wirecheck/classify/report"
)

// TestRelatedCapture judges related.pcapng, recorded with vsftpd, curl,
// rpcbind, rpc.statd and rpcinfo between two namespaces
// (testdata/netns/record-related.sh): every data connection is accepted
// under the control connection's rule, saying how it was announced, and the
// connection to a passive port nobody announced stays unexpected.
func TestRelatedCapture(t *testing.T) {
	out, stderr, code := wirecheck(t, nil, append(append([]string{"analyse", "--format", "json"}, relatedArgs...), filepath.Join(captures, "related.pcapng"))...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the unannounced connection, and rules of file-nfs the capture does not show); stderr: %s", code, stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Flows {
		switch {
		case f.ServerPort == 21 || f.ServerPort == 111:
			if f.Verdict != "expected" || f.Related != nil {
				t.Errorf("control flow %s:%d: %s, related %+v", f.Server, f.ServerPort, f.Verdict, f.Related)
			}
		case f.Related != nil:
			r := f.Related
			ctrl := rep.Flows[*r.ControlFlow]
			if f.Verdict != "expected" || r.Rule != *f.Rule || *ctrl.Rule != r.Rule || ctrl.Client != "10.0.0.1" {
				t.Errorf("%s %s:%d: verdict %s rule %v, control flow %+v", f.Proto, f.Server, f.ServerPort, f.Verdict, f.Rule, ctrl)
			}
			got = append(got, fmt.Sprintf("%s %s %s:%d %s %s", r.How, f.Proto, f.Server, f.ServerPort, r.ProgramName, r.Rule))
		default:
			got = append(got, fmt.Sprintf("%s %s %s:%d %s", f.Verdict, f.Proto, f.Server, f.ServerPort, f.State))
		}
	}
	slices.Sort(got)
	want := []string{
		"EPRT tcp 10.0.0.1:45000  ecs/ftp:ftp",
		"EPSV tcp 10.0.0.5:40008  ecs/ftp:ftp",
		"GETADDR tcp 10.0.0.5:32765 status storage-gateway/file-nfs:nfs-portmapper",
		"GETADDR udp 10.0.0.5:32765 status storage-gateway/file-nfs:nfs-portmapper",
		"GETADDR udp 10.0.0.5:32765 status storage-gateway/file-nfs:nfs-portmapper",
		"PASV tcp 10.0.0.5:40004  ecs/ftp:ftp",
		"PORT tcp 10.0.0.1:45001  ecs/ftp:ftp",
		"unexpected tcp 10.0.0.5:40009 refused",
	}
	if !slices.Equal(got, want) {
		t.Errorf("flows:\n  %v\nwant\n  %v", got, want)
	}
	// Active data connections come from the server's port 20.
	for _, f := range rep.Flows {
		if f.Related != nil && (f.Related.How == "PORT" || f.Related.How == "EPRT") && (f.Client != "10.0.0.5" || f.ClientPort != 20) {
			t.Errorf("active data connection from %s:%d", f.Client, f.ClientPort)
		}
	}
}

package main

import (
	"strings"
	"testing"
)

// TestEventsStdoutNeedsReportElsewhere: the final report and the events
// cannot share standard output.
func TestEventsStdoutNeedsReportElsewhere(t *testing.T) {
	_, stderr, code := wirecheck(t, nil, "watch", "-i", "lo", "-p", "storage-gateway/file-nfs", "--engine", "pcap", "--events", "-")
	if code != exitError || !strings.Contains(stderr, "--events -: standard output also gets the final report") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

package report

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestFlowsTableWithMultiByteNames: the flows table pads a cell by its
// runes, not its bytes, as text/tabwriter aligns it; the server names here
// have more bytes than runes (TestFlowsTableIsTabwriters' are ASCII), and
// one service cell says what its port carried instead.
func TestFlowsTableWithMultiByteNames(t *testing.T) {
	a := netip.MustParseAddr
	sc := gencap.Scenario{Resolver: a("10.0.0.53"), Convs: []gencap.Conv{
		{Client: a("10.0.0.5"), Server: a("192.0.2.10"), ServerPort: 443, Name: "ünïcödé-ñame.example"},
		{Client: a("10.0.0.5"), Server: a("192.0.2.11"), ServerPort: 443, Name: "short.example"},
		{Client: a("10.0.0.5"), Server: a("192.0.2.12"), ServerPort: 443, Name: strings.Repeat("é", 30) + "." + strings.Repeat("ü", 30) + ".example"},
		{Client: a("10.0.0.5"), Server: a("192.0.2.13"), ServerPort: 443, Name: strings.Repeat("e", 50) + ".example"},
		// TLS on HTTP's port: the service cell says what it carries.
		{Client: a("10.0.0.5"), Server: a("192.0.2.14"), ServerPort: 80, TLS: &gencap.Hello{SNI: "tls-on-80.example", Version: 0x0303, Suite: 0xc02f}},
	}}
	scenario := judged(t, testobs.Scenario(t, sc), "storage-gateway/common")
	var got bytes.Buffer
	writeFlows(&got, scenario.Flows)
	if want := tabwriterFlows(scenario); !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("the scenario's flows table differs from tabwriter's:\n%s", firstDiff(got.Bytes(), want.Bytes()))
	}
	if !bytes.ContainsRune(got.Bytes(), 'é') {
		t.Fatalf("the scenario's names are not in its flows table:\n%s", got.Bytes())
	}
}

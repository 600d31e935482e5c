package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestJSONStreamsWhatMarshalIndentWrites holds the streaming JSON writer to
// the bytes encoding/json writes for the whole report at once, on captures
// with flows, with every rule status (the fixture), and with none.
func TestJSONStreamsWhatMarshalIndentWrites(t *testing.T) {
	results := map[string]*match.Result{
		"faulty":  evaluate(t, "filegw-faulty.pcap", false),
		"misc":    evaluate(t, "misc.pcapng", false),
		"fixture": evaluate(t, "filegw-conformant.pcapng", true),
	}
	mon := judged(t, testobs.File(t, monitorCapture), "storage-gateway/common")
	results["monitor"] = mon // IPv6, ICMP errors, names, problems folded
	// Several chunks of inOrder, TLS, both protocols, with names.
	results["generated"] = judged(t, testobs.Generated(t, gencap.Config{Packets: 12_000, Flows: 3 * streamChunk, Seed: 4}), "storage-gateway/common")
	// Tunnels (VXLAN from the shared corpus) and related flows (FTP data,
	// RPC) with every field of Related.
	results["vxlan"] = judged(t, testobs.File(t, "../../../shared/corpus/protocols/libpcap__vxlan.pcap"), "storage-gateway/common")
	set, err := profile.Load("storage-gateway/file-nfs", "ecs/ftp")
	if err != nil {
		t.Fatal(err)
	}
	m, err := match.New(set, match.Options{Host: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}})
	if err != nil {
		t.Fatal(err)
	}
	results["related"] = m.Evaluate(testobs.File(t, captures+"/related.pcapng"))
	// A one-direction capture: flows with one_sided set.
	results["one-direction"] = judged(t, testobs.File(t, captures+"/oneway-out.pcap"), "storage-gateway/common")
	empty := *results["misc"]
	empty.Flows = nil
	results["no flows"] = &empty
	for name, res := range results {
		want, err := json.MarshalIndent(Build(res), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		got := render(t, func(b *bytes.Buffer, r *match.Result) error { return JSON(b, r) }, res)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: streamed JSON differs from MarshalIndent's:\n%s", name, firstDiff(got, want))
		}
	}
}

// TestJSONStringIsEncodingJSONs holds appendJSONString to encoding/json on
// strings a capture can carry: markup, controls, invalid UTF-8, line
// separators.
func TestJSONStringIsEncodingJSONs(t *testing.T) {
	for _, s := range []string{"", "plain.example.net", `<script>"x"&\y</script>`, "a\x00b\x01\x1f\b\f\n\r\t\x7f",
		"\xff\xfe bad \xc3", "line\u2028sep\u2029", "héllo ✓ 𝄞", "\xed\xa0\x80 surrogate", "trail\xe2\x82"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	f.Add("<a&b>\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	})
}

func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return "got:  ..." + string(got[lo:min(len(got), i+80)]) + "\nwant: ..." + string(want[lo:min(len(want), i+80)])
}

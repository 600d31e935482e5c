package gencap_test

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/wirecheck/wirecheck/capture"
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/internal/gencap"
)

func write(t *testing.T, cfg gencap.Config) []byte {
	t.Helper()
	var b bytes.Buffer
	st, err := gencap.Write(&b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets != cfg.Packets || st.Flows != cfg.Flows {
		t.Fatalf("stats %+v, want %d packets and %d flows", st, cfg.Packets, cfg.Flows)
	}
	return b.Bytes()
}

// TestExactAndDeterministic reads the capture back through the classifier:
// the packets and flows are exactly those asked for, and the same Config
// writes the same bytes while another seed does not.
func TestExactAndDeterministic(t *testing.T) {
	for _, format := range []gencap.Format{gencap.Pcap, gencap.PcapNG} {
		cfg := gencap.Config{Packets: 20_000, Flows: 1_000, Seed: 7, Format: format}
		data := write(t, cfg)
		if again := write(t, cfg); !bytes.Equal(data, again) {
			t.Fatalf("format %d: two runs with one Config differ", format)
		}
		other := cfg
		other.Seed++
		if sha256.Sum256(write(t, other)) == sha256.Sum256(data) {
			t.Fatalf("format %d: seeds %d and %d wrote the same capture", format, cfg.Seed, other.Seed)
		}

		obs := classifyAll(t, data)
		if obs.Packets != uint64(cfg.Packets) {
			t.Errorf("format %d: classifier read %d packets, want %d", format, obs.Packets, cfg.Packets)
		}
		if len(obs.Flows) != cfg.Flows {
			t.Errorf("format %d: %d flows, want %d", format, len(obs.Flows), cfg.Flows)
		}
		if obs.Malformed.Total() != 0 {
			t.Errorf("format %d: malformed frames %+v", format, obs.Malformed)
		}
		var inFlows uint64
		for i := range obs.Flows {
			p, _ := obs.Flows[i].Total()
			inFlows += p
		}
		if want := uint64(cfg.Packets - cfg.Packets/5000); inFlows != want {
			t.Errorf("format %d: %d packets in flows, want all but the ARP: %d", format, inFlows, want)
		}
	}
}

// TestMix checks that the capture has what the benchmark claims it has.
func TestMix(t *testing.T) {
	data := write(t, gencap.Config{Packets: 100_000, Flows: 4_000, Seed: 1})
	src, err := capture.NewReader("mix", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var (
		fr              capture.Frame
		p               packet.Parsed
		vlan, v6, small int
		full, arp       int
		flags           = map[uint8]int{}
		protos          = map[ipproto.Proto]int{}
	)
	for src.Next(&fr) == nil {
		if err := p.Decode(fr.LinkType, fr.Data); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if fr.Data[12] == 0x81 {
			vlan++
		}
		if p.Other.EtherType == 0x86dd {
			v6++
		}
		if p.Other.EtherType == 0x0806 {
			arp++
		}
		switch {
		case len(fr.Data) <= 90:
			small++
		case len(fr.Data) >= 1500:
			full++
		}
		protos[p.Tuple.Proto]++
		if p.Tuple.Proto == ipproto.TCP {
			flags[p.TCPFlags]++
		}
	}
	n := 100_000
	for what, got := range map[string]int{
		"802.1Q": vlan, "IPv6": v6, "small (≤90 bytes)": small, "full-size (≥1500 bytes)": full,
		"UDP": protos[ipproto.UDP], "ICMP": protos[ipproto.ICMPv4] + protos[ipproto.ICMPv6],
		"SYN": flags[packet.SYN], "SYN+ACK": flags[packet.SYN|packet.ACK],
		"FIN+ACK": flags[packet.FIN|packet.ACK], "RST+ACK": flags[packet.RST|packet.ACK],
	} {
		if got < n/200 {
			t.Errorf("%s: %d of %d packets, want at least 0.5%%", what, got, n)
		}
	}
	if arp != n/5000 {
		t.Errorf("ARP: %d packets, want %d", arp, n/5000)
	}
}

// TestFlowsOfEveryKind checks the flows as the classifier sees them: TCP
// that completes both ways, TCP refused, UDP answered, payloads recognised.
func TestFlowsOfEveryKind(t *testing.T) {
	obs := classifyAll(t, write(t, gencap.Config{Packets: 100_000, Flows: 4_000, Seed: 3}))
	states := map[flow.State]int{}
	both, apps, sni := 0, 0, 0
	for i := range obs.Flows {
		f := &obs.Flows[i]
		client, _ := f.Client(flow.PortHints{})
		states[f.State(client)]++
		if f.Payload[0] > 0 && f.Payload[1] > 0 {
			both++
		}
		if f.App[0] != 0 {
			apps++
		}
		if obs.SNI(f) != "" {
			sni++
		}
	}
	for _, s := range []flow.State{flow.StateClosed, flow.StateReset, flow.StateRefused, flow.StateAnswered} {
		if states[s] < 40 {
			t.Errorf("%v flows: %d, want at least 40 (states %v)", s, states[s], states)
		}
	}
	if both < len(obs.Flows)/2 {
		t.Errorf("%d of %d flows carry payload both ways, want half", both, len(obs.Flows))
	}
	if apps < len(obs.Flows)/3 || sni == 0 || obs.Names.Len() == 0 {
		t.Errorf("%d flows with a recognised protocol, %d with SNI, %d names: payloads not realistic", apps, sni, obs.Names.Len())
	}
}

func TestTooFewPackets(t *testing.T) {
	var b bytes.Buffer
	if _, err := gencap.Write(&b, gencap.Config{Packets: 10, Flows: 20}); err == nil {
		t.Fatal("10 packets over 20 flows: no error")
	}
}

func classifyAll(t *testing.T, data []byte) *classify.Observation {
	t.Helper()
	src, err := capture.NewReader("gen", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := classify.New(1024)
	if err := c.Read("gen", src, nil); err != nil {
		t.Fatal(err)
	}
	return c.Observation()
}

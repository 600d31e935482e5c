package gencap

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/net/dns/dnsmessage"
)

// Outcome is how a conversation of a Scenario ends.
type Outcome uint8

const (
	Completed  Outcome = iota // TCP: handshake, a request and an answer, FIN both ways; UDP: request and answer
	Unanswered                // TCP: three SYNs, nothing back; UDP: the request only
	Refused                   // TCP: the SYN answered by RST
	HalfOpen                  // TCP: the SYN answered by SYN-ACKs the client never acknowledges
)

// Conv is one conversation of a Scenario, written in order.
type Conv struct {
	UDP            bool
	Client, Server netip.Addr
	ServerPort     uint16
	Outcome        Outcome
	// Name, when set, is announced first: a DNS answer from the Scenario's
	// Resolver to the client says Server is Name, as the client's own
	// lookup would.
	Name string
	// TLS, when set on a completed TCP conversation, makes its request a
	// ClientHello and its answer a ServerHello.
	TLS *Hello
}

// Hello is the TLS handshake of a conversation: the suites the client
// offers (and its SNI, if any), the version and suite the server picks.
type Hello struct {
	SNI     string
	Offered []uint16
	Version uint16 // 0x0300 SSL 3.0 ... 0x0303 TLS 1.2 (TLS 1.3 is 0x0304, sent in supported_versions)
	Suite   uint16
}

// Scenario is a small capture of chosen conversations, for tests that
// need particular flows (a blocked endpoint next to a working one) rather
// than Config's statistical mix.
type Scenario struct {
	Resolver netip.Addr // the DNS server that answers for Conv.Name
	Convs    []Conv
}

// Pcap writes the scenario as a classic pcap file, IPv4 over Ethernet, the
// packets 10 ms apart from Start. The same Scenario gives the same bytes.
func (s Scenario) Pcap() ([]byte, error) {
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	at := Start
	port := uint16(40000)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	emit := func(src, dst netip.Addr, sport, dport uint16, udp bool, tcp layers.TCP, payload []byte) error {
		if !src.Is4() || !dst.Is4() {
			return fmt.Errorf("gencap: scenario addresses are IPv4, not %s -> %s", src, dst)
		}
		eth := &layers.Ethernet{SrcMAC: clientMAC(1), DstMAC: gatewayMAC, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice()), Protocol: layers.IPProtocolTCP}
		var l4 gopacket.SerializableLayer
		if udp {
			ip.Protocol = layers.IPProtocolUDP
			u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
			u.SetNetworkLayerForChecksum(ip)
			l4 = u
		} else {
			tcp.SrcPort, tcp.DstPort, tcp.Window = layers.TCPPort(sport), layers.TCPPort(dport), 64240
			tcp.SetNetworkLayerForChecksum(ip)
			l4 = &tcp
		}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, l4, gopacket.Payload(payload)); err != nil {
			return err
		}
		data := buf.Bytes()
		at = at.Add(10 * time.Millisecond)
		return w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(data), Length: len(data)}, data)
	}
	for _, c := range s.Convs {
		if c.Name != "" {
			port++
			q, a, err := dnsPair(c.Name, c.Server)
			if err != nil {
				return nil, err
			}
			if err := emit(c.Client, s.Resolver, port, 53, true, layers.TCP{}, q); err != nil {
				return nil, err
			}
			if err := emit(s.Resolver, c.Client, 53, port, true, layers.TCP{}, a); err != nil {
				return nil, err
			}
		}
		port++
		cl, sv, cp, sp := c.Client, c.Server, port, c.ServerPort
		var err error
		switch {
		case c.UDP:
			err = emit(cl, sv, cp, sp, true, layers.TCP{}, []byte("request"))
			if err == nil && c.Outcome == Completed {
				err = emit(sv, cl, sp, cp, true, layers.TCP{}, []byte("answer"))
			}
		case c.Outcome == Unanswered:
			for range 3 {
				if err == nil {
					err = emit(cl, sv, cp, sp, false, layers.TCP{SYN: true, Seq: 1000}, nil)
				}
			}
		case c.Outcome == HalfOpen:
			err = emit(cl, sv, cp, sp, false, layers.TCP{SYN: true, Seq: 1000}, nil)
			for range 2 {
				if err == nil {
					err = emit(sv, cl, sp, cp, false, layers.TCP{SYN: true, ACK: true, Seq: 5000, Ack: 1001}, nil)
				}
			}
		case c.Outcome == Refused:
			err = emit(cl, sv, cp, sp, false, layers.TCP{SYN: true, Seq: 1000}, nil)
			if err == nil {
				err = emit(sv, cl, sp, cp, false, layers.TCP{RST: true, ACK: true, Ack: 1001}, nil)
			}
		default:
			request, answer := "request", "answer"
			if c.TLS != nil {
				request, answer = string(helloFrom(c.TLS)), string(helloTo(c.TLS))
			}
			for _, p := range []struct {
				fromClient bool
				tcp        layers.TCP
				payload    string
			}{
				{true, layers.TCP{SYN: true, Seq: 1000}, ""},
				{false, layers.TCP{SYN: true, ACK: true, Seq: 5000, Ack: 1001}, ""},
				{true, layers.TCP{ACK: true, Seq: 1001, Ack: 5001}, ""},
				{true, layers.TCP{ACK: true, PSH: true, Seq: 1001, Ack: 5001}, request},
				{false, layers.TCP{ACK: true, PSH: true, Seq: 5001, Ack: 1001 + uint32(len(request))}, answer},
				{true, layers.TCP{FIN: true, ACK: true, Seq: 1001 + uint32(len(request)), Ack: 5001 + uint32(len(answer))}, ""},
				{false, layers.TCP{FIN: true, ACK: true, Seq: 5001 + uint32(len(answer)), Ack: 1002 + uint32(len(request))}, ""},
				{true, layers.TCP{ACK: true, Seq: 1002 + uint32(len(request)), Ack: 5002 + uint32(len(answer))}, ""},
			} {
				if err != nil {
					break
				}
				if p.fromClient {
					err = emit(cl, sv, cp, sp, false, p.tcp, []byte(p.payload))
				} else {
					err = emit(sv, cl, sp, cp, false, p.tcp, []byte(p.payload))
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// dnsPair is a query for name and its A answer with addr.
func dnsPair(name string, addr netip.Addr) (query, answer []byte, err error) {
	n, err := dnsmessage.NewName(name + ".")
	if err != nil {
		return nil, nil, err
	}
	q := dnsmessage.Question{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	for _, resp := range []bool{false, true} {
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: resp, RecursionDesired: true, RecursionAvailable: resp})
		if err := b.StartQuestions(); err != nil {
			return nil, nil, err
		}
		if err := b.Question(q); err != nil {
			return nil, nil, err
		}
		if resp {
			if err := b.StartAnswers(); err != nil {
				return nil, nil, err
			}
			if err := b.AResource(dnsmessage.ResourceHeader{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 300}, dnsmessage.AResource{A: addr.As4()}); err != nil {
				return nil, nil, err
			}
		}
		msg, err := b.Finish()
		if err != nil {
			return nil, nil, err
		}
		if resp {
			answer = msg
		} else {
			query = msg
		}
	}
	return query, answer, nil
}

// helloFrom is the client's ClientHello of h.
func helloFrom(h *Hello) []byte { return clientHello(h.SNI, h.Offered, false) }

// helloTo is the server's ServerHello of h: the version in legacy_version
// up to TLS 1.2, in supported_versions for TLS 1.3.
func helloTo(h *Hello) []byte {
	legacy := min(h.Version, 0x0303)
	var b cryptobyte.Builder
	b.AddUint8(22)
	b.AddUint16(legacy)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(2) // ServerHello
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(legacy)
			b.AddBytes(filler[64:96])
			b.AddUint8(0)
			b.AddUint16(h.Suite)
			b.AddUint8(0)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				if h.Version >= 0x0304 {
					b.AddUint16(43)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(h.Version) })
				}
			})
		})
	})
	return b.BytesOrPanic()
}

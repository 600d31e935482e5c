package gencap

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/net/dns/dnsmessage"
)

// step is one packet of a flow's script.
type step struct {
	client bool   // sent by the client
	flags  uint8  // TCP flags
	size   uint16 // payload bytes, for payloads that are not a protocol's opening
}

// TCP flag bits, as on the wire.
const (
	fin = 0x01
	syn = 0x02
	rst = 0x04
	psh = 0x08
	ack = 0x10
)

const mss = 1448 // payload of a full-size segment with timestamps

// flowGen is an open flow: its script and where it is in it.
type flowGen struct {
	p        plan
	steps    []step
	pos      int
	cli, srv net.IP
	cport    uint16
	cmac     net.HardwareAddr
	seq      [2]uint32 // next sequence number: client, server
	spoke    [2]bool   // the side has sent a payload
	name     string    // the server's name, for SNI, Host and DNS
	dnsName  dnsmessage.Name
	id       uint16 // DNS ID, ICMP sequence
}

func (g *gen) open(i int) *flowGen {
	var f *flowGen
	if n := len(g.free); n > 0 {
		f, g.free = g.free[n-1], g.free[:n-1]
		*f = flowGen{steps: f.steps[:0]}
	} else {
		f = &flowGen{}
	}
	r := g.rng
	p := g.plans[i]
	host, slot := i%g.hosts, i/g.hosts
	s := r.IntN(servers)
	f.p = p
	f.cli, f.srv = clientAddr(host, p.v6), serverAddr(s, p.v6)
	f.cport = uint16(32768 + (slot*7919+host)%portSlots)
	f.cmac = clientMAC(host)
	f.seq = [2]uint32{r.Uint32(), r.Uint32()}
	f.name = fmt.Sprintf("s%d.storage.example.net", s)
	f.dnsName = dnsmessage.MustNewName(f.name + ".")
	f.id = uint16(r.Uint32())

	n := int(p.n)
	switch p.kind {
	case tcpFIN, tcpRST:
		head := []step{{client: true, flags: syn}, {flags: syn | ack}, {client: true, flags: ack}}
		tail := []step{{client: true, flags: fin | ack}, {flags: fin | ack}, {client: true, flags: ack}}
		if p.kind == tcpRST {
			tail = []step{{client: true, flags: rst | ack}}
		}
		if n <= len(head)+len(tail) {
			f.steps = append(append(f.steps, head...), tail...)[:n]
			break
		}
		f.steps = append(f.steps, head...)
		f.exchanges(r, n-len(head)-len(tail))
		f.steps = append(f.steps, tail...)
	case tcpRefused:
		for len(f.steps) < n {
			f.steps = append(f.steps, step{client: true, flags: syn}, step{flags: rst | ack})
		}
		f.steps = f.steps[:n]
	default:
		for j := range n {
			st := step{client: j%2 == 0}
			if p.kind == udpNFS {
				st.size = uint16(100 + r.IntN(200))
				if !st.client {
					st.size = uint16(100 + r.IntN(mss-100))
				}
			}
			f.steps = append(f.steps, st)
		}
	}
	return f
}

// exchanges appends m packets of requests and responses: a request, then
// one to four segments from the side that sends the data, acknowledged every
// second segment; a quarter of NFS exchanges and a tenth of the rest upload.
func (f *flowGen) exchanges(r *rand.Rand, m int) {
	start := len(f.steps)
	for len(f.steps)-start < m {
		upload := r.IntN(10) == 0 || (f.p.port == 2049 && r.IntN(4) == 0)
		f.steps = append(f.steps, step{client: true, flags: psh | ack, size: uint16(60 + r.IntN(500))})
		segs := 1 + r.IntN(4)
		for j := range segs {
			st := step{client: upload, flags: ack, size: mss}
			if j == segs-1 {
				st.flags |= psh
				st.size = uint16(100 + r.IntN(mss-100))
			}
			f.steps = append(f.steps, st)
			if j%2 == 1 || j == segs-1 {
				f.steps = append(f.steps, step{client: !upload, flags: ack})
			}
		}
		if upload {
			f.steps = append(f.steps, step{flags: psh | ack, size: uint16(100 + r.IntN(100))})
		}
	}
	f.steps = f.steps[:start+m]
}

// filler is the content of payloads that are not a protocol's opening.
var filler = func() []byte {
	b := make([]byte, 1500)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}()

// frame builds the packet of step st of flow f.
func (g *gen) frame(f *flowGen, st step) []byte {
	side := 1
	if st.client {
		side = 0
	}
	src, dst := f.srv, f.cli
	srcMAC, dstMAC := gatewayMAC, f.cmac
	if st.client {
		src, dst, srcMAC, dstMAC = f.cli, f.srv, f.cmac, gatewayMAC
	}
	g.stack = g.stack[:0]
	g.eth = layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC}
	g.stack = append(g.stack, &g.eth)
	ipType := layers.EthernetTypeIPv4
	if f.p.v6 {
		ipType = layers.EthernetTypeIPv6
	}
	if f.p.vlan != 0 {
		g.eth.EthernetType = layers.EthernetTypeDot1Q
		g.dot1q = layers.Dot1Q{VLANIdentifier: f.p.vlan, Type: ipType}
		g.stack = append(g.stack, &g.dot1q)
	} else {
		g.eth.EthernetType = ipType
	}
	var proto layers.IPProtocol
	switch f.p.kind {
	case tcpFIN, tcpRST, tcpRefused:
		proto = layers.IPProtocolTCP
	case icmpEcho:
		proto = layers.IPProtocolICMPv4
		if f.p.v6 {
			proto = layers.IPProtocolICMPv6
		}
	default:
		proto = layers.IPProtocolUDP
	}
	var network gopacket.NetworkLayer
	if f.p.v6 {
		g.ip6 = layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src, DstIP: dst}
		network = &g.ip6
	} else {
		g.ip4 = layers.IPv4{Version: 4, IHL: 5, TTL: 64, Flags: layers.IPv4DontFragment, Id: uint16(g.written),
			Protocol: proto, SrcIP: src, DstIP: dst}
		network = &g.ip4
	}
	g.stack = append(g.stack, network.(gopacket.SerializableLayer))

	var payload []byte
	switch f.p.kind {
	case tcpFIN, tcpRST, tcpRefused:
		if st.size > 0 {
			payload = f.opening(side, st)
		}
		g.tcp = layers.TCP{
			SrcPort: layers.TCPPort(f.p.port), DstPort: layers.TCPPort(f.cport),
			Seq: f.seq[side], Ack: f.seq[1-side], Window: 502,
			FIN: st.flags&fin != 0, SYN: st.flags&syn != 0, RST: st.flags&rst != 0,
			PSH: st.flags&psh != 0, ACK: st.flags&ack != 0,
		}
		if st.client {
			g.tcp.SrcPort, g.tcp.DstPort = g.tcp.DstPort, g.tcp.SrcPort
		}
		if st.flags&ack == 0 {
			g.tcp.Ack = 0
		}
		f.seq[side] += uint32(len(payload))
		if st.flags&(syn|fin) != 0 {
			f.seq[side]++
		}
		g.tcp.SetNetworkLayerForChecksum(network)
		g.stack = append(g.stack, &g.tcp)
	case icmpEcho:
		payload = filler[:56]
		if f.p.v6 {
			g.icmp6 = layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoReply, 0)}
			if st.client {
				g.icmp6.TypeCode = layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)
			}
			g.icmp6.SetNetworkLayerForChecksum(network)
			g.echo6 = layers.ICMPv6Echo{Identifier: f.cport, SeqNumber: f.id}
			g.stack = append(g.stack, &g.icmp6, &g.echo6)
		} else {
			g.icmp4 = layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: f.cport, Seq: f.id}
			if st.client {
				g.icmp4.TypeCode = layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0)
			}
			g.stack = append(g.stack, &g.icmp4)
		}
		if !st.client {
			f.id++
		}
	default:
		switch f.p.kind {
		case udpDNS:
			payload = f.dns(st.client)
		case udpNTP:
			payload = ntp(st.client)
		default:
			payload = filler[:st.size]
		}
		g.udp = layers.UDP{SrcPort: layers.UDPPort(f.p.port), DstPort: layers.UDPPort(f.cport)}
		if st.client {
			g.udp.SrcPort, g.udp.DstPort = g.udp.DstPort, g.udp.SrcPort
		}
		g.udp.SetNetworkLayerForChecksum(network)
		g.stack = append(g.stack, &g.udp)
	}
	if len(payload) > 0 {
		g.stack = append(g.stack, gopacket.Payload(payload))
	}
	return g.serialize(g.stack...)
}

// opening returns the payload of a TCP step: the protocol's first bytes
// when the side has not spoken yet, filler otherwise.
func (f *flowGen) opening(side int, st step) []byte {
	first := !f.spoke[side]
	f.spoke[side] = true
	if !first {
		return filler[:st.size]
	}
	client := side == 0
	switch f.p.port {
	case 443:
		if client {
			return clientHello(f.name, tls13Suites, true)
		}
		return serverHello()
	case 80:
		if client {
			return []byte("GET /objects/" + f.name + " HTTP/1.1\r\nHost: " + f.name + "\r\nUser-Agent: gencap\r\n\r\n")
		}
		return append([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"), filler[:st.size]...)
	case 22:
		if client {
			return []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
		}
		return []byte("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n")
	}
	return filler[:st.size]
}

// tls13Suites are what the mix's clients offer.
var tls13Suites = []uint16{0x1301, 0x1302}

// clientHello is a ClientHello offering suites, with SNI sni. A tls13 one
// carries a session id and supported_versions (1.3, 1.2), as a TLS 1.3
// client sends; another carries neither, and no SNI when sni is empty.
func clientHello(sni string, suites []uint16, tls13 bool) []byte {
	var b cryptobyte.Builder
	b.AddUint8(22) // handshake record
	b.AddUint16(0x0301)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(1) // ClientHello
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x0303)
			b.AddBytes(filler[:32]) // random
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
				if tls13 {
					b.AddBytes(filler[32:64])
				}
			})
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, c := range suites {
					b.AddUint16(c)
				}
			})
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				if sni != "" || tls13 {
					b.AddUint16(0) // server_name
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
							b.AddUint8(0) // host_name
							b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(sni)) })
						})
					})
				}
				if tls13 {
					b.AddUint16(43) // supported_versions
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
						b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x0304); b.AddUint16(0x0303) })
					})
				}
			})
		})
	})
	return b.BytesOrPanic()
}

// serverHello is a TLS 1.3 ServerHello choosing TLS_AES_128_GCM_SHA256.
func serverHello() []byte {
	var b cryptobyte.Builder
	b.AddUint8(22)
	b.AddUint16(0x0303)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(2) // ServerHello
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x0303)
			b.AddBytes(filler[64:96])
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(filler[32:64]) })
			b.AddUint16(0x1301)
			b.AddUint8(0)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16(43)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x0304) })
			})
		})
	})
	return b.BytesOrPanic()
}

// dns returns a query for the server's name or its answer with the
// server's address (A or AAAA as the flow's family).
func (f *flowGen) dns(query bool) []byte {
	typ := dnsmessage.TypeA
	if f.p.v6 {
		typ = dnsmessage.TypeAAAA
	}
	hdr := dnsmessage.Header{ID: f.id, RecursionDesired: true}
	if !query {
		hdr.Response, hdr.RecursionAvailable = true, true
	}
	b := dnsmessage.NewBuilder(nil, hdr)
	q := dnsmessage.Question{Name: f.dnsName, Type: typ, Class: dnsmessage.ClassINET}
	if err := b.StartQuestions(); err != nil {
		panic(err)
	}
	if err := b.Question(q); err != nil {
		panic(err)
	}
	if !query {
		if err := b.StartAnswers(); err != nil {
			panic(err)
		}
		rh := dnsmessage.ResourceHeader{Name: f.dnsName, Type: typ, Class: dnsmessage.ClassINET, TTL: 300}
		addr, _ := netip.AddrFromSlice(f.srv)
		var err error
		if f.p.v6 {
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: addr.As16()})
		} else {
			err = b.AResource(rh, dnsmessage.AResource{A: addr.Unmap().As4()})
		}
		if err != nil {
			panic(err)
		}
		f.id++
	}
	msg, err := b.Finish()
	if err != nil {
		panic(err)
	}
	return msg
}

// ntp returns an NTPv4 client request or server reply (48 bytes).
func ntp(client bool) []byte {
	b := make([]byte, 48)
	copy(b[1:], filler[:47])
	b[0] = 0x23 // LI 0, version 4, mode 3 (client)
	if !client {
		b[0] = 0x24 // mode 4 (server)
		b[1] = 2    // stratum
	}
	return b
}

package gencap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Format is the container written.
type Format uint8

const (
	Pcap   Format = iota // classic pcap, microsecond timestamps
	PcapNG               // pcapng, one Ethernet interface
)

// Config says what to write. The zero Seed is a seed like any other.
type Config struct {
	Packets int // exact number of packets, at least Flows plus one ARP per 5,000
	Flows   int // exact number of bidirectional flows (5-tuples)
	Seed    uint64
	Format  Format
}

// Stats describes what Write wrote.
type Stats struct {
	Packets int
	Flows   int
	Bytes   int64 // frame bytes, without file headers
	ARP     int   // ARP packets, which belong to no flow
}

// Start is the time of the first packet of every capture.
var Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// arpEvery is how often (in packets) an ARP request is written.
const arpEvery = 5000

// concurrent is how many flows are open at once: each packet comes from one
// of them at random, so flows interleave as on a real link.
const concurrent = 2048

// Write writes a capture described by cfg to w.
func Write(w io.Writer, cfg Config) (Stats, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var write func(ci gopacket.CaptureInfo, data []byte) error
	var flush func() error
	switch cfg.Format {
	case Pcap:
		pw := pcapgo.NewWriter(bw)
		if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			return Stats{}, fmt.Errorf("gencap: %w", err)
		}
		write, flush = pw.WritePacket, bw.Flush
	case PcapNG:
		nw, err := pcapgo.NewNgWriter(bw, layers.LinkTypeEthernet)
		if err != nil {
			return Stats{}, fmt.Errorf("gencap: %w", err)
		}
		write = nw.WritePacket
		flush = func() error {
			if err := nw.Flush(); err != nil {
				return err
			}
			return bw.Flush()
		}
	default:
		return Stats{}, errors.New("gencap: unknown format")
	}
	st, err := Each(cfg, func(ts time.Time, frame []byte) error {
		return write(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, frame)
	})
	if err != nil {
		return st, err
	}
	if err := flush(); err != nil {
		return st, fmt.Errorf("gencap: write: %w", err)
	}
	return st, nil
}

// Each calls fn with every Ethernet frame of the capture cfg describes (its
// Format is ignored), in order; frame is valid only during the call. Tests
// and benchmarks use it to hold frames in memory without a file.
func Each(cfg Config, fn func(ts time.Time, frame []byte) error) (Stats, error) {
	arps := cfg.Packets / arpEvery
	if cfg.Flows < 1 || cfg.Packets < cfg.Flows+arps {
		return Stats{}, fmt.Errorf("gencap: %d packets cannot carry %d flows and %d ARP packets", cfg.Packets, cfg.Flows, arps)
	}
	if cfg.Flows > maxFlows {
		return Stats{}, fmt.Errorf("gencap: at most %d flows", maxFlows)
	}
	g := newGen(cfg, arps)
	var st Stats
	for {
		frame, ts, ok := g.next()
		if !ok {
			break
		}
		if err := fn(ts, frame); err != nil {
			return st, fmt.Errorf("gencap: write: %w", err)
		}
		st.Packets++
		st.Bytes += int64(len(frame))
	}
	st.Flows, st.ARP = cfg.Flows, g.arpsDone
	if st.Packets != cfg.Packets {
		return st, fmt.Errorf("gencap: wrote %d packets, planned %d", st.Packets, cfg.Packets)
	}
	return st, nil
}

// kind is what a flow does.
type kind uint8

const (
	tcpFIN     kind = iota // handshake, exchanges, FIN from both sides
	tcpRST                 // handshake, exchanges, reset by the client
	tcpRefused             // SYN answered by RST, retried
	udpDNS                 // DNS query and answer
	udpNTP                 // NTP client and server
	udpNFS                 // NFS over UDP: requests and replies of any size
	icmpEcho               // ping
	numKinds
)

// share is each kind's share of flows, in percent.
var share = [numKinds]int{tcpFIN: 53, tcpRST: 10, tcpRefused: 5, udpDNS: 18, udpNTP: 4, udpNFS: 5, icmpEcho: 5}

// natural is the packets of each kind's shortest complete flow.
var natural = [numKinds]int{tcpFIN: 9, tcpRST: 7, tcpRefused: 2, udpDNS: 2, udpNTP: 2, udpNFS: 2, icmpEcho: 2}

// weight is each kind's appetite for the packets left over.
var weight = [numKinds]float64{tcpFIN: 20, tcpRST: 14, tcpRefused: 1, udpDNS: 1, udpNTP: 2, udpNFS: 10, icmpEcho: 3}

// TCP services and their shares of TCP flows, in percent.
var tcpPorts = []struct {
	port  uint16
	share int
}{{443, 50}, {80, 15}, {2049, 15}, {22, 10}, {8080, 10}}

// plan is one flow decided up front; its packets are scripted when it opens.
type plan struct {
	n    int32 // packets
	port uint16
	vlan uint16 // 802.1Q VLAN ID, 0 for untagged
	kind kind
	v6   bool
}

// Address space: client host h and port slot s make flow i unique, since
// i = s*hosts + h and every slot maps to a distinct port.
const (
	portSlots = 28000 // ephemeral ports 32768..60767
	servers   = 512
	maxFlows  = 1 << 26 // 4M client hosts, within 10.1.0.0-10.64.255.255
)

type gen struct {
	cfg      Config
	rng      *rand.Rand
	plans    []plan
	hosts    int
	opened   int // flows opened so far
	active   []*flowGen
	free     []*flowGen
	arpsLeft int
	arpsDone int
	written  int
	now      time.Time

	buf   gopacket.SerializeBuffer
	opts  gopacket.SerializeOptions
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	ip4   layers.IPv4
	ip6   layers.IPv6
	tcp   layers.TCP
	udp   layers.UDP
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6
	echo6 layers.ICMPv6Echo
	arp   layers.ARP
	stack []gopacket.SerializableLayer
}

func newGen(cfg Config, arps int) *gen {
	g := &gen{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x77697265636b)),
		hosts:    max(cfg.Flows/16, 64),
		arpsLeft: arps,
		now:      Start,
		buf:      gopacket.NewSerializeBuffer(),
		opts:     gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
	}
	g.plan(cfg.Packets - arps)
	return g
}

// plan decides every flow's kind and length. Each flow gets its natural
// length when the budget allows, and the rest is shared by heavy-tailed
// weights: a few long flows, many short ones.
func (g *gen) plan(budget int) {
	r := g.rng
	g.plans = make([]plan, g.cfg.Flows)
	w := make([]float64, len(g.plans))
	minimum := 0
	for i := range g.plans {
		p := &g.plans[i]
		x := r.IntN(100)
		for k := range numKinds {
			if x < share[k] {
				p.kind = k
				break
			}
			x -= share[k]
		}
		p.v6 = r.IntN(100) < 15
		if r.IntN(10) == 0 {
			p.vlan = uint16(100 + r.IntN(8))
		}
		switch p.kind {
		case tcpFIN, tcpRST, tcpRefused:
			x := r.IntN(100)
			for _, s := range tcpPorts {
				if x < s.share {
					p.port = s.port
					break
				}
				x -= s.share
			}
		case udpDNS:
			p.port = 53
		case udpNTP:
			p.port = 123
		case udpNFS:
			p.port = 2049
		case icmpEcho:
			p.v6 = p.v6 && r.IntN(2) == 0
		}
		// Pareto with shape 1.2, capped so that no flow takes the capture.
		w[i] = weight[p.kind] * min(math.Pow(1-r.Float64(), -1/1.2), 5000)
		minimum += natural[p.kind]
	}
	base := func(p *plan) int { return natural[p.kind] }
	if minimum > budget {
		base = func(*plan) int { return 1 }
		minimum = len(g.plans)
	}
	extra := budget - minimum
	var total float64
	for _, x := range w {
		total += x
	}
	sum := 0
	for i := range g.plans {
		n := base(&g.plans[i]) + int(float64(extra)*w[i]/total)
		g.plans[i].n = int32(n)
		sum += n
	}
	for i := 0; sum < budget; i = (i + 1) % len(g.plans) {
		g.plans[i].n++
		sum++
	}
}

// next returns the next frame (valid until the following call) and its time.
func (g *gen) next() ([]byte, time.Time, bool) {
	g.now = g.now.Add(time.Duration(1+g.rng.IntN(20)) * time.Microsecond)
	if g.arpsLeft > 0 && (g.written%arpEvery == arpEvery-1 || (len(g.active) == 0 && g.opened == len(g.plans))) {
		g.arpsLeft--
		g.arpsDone++
		g.written++
		return g.arpFrame(), g.now, true
	}
	for len(g.active) < concurrent && g.opened < len(g.plans) {
		g.active = append(g.active, g.open(g.opened))
		g.opened++
	}
	if len(g.active) == 0 {
		return nil, g.now, false
	}
	i := g.rng.IntN(len(g.active))
	f := g.active[i]
	frame := g.frame(f, f.steps[f.pos])
	f.pos++
	if f.pos == len(f.steps) {
		g.active[i] = g.active[len(g.active)-1]
		g.active = g.active[:len(g.active)-1]
		g.free = append(g.free, f)
	}
	g.written++
	return frame, g.now, true
}

func (g *gen) arpFrame() []byte {
	h := g.rng.IntN(g.hosts)
	g.eth = layers.Ethernet{SrcMAC: clientMAC(h), DstMAC: broadcast, EthernetType: layers.EthernetTypeARP}
	ip := clientAddr(h, false).To4()
	g.arp = layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: g.eth.SrcMAC, SourceProtAddress: ip,
		DstHwAddress: make([]byte, 6), DstProtAddress: net.IPv4(10, 0, 0, 1).To4(),
	}
	return g.serialize(&g.eth, &g.arp)
}

func (g *gen) serialize(ls ...gopacket.SerializableLayer) []byte {
	if err := gopacket.SerializeLayers(g.buf, g.opts, ls...); err != nil {
		panic(fmt.Sprintf("gencap: serialize: %v", err)) // our own layers: a bug, not input
	}
	return g.buf.Bytes()
}

var (
	broadcast  = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	gatewayMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01}
)

func clientMAC(h int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0xc1, 0, byte(h >> 16), byte(h >> 8), byte(h)}
}

func clientAddr(h int, v6 bool) net.IP {
	if v6 {
		return net.IP{0xfd, 0, 0xc1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(h >> 16), byte(h >> 8), byte(h)}
	}
	return net.IPv4(10, byte(1+h>>16), byte(h>>8), byte(h)).To4()
}

func serverAddr(s int, v6 bool) net.IP {
	if v6 {
		return net.IP{0xfd, 0, 0x5e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(s >> 8), byte(s)}
	}
	return net.IPv4(172, 16, byte(s>>8), byte(s)).To4()
}

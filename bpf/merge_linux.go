//go:build linux && (amd64 || arm64)

package bpf

import (
	"encoding/binary"

	"github.com/wirecheck/wirecheck/bpf/internal/counter"
	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
)

// This file converts the kernel's records into classify types, once, so
// that the generated types never leave the package.

// flowKey converts a kernel flow key.
func flowKey(k *counter.ProgFlowKey) flow.Key {
	return flow.Key{A: k.A, B: k.B, APort: k.A_port, BPort: k.B_port, Proto: ipproto.Proto(k.Proto)}
}

// mergeFlow sums the per-CPU shares of one flow (see struct flow_stats in
// c/types.h for the rules) into a flow.Flow, converting CLOCK_MONOTONIC
// times to Unix nanoseconds with offset.
func mergeFlow(k *counter.ProgFlowKey, per []counter.ProgFlowStats, offset int64) flow.Flow {
	f := flow.Flow{Key: flowKey(k)}
	var total uint64
	for i := range per {
		total += per[i].Packets[0] + per[i].Packets[1]
	}
	var first, last, unreach uint64
	firstCPU, unreachCPU := -1, -1
	for i := range per {
		v := &per[i]
		for s := range 2 {
			f.Packets[s] += v.Packets[s]
			f.Bytes[s] += v.Bytes[s]
			f.Payload[s] += v.Payload[s]
			f.Flags[s] |= v.Flags[s]
			f.SYNs[s] += v.Syns[s]
		}
		f.Fragments += v.Fragments
		f.Unreachable += v.Unreachable
		last = max(last, v.LastNs)
		// The first packet decides First; a flow known only from an ICMP
		// error has the time of that error.
		if v.FirstNs != 0 && (total == 0 || v.Packets[0]+v.Packets[1] > 0) && (firstCPU < 0 || v.FirstNs < first) {
			first, firstCPU = v.FirstNs, i
		}
		if v.Unreachable > 0 && (unreachCPU < 0 || v.UnreachNs > unreach) {
			unreach, unreachCPU = v.UnreachNs, i
		}
	}
	if firstCPU >= 0 {
		f.First = int64(first) + offset
		f.FirstSide = flow.Side(per[firstCPU].FirstSide & 1)
	}
	if last != 0 {
		f.Last = int64(last) + offset
	}
	if unreachCPU >= 0 {
		v := &per[unreachCPU]
		f.UnreachableType, f.UnreachableCode, f.UnreachableFrom = v.UnreachType, v.UnreachCode, v.UnreachFrom
	}
	return f
}

// lastNs returns the latest CLOCK_MONOTONIC time of a flow's shares.
func lastNs(per []counter.ProgFlowStats) uint64 {
	var last uint64
	for i := range per {
		last = max(last, per[i].LastNs)
	}
	return last
}

// sumCounters adds up the per-CPU counters.
func sumCounters(per []counter.ProgCounters) Stats {
	var s Stats
	for i := range per {
		v := &per[i]
		s.Packets += v.Packets
		s.Bytes += v.Bytes
		s.Created += v.Created
		s.Lost += v.Lost
		s.RingDrops += v.RingDrops
		s.PayloadDrops += v.PayloadDrops
		s.UntiedFragments += v.UntiedFragments
		s.Truncated += v.Truncated
		s.Malformed += v.Malformed
		s.OtherPackets += v.OtherPackets
		s.OtherBytes += v.OtherBytes
		s.TunnelPackets += v.TunnelPackets
		s.TunnelBytes += v.TunnelBytes
	}
	return s
}

// decodeNewFlow decodes a ring-buffer record (struct new_flow).
func decodeNewFlow(raw []byte, offset int64) (NewFlow, bool) {
	var ev counter.ProgNewFlow
	if _, err := binary.Decode(raw, binary.NativeEndian, &ev); err != nil {
		return NewFlow{}, false
	}
	return NewFlow{Key: flowKey(&ev.Key), First: flow.Side(ev.FirstSide & 1), Time: int64(ev.TimeNs) + offset,
		Flags: ev.Flags, Opening: ev.Syn != 0, Quoted: ev.Quoted != 0}, true
}

// Reasons of struct payload (c/types.h).
const (
	payloadFirst   = 1
	payloadDNS     = 2
	payloadControl = 4
)

// decodePayload decodes a ring-buffer record (struct payload), copying the
// data out of the ring.
func decodePayload(raw []byte, offset int64) (Payload, bool) {
	var ev counter.ProgPayload
	if _, err := binary.Decode(raw, binary.NativeEndian, &ev); err != nil {
		return Payload{}, false
	}
	n := min(int(ev.Len), len(ev.Data))
	return Payload{
		Key:     flowKey(&ev.Key),
		Side:    flow.Side(ev.Side & 1),
		Time:    int64(ev.TimeNs) + offset,
		Data:    append([]byte(nil), ev.Data[:n]...),
		Len:     int(ev.Declared),
		First:   ev.Reasons&payloadFirst != 0,
		DNS:     ev.Reasons&payloadDNS != 0,
		Control: ev.Reasons&payloadControl != 0,
	}, true
}

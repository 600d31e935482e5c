//go:build linux && (amd64 || arm64)

package bpf

import (
	"errors"
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/wirecheck/wirecheck/bpf/internal/counter"
)

// Reattach attaches the counter to ifname again after the interface was
// deleted and re-created, keeping the maps and so every count. The kernel
// detaches a program from an interface it deletes, but this process still
// holds the dead links (TCX) or filters (legacy tc); Reattach releases the
// attachments of interfaces that no longer exist, then attaches to ifname
// unless it is still attached (an interface that only went down and up
// keeps its attachment). It returns ErrNoInterface while ifname is missing.
func (c *Counter) Reattach(ifname string) error {
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("interface %s: %w", ifname, ErrNoInterface)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	live := c.links[:0]
	for _, l := range c.links {
		if idx, ok := linkIfindex(l); ok && interfaceExists(idx) {
			live = append(live, l)
			continue
		}
		l.Close() // the kernel already detached it; this frees the fd
	}
	clear(c.links[len(live):])
	c.links = live
	legacy := c.legacy[:0]
	for _, a := range c.legacy {
		if interfaceExists(a.ifindex) {
			legacy = append(legacy, a)
			continue
		}
		a.h.Close() // the filters went with the interface
	}
	clear(c.legacy[len(legacy):])
	c.legacy = legacy
	for idx := range c.ifaces {
		if !interfaceExists(idx) {
			delete(c.ifaces, idx)
		}
	}
	attached := c.ifaces[iface.Index] && c.attachedTo(iface.Index)
	c.mu.Unlock()
	if attached {
		return nil
	}
	return c.Attach(ifname)
}

// attachedTo reports whether a live attachment to ifindex remains; c.mu is
// held.
func (c *Counter) attachedTo(ifindex int) bool {
	for _, l := range c.links {
		if idx, ok := linkIfindex(l); ok && idx == ifindex {
			return true
		}
	}
	for _, a := range c.legacy {
		if a.ifindex == ifindex {
			return true
		}
	}
	return false
}

// linkIfindex returns the interface a TCX link is attached to; the kernel
// reports 0 once the interface is gone.
func linkIfindex(l link.Link) (int, bool) {
	info, err := l.Info()
	if err != nil {
		return 0, false
	}
	tcx := info.TCX()
	if tcx == nil || tcx.Ifindex == 0 {
		return 0, false
	}
	return int(tcx.Ifindex), true
}

func interfaceExists(ifindex int) bool {
	_, err := net.InterfaceByIndex(ifindex)
	return err == nil
}

// MaxServerPorts is the room the server-port map keeps for SetServerPorts
// (or the number of ports given to Load, if more): a hash map of 1,024
// three-byte keys costs the kernel about 64 KiB.
const MaxServerPorts = 1024

// SetServerPorts replaces the profile's server ports, for a profile
// reloaded while the counter runs: flows created from now on are announced
// on NewFlows unless one of these ports covers them. The map holds at least
// MaxServerPorts ports; beyond that an error says so and the ports that fit
// are kept, so more flows are announced than need be, never fewer.
func (c *Counter) SetServerPorts(ports []PortKey) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	want := make(map[counter.ProgPortKey]bool, len(ports))
	for _, pk := range ports {
		if pk.Proto.IsICMP() && pk.Port != 0 {
			return fmt.Errorf("server port %v/%d: ICMP rules take port 0", pk.Proto, pk.Port)
		}
		want[counter.ProgPortKey{Proto: uint8(pk.Proto), Port: pk.Port}] = true
	}
	var (
		k     counter.ProgPortKey
		v     uint8
		stale []counter.ProgPortKey
	)
	it := c.objs.ServerPorts.Iterate()
	for it.Next(&k, &v) {
		if !want[k] {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read server ports: %w", err)
	}
	// Delete first, so that the new ports find room.
	for i := range stale {
		if err := c.objs.ServerPorts.Delete(&stale[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("remove server port: %w", err)
		}
	}
	for pk := range want {
		if err := c.objs.ServerPorts.Put(&pk, uint8(1)); err != nil {
			return fmt.Errorf("server ports: the kernel map holds %d (%w)", c.objs.ServerPorts.MaxEntries(), err)
		}
	}
	return nil
}

// StableStats is Stats for a map that never stops churning: it reads the
// counters and the map once, and counts as evicted only flows created before
// the read began (Created - Swept - live flows whose first packet came
// before), so that flows created while the map is read are not taken for
// evicted ones. Evicted then never runs ahead of the truth (it may miss an
// eviction of a flow made in the microseconds between reading the counters
// and the clock), and a metric built on it does not jump up and back down
// under churn, as Stats' count can.
func (c *Counter) StableStats() (Stats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return Stats{}, ErrClosed
	}
	// The counters first, then the clock: every flow Created counts was
	// made before t0, so a flow made between the two reads can only make
	// Evicted smaller, never invent an eviction (an eviction alert that
	// fires on churn alone would teach operators to ignore it).
	s, err := c.totals()
	if err != nil {
		return Stats{}, err
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return Stats{}, fmt.Errorf("read clock: %w", err)
	}
	t0 := uint64(ts.Nano()) // bpf_ktime_get_ns's clock
	var live, before uint64
	err = c.scan(func(_ *counter.ProgFlowKey, v []counter.ProgFlowStats) {
		live++
		first := uint64(0)
		for i := range v {
			if f := v[i].FirstNs; f != 0 && (first == 0 || f < first) {
				first = f
			}
		}
		if first < t0 { // 0: known only from an ICMP error; counted by then
			before++
		}
	})
	if err != nil {
		return Stats{}, err
	}
	s.Live, s.Swept = live, c.swept
	if removed := before + c.swept; s.Created > removed {
		s.Evicted = s.Created - removed
	}
	return s, nil
}

// TCXPrograms names the TCX programs attached to the interface with index
// ifindex in the calling thread's network namespace, as "tcx_ingress:NAME":
// what an operator (or a test) checks to see that nothing stayed attached.
func TCXPrograms(ifindex int) ([]string, error) {
	var names []string
	for _, at := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
		res, err := link.QueryPrograms(link.QueryOptions{Target: ifindex, Attach: at})
		if err != nil {
			return names, fmt.Errorf("query %v: %w", at, err)
		}
		for _, p := range res.Programs {
			prog, err := ebpf.NewProgramFromID(p.ID)
			if err != nil {
				continue // detached meanwhile
			}
			info, err := prog.Info()
			prog.Close()
			if err == nil {
				names = append(names, at.String()+":"+info.Name)
			}
		}
	}
	return names, nil
}

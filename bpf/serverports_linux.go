//go:build linux && (amd64 || arm64)

package bpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/wirecheck/wirecheck/bpf/internal/counter"
)

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

//go:build linux && (amd64 || arm64)

package bpf

import (
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
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

//go:build linux && (amd64 || arm64)

package bpf

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The fallback for kernels without TCX (before 6.6): a clsact qdisc with a
// direct-action BPF filter on ingress and egress. Unlike TCX links, such
// filters are not tied to the process: a killed process leaves them
// attached, still counting into maps nobody reads. Each filter is named
// "wirecheck-PID-START", START being the process's start time, so that a
// PID the kernel has since given to another process does not keep a dead
// process's filter alive; before attaching, attachLegacy removes the
// filters of processes that no longer exist, so the next start cleans up
// after a killed one. The clsact qdisc itself is left in place: other
// tools' filters may hang off it, and an empty one costs nothing.

// legacyPrefix starts the name of every filter wirecheck adds.
const legacyPrefix = "wirecheck-"

// legacyParents are the clsact hooks: ingress and egress.
var legacyParents = [...]uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS}

// legacyAttachment is this process's pair of filters on one interface. It
// keeps a netlink handle bound to the network namespace Attach ran in, so
// that Close finds the interface from any namespace.
type legacyAttachment struct {
	h       *netlink.Handle
	ifindex int
	name    string
	hooks   []hook
}

func attachLegacy(iface *net.Interface, prog *ebpf.Program) (*legacyAttachment, error) {
	ns, err := netns.Get() // the calling thread's namespace, where iface is
	if err != nil {
		return nil, fmt.Errorf("network namespace: %w", err)
	}
	h, err := netlink.NewHandleAt(ns)
	ns.Close()
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	a := &legacyAttachment{h: h, ifindex: iface.Index, name: legacyName(os.Getpid()), hooks: hooks(iface)}
	if err := a.attach(prog); err != nil {
		a.detach()
		return nil, err
	}
	return a, nil
}

func (a *legacyAttachment) attach(prog *ebpf.Program) error {
	lnk, err := a.h.LinkByIndex(a.ifindex)
	if err != nil {
		return fmt.Errorf("find link: %w", err)
	}
	qdisc := &netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: a.ifindex, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT},
		QdiscType:  "clsact",
	}
	if err := a.h.QdiscAdd(qdisc); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add clsact qdisc: %w", err)
	}
	if err := removeStaleFilters(a.h, lnk); err != nil {
		return err
	}
	for _, hk := range a.hooks {
		parent := hk.parent
		f := &netlink.BpfFilter{
			FilterAttrs: netlink.FilterAttrs{
				LinkIndex: a.ifindex,
				Parent:    parent,
				Handle:    1,
				Protocol:  unix.ETH_P_ALL,
			},
			Fd:           prog.FD(),
			Name:         a.name,
			DirectAction: true,
		}
		if err := a.h.FilterAdd(f); err != nil {
			return fmt.Errorf("add bpf filter: %w", err)
		}
	}
	return nil
}

// removeStaleFilters deletes the filters of wirecheck processes that are
// gone.
func removeStaleFilters(h *netlink.Handle, lnk netlink.Link) error {
	for _, parent := range legacyParents {
		filters, err := h.FilterList(lnk, parent)
		if err != nil {
			return fmt.Errorf("list tc filters: %w", err)
		}
		for _, f := range filters {
			bf, ok := f.(*netlink.BpfFilter)
			if !ok || !legacyStale(bf.Name) {
				continue // not ours to judge, or its process still runs
			}
			if err := h.FilterDel(bf); err != nil {
				return fmt.Errorf("remove stale filter %s: %w", bf.Name, err)
			}
		}
	}
	return nil
}

// legacyName is the filter name of process pid.
func legacyName(pid int) string {
	name := legacyPrefix + strconv.Itoa(pid)
	if start, ok := startTime(pid); ok {
		name += "-" + start
	}
	return name
}

// legacyStale reports whether a filter name is wirecheck's and the process
// that added it is gone: no process has its PID, or the one that has it
// started at another time. Names without a start time (from earlier
// versions) are judged by the PID alone.
func legacyStale(name string) bool {
	rest, ok := strings.CutPrefix(name, legacyPrefix)
	if !ok {
		return false
	}
	pidStr, start, withStart := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return false
	}
	if unix.Kill(pid, 0) == unix.ESRCH {
		return true
	}
	now, ok := startTime(pid)
	return withStart && ok && now != start
}

// startTime returns the start time of process pid, in clock ticks since
// boot (field 22 of /proc/PID/stat), as a string.
func startTime(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// The command (field 2) is in parentheses and may hold anything;
	// fields 3 on follow the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return "", false
	}
	return f[19], true
}

// detach removes this process's filters from the interface and releases
// the netlink handle.
func (a *legacyAttachment) detach() error {
	defer a.h.Close()
	lnk, err := a.h.LinkByIndex(a.ifindex)
	if err != nil {
		return nil // the interface is gone, and its filters with it
	}
	var errs []error
	for _, parent := range legacyParents {
		filters, err := a.h.FilterList(lnk, parent)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range filters {
			if bf, ok := f.(*netlink.BpfFilter); ok && bf.Name == a.name {
				if err := a.h.FilterDel(bf); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

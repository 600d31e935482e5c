package watch

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// capability is a Linux capability number with its name.
type capability struct {
	n    uint
	name string
}

// The capabilities each engine needs: the eBPF engine loads a program and
// its maps (CAP_BPF), attaches it to an interface with TCX or tc
// (CAP_NET_ADMIN) and reads kernel memory through it (bpf_probe_read,
// CAP_PERFMON); libpcap opens a packet socket (CAP_NET_RAW).
var (
	ebpfCaps = []capability{{unix.CAP_BPF, "CAP_BPF"}, {unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_PERFMON, "CAP_PERFMON"}}
	pcapCaps = []capability{{unix.CAP_NET_RAW, "CAP_NET_RAW"}}
)

// missingCaps returns the names of the capabilities in need that this
// process lacks in its effective set, the one the kernel checks. Reading
// the set is one capget system call, which x/sys/unix provides; libcap's Go
// package would add its psx thread machinery, which only setting
// capabilities needs.
func missingCaps(need []capability) ([]string, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil, fmt.Errorf("read capabilities: %w", err)
	}
	var missing []string
	for _, c := range need {
		if data[c.n/32].Effective&(1<<(c.n%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	return missing, nil
}

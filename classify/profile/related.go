package profile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Related says which related flows a rule accepts: data connections whose
// address and port a flow of the rule (the control flow) announced. A
// flow no rule matches is accepted under the control flow's rule when
// that rule allows the relation (classify/match).
type Related struct {
	FTP bool // PASV/EPSV replies and PORT/EPRT commands (FTP control)
	EPM bool // MS-RPC endpoint mapper map responses (TCP 135)
	// RPC allows ports an ONC RPC portmapper mapped (GETPORT, GETADDR,
	// DUMP); RPCPrograms narrows it to those programs, any when empty.
	RPC         bool
	RPCPrograms []uint32
}

// AllowsRPC reports whether the portmapper's mapping of program prog is
// allowed.
func (r *Related) AllowsRPC(prog uint32) bool {
	if !r.RPC {
		return false
	}
	if len(r.RPCPrograms) == 0 {
		return true
	}
	for _, p := range r.RPCPrograms {
		if p == prog {
			return true
		}
	}
	return false
}

// Strings returns the profile spelling, sorted: "ftp", "rpc",
// "rpc:mountd", "epm".
func (r *Related) Strings() []string {
	var out []string
	if r.FTP {
		out = append(out, "ftp")
	}
	if r.RPC && len(r.RPCPrograms) == 0 {
		out = append(out, "rpc")
	}
	for _, p := range r.RPCPrograms {
		out = append(out, "rpc:"+RPCProgramName(p))
	}
	if r.EPM {
		out = append(out, "epm")
	}
	return out
}

// rpcPrograms names the ONC RPC programs of NFSv3 and its helpers, as
// rpcinfo prints them (/etc/rpc).
var rpcPrograms = map[string]uint32{
	"portmapper": 100000, "rpcbind": 100000, "nfs": 100003, "mountd": 100005, "mount": 100005,
	"rquotad": 100011, "nlockmgr": 100021, "status": 100024, "nfs_acl": 100227,
}

// rpcProgramNames are the names rpcinfo prints.
var rpcProgramNames = map[uint32]string{
	100000: "portmapper", 100003: "nfs", 100005: "mountd", 100011: "rquotad",
	100021: "nlockmgr", 100024: "status", 100227: "nfs_acl",
}

// RPCProgramName returns the name rpcinfo gives an ONC RPC program, or its
// number.
func RPCProgramName(prog uint32) string {
	if name, ok := rpcProgramNames[prog]; ok {
		return name
	}
	return strconv.FormatUint(uint64(prog), 10)
}

// parseRelated reads one item of a rule's related list.
func parseRelated(r *Related, s string) error {
	family, arg, hasArg := strings.Cut(s, ":")
	switch {
	case family == "ftp" && !hasArg:
		r.FTP = true
	case family == "epm" && !hasArg:
		r.EPM = true
	case family == "rpc" && !hasArg:
		r.RPC, r.RPCPrograms = true, nil
	case family == "rpc":
		p, ok := rpcPrograms[arg]
		if !ok {
			n, err := strconv.ParseUint(arg, 10, 32)
			if err != nil || n == 0 {
				names := make([]string, 0, len(rpcPrograms))
				for name := range rpcPrograms {
					names = append(names, name)
				}
				sort.Strings(names)
				return fmt.Errorf("related %q: name an RPC program by number (100005) or as %s", s, strings.Join(names, ", "))
			}
			p = uint32(n)
		}
		if r.RPC && len(r.RPCPrograms) == 0 && r.rpcAny() {
			return nil // "rpc" already allows every program
		}
		r.RPC = true
		r.RPCPrograms = append(r.RPCPrograms, p)
	default:
		return fmt.Errorf("related %q: use ftp, rpc, rpc:PROGRAM or epm", s)
	}
	return nil
}

// rpcAny reports whether RPC was allowed for every program.
func (r *Related) rpcAny() bool { return r.RPC && len(r.RPCPrograms) == 0 }

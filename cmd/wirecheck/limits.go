package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/match"
)

// limitFlags bound what a run keeps in memory.
type limitFlags struct {
	maxFlows int
	tunnels  string
}

func (l *limitFlags) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&l.maxFlows, "max-flows", classify.DefaultMaxFlows, "keep at most this many flows; later flows are counted per service (protocol, server port, direction) but not judged, and the verdict is at best inconclusive (0: no limit)")
	registerTunnels(cmd, &l.tunnels)
}

// registerTunnels adds --tunnels to cmd.
func registerTunnels(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "tunnels", "auto", "auto: judge the flows inside VXLAN, GENEVE, GRE/ERSPAN and IP-in-IP tunnels, unless the host (--host) is a tunnel end (a mirror target: give --host the mirrored host's address); off: judge every packet as it is on the wire")
}

// limits are the classifier's limits the flags ask for; hosts are the
// --host values, which give folded services their direction (inferred
// from the flows kept when not given) and tell the host's own tunnels.
func (l *limitFlags) limits(hosts []string) (classify.Limits, error) {
	return flowLimits(l.maxFlows, l.tunnels, hosts)
}

// flowLimits are the classifier's limits for at most maxFlows flows (0: no
// limit) on a host with the given addresses, with --tunnels tunnels.
func flowLimits(maxFlows int, tunnels string, hosts []string) (classify.Limits, error) {
	if maxFlows < 0 {
		return classify.Limits{}, fmt.Errorf("--max-flows %d: use a positive number, or 0 for no limit", maxFlows)
	}
	tun, err := classify.ParseTunnels(tunnels)
	if err != nil {
		return classify.Limits{}, fmt.Errorf("--tunnels %v", err)
	}
	host, err := match.ParseHost(hosts)
	if err != nil {
		return classify.Limits{}, bindingFlagError(err)
	}
	return classify.Limits{MaxFlows: maxFlows, Host: host, Tunnels: tun}, nil
}

package suggest

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// Firewalls match addresses, not names: a group known by names is written
// with the addresses its names had in the capture, which a person must keep
// up to date (or replace with a prefix list).

// SecurityGroup is the draft as the rules of an AWS security group: the
// shape of a SecurityGroup's IpPermissions and IpPermissionsEgress in the
// EC2 API, each list ready for
//
//	aws ec2 authorize-security-group-ingress --group-id ID --ip-permissions "$(jq .IpPermissions draft.json)"
//	aws ec2 authorize-security-group-egress  --group-id ID --ip-permissions "$(jq .IpPermissionsEgress draft.json)"
//
// Security groups are stateful, so replies need no rules; local and transit
// rules have no place in a host's security group and are left out.
type SecurityGroup struct {
	IpPermissions       []IpPermission `json:"IpPermissions"`
	IpPermissionsEgress []IpPermission `json:"IpPermissionsEgress"`
}

// IpPermission is the EC2 API's IpPermission.
type IpPermission struct {
	IpProtocol string      `json:"IpProtocol"`
	FromPort   int         `json:"FromPort"`
	ToPort     int         `json:"ToPort"`
	IpRanges   []IpRange   `json:"IpRanges,omitempty"`
	Ipv6Ranges []Ipv6Range `json:"Ipv6Ranges,omitempty"`
}

type IpRange struct {
	CidrIp      string `json:"CidrIp"`
	Description string `json:"Description,omitempty"`
}

type Ipv6Range struct {
	CidrIpv6    string `json:"CidrIpv6"`
	Description string `json:"Description,omitempty"`
}

// ICMP echo request types; in a security group FromPort is the ICMP type
// and ToPort the code (-1: any).
const (
	icmp4Echo = 8
	icmp6Echo = 128
)

// SecurityGroup converts the draft.
func (d *Draft) SecurityGroup() *SecurityGroup {
	sg := &SecurityGroup{IpPermissions: []IpPermission{}, IpPermissionsEgress: []IpPermission{}}
	for _, r := range d.Rules {
		var list *[]IpPermission
		switch r.Direction {
		case match.Inbound:
			list = &sg.IpPermissions
		case match.Outbound:
			list = &sg.IpPermissionsEgress
		default:
			continue
		}
		v4, v6 := firewallPrefixes(r.Peer)
		if r.Protos == profile.ICMP {
			if len(v4) > 0 {
				*list = append(*list, IpPermission{IpProtocol: "icmp", FromPort: icmp4Echo, ToPort: -1, IpRanges: ipRanges(v4, r)})
			}
			if len(v6) > 0 {
				*list = append(*list, IpPermission{IpProtocol: "icmpv6", FromPort: icmp6Echo, ToPort: -1, Ipv6Ranges: ipv6Ranges(v6, r)})
			}
			continue
		}
		for _, proto := range []struct {
			bit  profile.Protos
			name string
		}{{profile.TCP, "tcp"}, {profile.UDP, "udp"}} {
			if r.Protos&proto.bit == 0 {
				continue
			}
			*list = append(*list, IpPermission{
				IpProtocol: proto.name, FromPort: int(r.Port), ToPort: int(r.Port),
				IpRanges: ipRanges(v4, r), Ipv6Ranges: ipv6Ranges(v6, r),
			})
		}
	}
	for _, l := range []*[]IpPermission{&sg.IpPermissions, &sg.IpPermissionsEgress} {
		slices.SortStableFunc(*l, func(a, b IpPermission) int {
			return cmp.Or(strings.Compare(a.IpProtocol, b.IpProtocol), cmp.Compare(a.FromPort, b.FromPort))
		})
	}
	return sg
}

// SecurityGroupJSON writes SecurityGroup as indented JSON.
func (d *Draft) SecurityGroupJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d.SecurityGroup())
}

// firewallPrefix is a prefix a firewall rule allows, with the names that
// explain it.
type firewallPrefix struct {
	p     netip.Prefix
	names []string
}

// firewallPrefixes lists what a firewall must allow for a group: its CIDRs
// and the addresses of its named peers, by IP version.
func firewallPrefixes(g *Group) (v4, v6 []firewallPrefix) {
	if g == nil {
		return nil, nil
	}
	add := func(fp firewallPrefix) {
		if fp.p.Addr().Is4() {
			v4 = append(v4, fp)
		} else {
			v6 = append(v6, fp)
		}
	}
	for _, c := range g.CIDRs {
		add(firewallPrefix{p: c})
	}
	for _, p := range g.Addrs {
		if covered(g.CIDRs, p.Addr) {
			continue
		}
		add(firewallPrefix{p: netip.PrefixFrom(p.Addr, p.Addr.BitLen()), names: p.Names})
	}
	return v4, v6
}

func covered(cidrs []netip.Prefix, a netip.Addr) bool {
	for _, c := range cidrs {
		if c.Contains(a) {
			return true
		}
	}
	return false
}

// description labels a range with its rule and, for named peers, the name
// and a warning that the address may change.
func description(fp firewallPrefix, r *Rule) string {
	s := r.Name
	if len(fp.names) > 0 {
		s += ": " + strings.Join(fp.names, ", ") + " (address seen in the capture; it may change)"
	}
	// The EC2 API allows 255 characters in a description.
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}

func ipRanges(ps []firewallPrefix, r *Rule) []IpRange {
	var out []IpRange
	for _, fp := range ps {
		out = append(out, IpRange{CidrIp: fp.p.String(), Description: description(fp, r)})
	}
	return out
}

func ipv6Ranges(ps []firewallPrefix, r *Rule) []Ipv6Range {
	var out []Ipv6Range
	for _, fp := range ps {
		out = append(out, Ipv6Range{CidrIpv6: fp.p.String(), Description: description(fp, r)})
	}
	return out
}

// NFTables writes the draft as an nftables ruleset for the host: an inet
// table whose input and output chains accept the drafted flows and drop
// everything else. Replies pass through connection tracking. Loading it
// (nft -f) replaces the table of the same name only.
func (d *Draft) NFTables(w io.Writer) error {
	ew := textout.Printer{Writer: bufio.NewWriter(w)}
	ew.Printf("#!/usr/sbin/nft -f\n")
	ew.Printf("# Draft ruleset written by `wirecheck suggest` from observed traffic.\n")
	ew.Printf("# REVIEW BEFORE LOADING: both chains drop everything not listed here, including\n")
	ew.Printf("# your own SSH session unless the capture showed it. Check it with: nft -c -f FILE\n")
	ew.Printf("# Peers known by name are written with the addresses they had in the capture.\n")
	if len(d.Host) > 0 {
		ew.Printf("# Host: %s\n", strings.Join(textout.Prefixes(d.Host), ", "))
	}
	for _, r := range d.Rules {
		switch r.Direction {
		case match.Local:
			ew.Printf("# %s: host to itself, accepted on the loopback interface\n", r.Name)
		case match.Transit:
			ew.Printf("# %s: not drafted: neither end is this host (transit traffic belongs to a router's forward chain)\n", r.Name)
		}
	}
	const table = "wirecheck_draft"
	// Declaring the table first and deleting it makes the file re-loadable:
	// a second load replaces the rules rather than adding to them.
	ew.Printf("\ntable inet %s\ndelete table inet %s\n\ntable inet %s {\n", table, table, table)
	for _, ch := range []struct {
		name, hook, iface, peer string
		dir                     match.Direction
	}{{"input", "input", "iif", "saddr", match.Inbound}, {"output", "output", "oif", "daddr", match.Outbound}} {
		ew.Printf("\tchain %s {\n", ch.name)
		ew.Printf("\t\ttype filter hook %s priority filter; policy drop;\n", ch.hook)
		ew.Printf("\t\tct state established,related accept\n")
		ew.Printf("\t\tct state invalid drop\n")
		ew.Printf("\t\t%s \"lo\" accept\n", ch.iface)
		ew.Printf("\t\t# IPv6 does not work without neighbour discovery\n")
		ew.Printf("\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept\n")
		for _, r := range d.Rules {
			if r.Direction != ch.dir {
				continue
			}
			v4, v6 := firewallPrefixes(r.Peer)
			for _, fam := range []struct {
				ip, icmp string
				echo     string
				ps       []firewallPrefix
			}{{"ip", "icmp", "echo-request", v4}, {"ip6", "icmpv6", "echo-request", v6}} {
				if len(fam.ps) == 0 {
					continue
				}
				var elems []string
				for _, fp := range fam.ps {
					elems = append(elems, textout.Prefix(fp.p))
				}
				sel := fmt.Sprintf("%s %s { %s }", fam.ip, ch.peer, strings.Join(elems, ", "))
				var what string
				switch r.Protos {
				case profile.ICMP:
					what = fmt.Sprintf("%s type %s", fam.icmp, fam.echo)
				case profile.TCP, profile.UDP:
					what = fmt.Sprintf("%s dport %d", r.Protos, r.Port)
				default:
					what = fmt.Sprintf("meta l4proto { tcp, udp } th dport %d", r.Port)
				}
				ew.Printf("\t\t%s %s accept comment %s\n", sel, what, nftString(nftComment(r, fam.ps)))
			}
		}
		ew.Printf("\t}\n")
	}
	ew.Printf("}\n")
	return ew.Flush()
}

// nftComment names the rule and the peers known by name.
func nftComment(r *Rule, ps []firewallPrefix) string {
	s := r.Name
	var named []string
	for _, fp := range ps {
		if len(fp.names) > 0 {
			named = append(named, fp.names[0])
		}
	}
	if len(named) > 0 {
		s += ": " + strings.Join(named, ", ")
	}
	// nftables limits comments to 128 bytes.
	if len(s) > 127 {
		s = s[:127]
	}
	return s
}

// nftString quotes a comment for nft, which has no escapes: quotes are
// dropped (names and rule names never hold them).
func nftString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, "") + `"`
}

// Package suggest drafts a profile from observed traffic: one rule per
// direction, protocol and server port that was seen, its peers collapsed into
// peer groups (host name patterns where DNS or TLS SNI named the peer, CIDRs
// where nothing did), every level "allowed". The draft is a starting point to
// be read and edited, not a verdict: it allows whatever the capture showed,
// including what should not have happened.
//
// Build works on a match.Result, so the flows' clients, servers, directions
// and names are decided exactly as analyse decides them. Judged against an
// empty profile it drafts every flow; judged against a real profile it drafts
// only the flows that profile leaves unexpected, which is what a person
// extending a profile wants.
//
// A Draft is written as a profile (YAML in the format of classify/profile,
// which Parse reads back), as AWS security-group permissions (the
// IpPermission JSON of the EC2 API) or as an nftables ruleset. Writers are
// deterministic. A Draft is plain data and not safe for concurrent mutation.
package suggest

// Package match compares an Observation with a profile set: each flow gets a
// verdict (expected, discouraged, forbidden or unexpected) and the rule that
// decided it, each required rule a status (seen, blocked, missing or
// inconclusive), and the observation as a whole a verdict.
//
// A Matcher is built once per run from the profiles and the user's bindings
// (--host, --peer, --region, --phase) and is then read-only: Flow may be
// called from several goroutines, which is how live engines judge each new
// flow as it appears, with the same code that judges a whole file.
//
// ParseHost and ParsePeers read the host and peer bindings as the user
// wrote them, for the CLI and conformtest alike; a BindingError says which
// binding did not parse, and the caller words it as its flag or option.
//
// Problems and Findings are data, not sentences: a problem names its kind,
// rule, flow and the facts that tell it apart (failed attempts, the part
// of a rule, the cause, counts), and package report words it, once per
// finding, for every format.
package match

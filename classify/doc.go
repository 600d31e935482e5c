// Package classify turns captured packets into an Observation: the flows seen,
// the names their peers were known by, and a summary of everything that was
// not a port flow. It is the first half of wirecheck's data path:
//
//	capture (frames) -> classify (flows) -> classify/match (verdicts) -> classify/report
//
// Its sub-packages, one concern each (TestDocListsSubpackages holds this
// list to the tree):
//
//   - packet decodes the headers of one frame into a reused value.
//   - flow keeps per-flow counters under a packed, comparable key.
//   - ipproto names IP protocol numbers.
//   - service names ports (IANA, vendor tables) and recognises payloads.
//   - names remembers the hostnames addresses had in the capture (DNS, SNI).
//   - related learns the data connections control flows announce (FTP, RPC).
//   - profile reads profiles: the flows an appliance is expected to have.
//   - match compares an Observation with profiles: verdicts and rule statuses.
//   - report writes a match result (text, JSON, Markdown, HTML, JUnit, SARIF).
//   - drift compares two JSON reports of the same appliance.
//   - suggest drafts a profile from observed traffic.
//   - live runs the live engines (libpcap, the eBPF counter) into Observations.
//
// Engines that count flows elsewhere (the eBPF counter) build an Observation
// directly from flow records and share everything after.
//
// ReadFiles is the one entry that reads capture files into an Observation
// with ReadOptions (limits, filter, progress): wirecheck analyse and
// suggest, conformtest and the test helpers all read through it.
//
// A Classifier is not safe for concurrent use. Read itself uses a second
// goroutine when GOMAXPROCS allows and the file is longer than a batch: it
// reads, filters and decodes frames ahead while the caller's goroutine
// counts them in order, reading the next batch itself (under the same
// lock) when none is queued, so the Observation is the one Add builds
// frame by frame (tests hold the two equal). Add does not allocate per
// packet once the flow table has reached its working size; payload checks run
// only on the first payload of each side of a flow and on DNS answers.
//
// Limits bound memory on hostile or huge captures: beyond MaxFlows, packets
// of new flows are folded into per-service counts (protocol, server port,
// direction, from Limits.Host or the host flow.InferHost finds among the
// flows kept) with exact packet and byte totals, and the Observation is then
// incomplete, since folded flows cannot be judged one by one. Every frame
// ends up in exactly one place (a flow, the other-traffic summary, the
// malformed counts or a folded service); FuzzClassify checks that sum.
// Duplicated packets are counted each time they were captured, as tshark
// counts them; a clock that goes backwards widens a flow's span but never
// makes it negative.
package classify

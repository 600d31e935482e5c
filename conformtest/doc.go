// Package conformtest lets the tests of other projects check recorded
// traffic against a wirecheck profile: an integration test records what its
// appliance sent (tcpdump -w, or any pcap/pcapng file) and asserts that the
// recording conforms, or that it is no worse than a reviewed baseline report.
//
// On failure the test log says what is wrong in the words `wirecheck
// analyse` uses (one line per problem, with what to do), lists the flows no
// rule allows, and drafts the profile rules that would allow them, ready to
// paste if the flows turn out to be wanted.
//
// A capture is read as `wirecheck analyse` reads it (classify.ReadFiles),
// with the same limits and defaults: Options.MaxFlows, Tunnels and Filter
// are its --max-flows, --tunnels and --filter.
//
// The functions read only the files they are given and keep no state; they
// are safe for parallel tests.
package conformtest

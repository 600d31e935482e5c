// Package netnslab is the network-namespace lab of wirecheck's privileged
// tests, shared by the command's tests and the watch package's: two
// namespaces (Lab.Host, where the program under test runs, and Lab.Peer,
// the rest of the world) joined by veth pairs, programs run in them under
// timeout(1), and a harness (Proc) for a re-executed test binary that runs
// inside a namespace and reports on standard error.
//
// Contract:
//   - Everything a Lab makes (namespaces, background programs, processes)
//     is removed when the test ends, failed or not; every program started
//     in a namespace is bounded by timeout(1).
//   - New calls testenv.RequirePrivileged: without root the test skips,
//     and fails with CI=true.
//   - Names carry the caller's prefix and the process id, so that tests
//     running at the same time on one machine cannot collide.
//   - A process of its own runs the code under test (Launch): a network
//     namespace belongs to a thread, and Go moves goroutines between
//     threads; only a process can be killed with SIGKILL.
//
// It is for tests only; it imports package testing.
package netnslab

// Package drift compares two reports of the same appliance (JSON reports,
// schema wirecheck/report/v2) and says what changed between the recordings:
// flows that appeared, flows that vanished, flows whose verdict or state
// changed, and rules whose status changed, each marked worse, better or
// neither.
//
// Flows are compared by an identity that survives a new recording: the
// protocol, the client and server addresses, the server port and the
// direction. Client ports are left out because they are ephemeral; all the
// flows of one identity in a report are taken together (their count, their
// states, their worst verdict). A flow that vanished from one server address
// and appeared at another that has a name in common with it (a cloud
// endpoint whose address rotated) is one change, not two.
//
// "Worse" means worse for conformance: a flow identity whose verdict became
// more severe (expected < discouraged < unexpected or forbidden, an absent
// flow counting as expected), or a required rule whose status became more
// severe (seen < inconclusive < blocked or missing). A flow that changed
// state without changing verdict is a change, neither worse nor better: if
// it mattered, a required rule changed status with it.
//
// Compare is a pure function of its two reports; its output is
// deterministic. Nothing here is safe to mutate concurrently, and nothing
// needs to be.
package drift

package bpf

import (
	"testing"

	"github.com/wirecheck/wirecheck/classify/flow"
)

// TestStatesFromKernelCounters: the kernel keeps the counters the state
// and client are derived from (flow.Flow.State, Client), so both engines
// follow the same state table (classify/report/SCHEMA.md). Each case runs
// its segments through the kernel program and classify.Classifier
// (engines.check compares every counter) and derives the state from the
// kernel's flow.
func TestStatesFromKernelCounters(t *testing.T) {
	type seg struct {
		fromClient     bool
		flags, payload string
	}
	tests := []struct {
		name     string
		segs     []seg
		want     flow.State
		oneSided bool
	}{
		{"handshake", []seg{{true, "S", ""}, {false, "SA", ""}, {true, "A", ""}}, flow.StateEstablished, false},
		{"half-open: the SYN-ACK never acknowledged", []seg{{true, "S", ""}, {false, "SA", ""}, {false, "SA", ""}, {false, "SA", ""}}, flow.StateHalfOpen, false},
		{"half-open seen from the server", []seg{{false, "SA", ""}, {false, "SA", ""}}, flow.StateHalfOpen, true},
		{"one direction: the client's side", []seg{{true, "S", ""}, {true, "A", ""}, {true, "PA", "GET / HTTP/1.1\r\n\r\n"}, {true, "FA", ""}}, flow.StateClosed, true},
		{"unanswered", []seg{{true, "S", ""}, {true, "S", ""}}, flow.StateUnanswered, false},
		{"lone mid-stream segment from the server", []seg{{false, "PA", "data"}}, flow.StateOneWay, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngines(t, Options{})
			for _, s := range tc.segs {
				e.feed(tcp4(t, s.fromClient, 40000, 443, s.flags, s.payload))
			}
			f := oneFlow(t, e.check())
			c := clientIs(t, &f, cli4)
			if st := f.State(c); st != tc.want || f.OneSided(c) != tc.oneSided {
				t.Errorf("state %v one-sided %v, want %v %v", st, f.OneSided(c), tc.want, tc.oneSided)
			}
		})
	}
}

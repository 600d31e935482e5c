package flow_test

import (
	"slices"
	"testing"

	"github.com/wirecheck/wirecheck/classify/flow"
)

// TestReserveKeepsFlowsInPlace: a table that reserved room for its flows
// never moves them, and counts exactly what a table that grows counts.
func TestReserveKeepsFlowsInPlace(t *testing.T) {
	ps := parsed(t, 40_000, 3_000)
	grown, reserved := flow.NewTable(16), flow.NewTable(16)
	reserved.Reserve(4_000)
	var first *flow.Flow
	for i := range ps {
		grown.Packet(&ps[i], int64(i), 100)
		reserved.Packet(&ps[i], int64(i), 100)
		if first == nil {
			first = reserved.Flow(0)
		}
		if reserved.Flow(0) != first {
			t.Fatalf("packet %d moved the reserved flows (%d flows)", i, reserved.Len())
		}
	}
	if reserved.Len() != 3_000 || !slices.Equal(grown.Flows(), reserved.Flows()) {
		t.Errorf("reserved table: %d flows, equal to the grown table's: %v", reserved.Len(), slices.Equal(grown.Flows(), reserved.Flows()))
	}
}

package match

import (
	"hash/maphash"
	"reflect"
	"testing"

	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/gencap"
	"github.com/wirecheck/wirecheck/internal/testobs"
)

// TestFindingsFoldThroughCollisions: Findings keeps the keys' hashes, not
// the keys; when every key has the same hash (the fallback for hashes that
// collide), the fold is the one the hashes give.
func TestFindingsFoldThroughCollisions(t *testing.T) {
	const flows = 3_000
	set, err := profile.Load("storage-gateway/common")
	if err != nil {
		t.Fatal(err)
	}
	res := evaluate(t, set, "10.1.0.1/32", testobs.Generated(t, gencap.Config{Packets: 4 * flows, Flows: flows, Seed: 3}))
	problems := res.Problems()
	want := res.Findings(problems)
	defer func(h func(maphash.Seed, findingKey) uint64) { findingHash = h }(findingHash)
	findingHash = func(maphash.Seed, findingKey) uint64 { return 7 }
	got := res.Findings(problems)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with every hash colliding: %d findings, want %d, or their flows differ", len(got.List), len(want.List))
	}
	if len(want.List) < 100 || len(want.List) == len(problems) {
		t.Fatalf("%d findings of %d problems: the capture no longer folds some and keeps many apart", len(want.List), len(problems))
	}
}

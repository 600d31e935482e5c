package match

import (
	"hash/maphash"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/ipproto"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/service"
)

// Finding is one problem for a person: the problems of flows that share
// the kind, the rule, the service, the peer and the outcome, which differ
// only in the client port, the times and the counts (one connection
// retried from 36,000 source ports is one thing to look into, not 36,000).
// A rule's problem (blocked, missing, inconclusive) and the folded-flows
// problem are findings of their own.
type Finding struct {
	// Problem is the first of the problems folded, the example: its Flow
	// is the first flow, and the finding is worded for it.
	Problem
	// Flows counts the flows the finding covers: the flows of its
	// problems, or a blocked rule's failed attempts; 0 for a missing or
	// inconclusive rule and for flows folded beyond the flow limit.
	Flows int
}

// Findings are a Result's problems folded, in the order of their first
// problem, and which of them each flow belongs to.
type Findings struct {
	List []Finding
	// of[at[i]:at[i+1]] are flow i's findings (indexes into List), in
	// List's order; at is nil when no flow belongs to one.
	at []int32
	of []int32
	// byProblem[k] is the finding of the k-th problem folded.
	byProblem []int32
}

// OfProblem returns the index in List of the finding problem k (of the
// problems Findings folded) went into.
func (fs *Findings) OfProblem(k int) int { return int(fs.byProblem[k]) }

// Of appends to dst the indexes in List of the findings flow i belongs to:
// the finding of each of its problems, and that of a blocked rule it
// matched.
func (fs *Findings) Of(dst []int, i int) []int {
	if fs.at == nil {
		return dst
	}
	for _, j := range fs.of[fs.at[i]:fs.at[i+1]] {
		dst = append(dst, int(j))
	}
	return dst
}

// findingKey is what flow problems that fold have in common: the kind,
// the rule, the service (protocol, server port, the application seen), the
// peer (both addresses: the host may have several) and the outcome (state,
// and the ICMP error that ended an unreachable flow). A comparable key,
// hashed whole (maphash.Comparable): Findings keeps the hashes, not the
// keys, which at a million distinct findings were most of the fold's memory.
type findingKey struct {
	rule            *profile.Rule
	client, server  [16]byte
	unreachableFrom [16]byte
	serverPort      uint16
	kind            ProblemKind
	proto           ipproto.Proto
	app             service.App
	state           flow.State
	direction       Direction
	unreachType     uint8
	unreachCode     uint8
}

// Findings folds problems, which must be r.Problems(): the caller that
// writes problems too passes them rather than have them built twice.
func (r *Result) Findings(problems []Problem) *Findings {
	fs := &Findings{List: make([]Finding, 0, len(problems))}
	// of[k] is the finding of problems[k].
	of := make([]int32, len(problems))
	// at maps a key's hash to the finding of the first key with that
	// hash; exact holds the keys whose hash another key has (in 64 bits,
	// next to never), so a collision costs a lookup, never a wrong fold.
	at := map[uint64]int32{}
	var exact map[findingKey]int32
	seed := maphash.MakeSeed()
	memberships := 0
	for k := range problems {
		p := &problems[k]
		if p.Flow < 0 || p.Kind == ProblemBlocked {
			n := 0
			if p.Kind == ProblemBlocked {
				n = len(p.Attempts)
				memberships += n
			}
			of[k] = int32(len(fs.List))
			fs.List = append(fs.List, Finding{Problem: *p, Flows: n})
			continue
		}
		memberships++
		key := r.findingKey(p)
		h := findingHash(seed, key)
		j, ok := at[h]
		if ok && r.findingKey(&fs.List[j].Problem) != key {
			j, ok = exact[key] // another key has this hash
			if !ok {
				if exact == nil {
					exact = map[findingKey]int32{}
				}
				exact[key] = int32(len(fs.List))
			}
		} else if !ok {
			at[h] = int32(len(fs.List))
		}
		if ok {
			of[k] = j
			fs.List[j].Flows++
			continue
		}
		of[k] = int32(len(fs.List))
		fs.List = append(fs.List, Finding{Problem: *p, Flows: 1})
	}
	fs.byProblem = of
	if memberships == 0 {
		return fs
	}
	// Flow i's findings, in the order of the problems: counted per flow,
	// then placed.
	fs.at = make([]int32, len(r.Flows)+1)
	each := func(add func(flow int, finding int32)) {
		for k := range problems {
			p := &problems[k]
			switch {
			case p.Kind == ProblemBlocked:
				for _, fi := range p.Attempts {
					add(fi, of[k])
				}
			case p.Flow >= 0:
				add(p.Flow, of[k])
			}
		}
	}
	each(func(fi int, _ int32) { fs.at[fi+1]++ })
	for i := range r.Flows {
		fs.at[i+1] += fs.at[i]
	}
	fs.of = make([]int32, fs.at[len(r.Flows)])
	next := make([]int32, len(r.Flows))
	copy(next, fs.at)
	each(func(fi int, j int32) { fs.of[next[fi]] = j; next[fi]++ })
	return fs
}

// findingHash hashes a key; a test makes every key collide.
var findingHash = maphash.Comparable[findingKey]

func (r *Result) findingKey(p *Problem) findingKey {
	f := &r.Flows[p.Flow]
	k := findingKey{
		rule: p.Rule, kind: p.Kind, proto: f.Proto, serverPort: f.ServerPort, app: f.App,
		state: f.State, direction: f.Direction,
		client: f.Client().As16(), server: f.Server().As16(),
	}
	if f.State == flow.StateUnreachable {
		k.unreachType, k.unreachCode, k.unreachableFrom = f.Flow.UnreachableType, f.Flow.UnreachableCode, f.Flow.UnreachableFrom
	}
	return k
}

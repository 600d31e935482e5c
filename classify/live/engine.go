package live

import (
	"github.com/wirecheck/wirecheck/classify"
	"github.com/wirecheck/wirecheck/classify/flow"
)

// Engine is a live capture engine.
type Engine interface {
	// Observation returns everything seen so far, with the engine's losses.
	Observation() (*classify.Observation, error)
	// Fresh returns the flows first seen since the last call that no
	// profile port vouches for, so that an unexpected flow can be reported
	// within a second of its first packet rather than at the next interval.
	Fresh() []flow.Flow
	// Err returns the error that stopped the engine, if one did.
	Err() error
	Close() error
}

package classify

import "github.com/wirecheck/wirecheck/classify/flow"

// Forget drops what the Inspector keeps about one flow and returns the
// server name its client asked for, if any. A live engine calls it when it
// retires a flow, so that a run of weeks keeps names per flow only for the
// flows it still holds; names learned for addresses are kept (their table is
// bounded on its own).
func (in *Inspector) Forget(k flow.Key) string {
	sni := in.sni[k]
	delete(in.sni, k)
	return sni
}

// Package progress shows how far the reading of captures has got: one
// status line on standard error (bytes read of the total, packets a
// second, time left), rewritten in place, and only when standard error is
// a terminal and the user did not ask for quiet: a pipe, a file or a CI
// log gets nothing. Runs shorter than a second show nothing.
//
// A Display polls its Sources from its own goroutine; Start and Finish are
// called from one goroutine. A nil *Display is valid and does nothing.
package progress

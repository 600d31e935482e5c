// Package ptytest opens pseudo-terminals for tests of output meant for a
// person at a terminal: the progress line, and widths taken from the
// terminal. It is used only by tests.
package ptytest

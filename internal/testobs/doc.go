// Package testobs gives tests and benchmarks of the packages after
// classify (match, report, drift, suggest) an Observation of a capture
// file or of generated traffic (internal/gencap), read the way wirecheck
// analyse reads a file.
package testobs

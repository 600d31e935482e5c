// Package report writes a match.Result for people (Text) and for programs
// (JSON, whose schema SCHEMA.md documents and Version names).
//
// Every writer is deterministic: the same Result gives the same bytes, so
// reports of recorded captures can be kept as golden files and diffed. Times
// in reports are capture times, never the time of the run.
package report

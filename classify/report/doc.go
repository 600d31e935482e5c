// Package report writes a match.Result for people (Text, Markdown, HTML),
// for programs (JSON, whose schema SCHEMA.md documents and Version names)
// and for CI systems (JUnit, SARIF). FORMATS.md describes each format.
//
// The report words what match hands up as data (words.go): one function
// per kind of problem, which every format shares, applied to the problems
// once they fold (match.Findings), and the display names of flows,
// protocols and endpoints (FlowText, ProtoPort, ProtosName, Endpoint).
//
// Every writer is deterministic: the same Result gives the same bytes, so
// reports of recorded captures can be kept as golden files and diffed. Times
// in reports are capture times, never the time of the run. Writers keep no
// state and may run concurrently; text from profiles and captures is
// escaped for each format, never trusted as markup.
package report

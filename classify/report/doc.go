// Package report writes a match.Result for people (Text, Markdown, HTML),
// for programs (JSON, whose schema SCHEMA.md documents and Version names)
// and for CI systems (JUnit, SARIF). FORMATS.md describes each format.
//
// Every writer is deterministic: the same Result gives the same bytes, so
// reports of recorded captures can be kept as golden files and diffed. Times
// in reports are capture times, never the time of the run. Writers keep no
// state and may run concurrently; text from profiles and captures is
// escaped for each format, never trusted as markup.
package report

// Package hugemem asks the kernel to back large arrays with transparent
// huge pages.
//
// A page fault costs about 15 µs on the virtual machines wirecheck was
// measured on (PERF-FACTS.md; 256 MiB touched page by page took 1 s, with
// huge pages 35 ms), and Linux's default THP mode ("madvise") gives huge
// pages only to memory that asks for them, which the Go runtime does not.
// The flow table and the judged results are the few arrays large enough to
// matter, so they ask; everything else keeps the runtime's defaults.
package hugemem

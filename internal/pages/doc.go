// Package pages asks the kernel to back arrays with memory before they are
// touched, so that filling them does not take a page fault per 4 KiB.
//
// A page fault is the expensive part of fresh memory on the virtual machines
// wirecheck was measured on: touching memory page by page cost an order of
// magnitude more than madvise(MADV_POPULATE_WRITE) backing the same pages,
// and a 2 MiB transparent huge page takes one fault instead of 512. The Go
// runtime does neither: Linux's default THP mode ("madvise") gives huge
// pages only to memory that asks, and the runtime lets first touch fault
// its heap in. So the few arrays that are large and about to be filled ask:
// the flow table and its index, the read batches, the judged results and
// the text report's buffers.
//
// Scratch goes one step further for arrays needed only for a moment (the
// report order's sort keys): they are mapped apart from the heap and
// unmapped when done, so they leave the resident set at once.
//
// Huge pages and backing are advice: on another OS, or a kernel without THP or
// MADV_POPULATE_* (before Linux 5.14), they do nothing and the pages fault
// in as before.
package pages

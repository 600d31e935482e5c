// Package flow keeps per-flow counters: a bidirectional flow is identified by
// a packed, comparable Key, and a Flow records what each side sent.
//
// Flow holds only what every capture engine can count, whether it reads
// packets in user space (Table) or aggregates them in the kernel (the eBPF
// counter in ../../bpf): packets, bytes and payload bytes per side, the union
// of TCP flags per side, SYN counts, first and last time and the ICMP
// unreachable that quoted the flow. The outcome of a flow (State) and who
// started it (Client) are derived from those counters alone, so files and live
// traffic get one verdict. InferHost guesses the capturing host from the
// flows, for the classifier's folded flows and the matcher alike.
//
// Key and Flow are plain values without pointers, so a table of a million
// flows costs the garbage collector nothing to scan. The zero Key is no flow.
//
// Table is not safe for concurrent use, except Hash and Packet.Set, which
// read only the table's hash seed: a decoding goroutine prepares Packets
// that the table's owner then adds (classify.Read). Add does not allocate
// once the table has grown to its working size; its flows array and index
// ask for huge pages, since first touching memory page by page cost more
// than counting packets on the machines measured. A large table also keeps
// 128 KiB of recent entries (hash bits and position) that take most
// packets to their flow without reading the index.
package flow

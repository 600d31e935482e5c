// Package live runs wirecheck's live engines: libpcap reading packets into a
// classify.Classifier, or the eBPF counter of package bpf aggregating flows
// in the kernel. Both yield the same classify.Observation, so live traffic is
// judged by the same matcher and reported by the same writers as files.
//
// An Engine runs its own goroutines from Open until Close; Observation and
// Fresh may be called from another goroutine at any time and return values
// that share nothing with the engine.
package live

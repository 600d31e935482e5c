// Package counter holds the compiled eBPF flow counter (bpf/c) and the Go
// types bpf2go generates from its BTF. It is internal: package bpf loads it
// and converts its records into classify/flow values, so these types never
// reach callers.
//
// The generated files are committed; building needs no clang. To regenerate
// after changing bpf/c (clang-19, llvm-19, libbpf-dev and linux-libc-dev
// installed):
//
//	go generate ./bpf/...
package counter

//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -target bpfel -go-package counter -cflags "-O2 -g -Wall -Werror" -type flow_key -type flow_stats -type new_flow -type payload -type port_key -type counters -type tunnel_key -type tunnel_stats Prog ../../c/wirecheck.c -- -I../../c/include

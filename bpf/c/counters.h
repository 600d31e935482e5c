/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Per-CPU totals: every frame seen, every flow created and everything that
 * could not be counted to a flow, so that user space can tell a complete
 * observation from an incomplete one.
 */
#ifndef WIRECHECK_COUNTERS_H
#define WIRECHECK_COUNTERS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "types.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} stats SEC(".maps");

/* counters_get returns this CPU's counters. The lookup of index 0 in a
 * one-element array cannot fail, but the verifier wants the check. */
static __always_inline struct counters *counters_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stats, &zero);
}

#endif

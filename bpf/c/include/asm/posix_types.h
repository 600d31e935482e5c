/* See types.h: generic definitions for the BPF target. */
#include <asm-generic/posix_types.h>

/* See types.h: generic definitions for the BPF target. */
#include <asm-generic/bitsperlong.h>

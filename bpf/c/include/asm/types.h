/* The BPF target has no asm/ directory of its own in the UAPI headers. bpf2go
 * builds only bpfel objects (for amd64 and arm64), whose integer types are the
 * generic ones, so these shims point at asm-generic and the build does not
 * depend on the host's multiarch include path. */
#include <asm-generic/types.h>

/* The marker functions of markers.h: empty, never inlined and never merged
 * with each other (noipa; the asm comment differs too), so each has its own
 * address. */
#include "markers.h"

#define MARKER(name)                                  \
    __attribute__((noipa, used)) void name(void)      \
    {                                                 \
        __asm__ volatile("@ " #name ::: "memory");    \
    }

MARKER(circnn_mark_inference_begin)
MARKER(circnn_mark_inference_end)
MARKER(circnn_mark_layer_begin)
MARKER(circnn_mark_layer_end)
MARKER(circnn_mark_empty_begin)
MARKER(circnn_mark_empty_end)
MARKER(circnn_mark_bench_begin)
MARKER(circnn_mark_bench_end)

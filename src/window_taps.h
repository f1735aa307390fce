/*
 * window_taps.h - the kernel taps of one output pixel that fall inside the
 * input (private; the geometry is circnn_window_t in circnn/window.h).
 */
#ifndef CIRCNN_WINDOW_TAPS_H
#define CIRCNN_WINDOW_TAPS_H

#include <stdint.h>

/* Output index o along one axis reads input o * stride + t - pad for the taps
 * 0 <= t < kernel; [*lo, *hi) are the taps whose input index lies in
 * [0, in).  Empty (lo == hi) when the window misses the input entirely. */
static inline void circnn_window_taps(uint32_t o, uint32_t stride, uint32_t pad, uint32_t kernel, uint32_t in,
                                      uint32_t *lo, uint32_t *hi)
{
    const uint32_t start = o * stride; /* o < 2^16, stride < 2^8: no wrap */
    const uint32_t limit = in + pad;
    uint32_t l = pad > start ? pad - start : 0u;
    uint32_t h = limit > start ? limit - start : 0u;
    if (h > kernel) h = kernel;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

#endif /* CIRCNN_WINDOW_TAPS_H */

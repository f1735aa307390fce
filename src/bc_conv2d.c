/* Shape rules and scratch sizes of the block-circulant 2-D convolution
 * (contract: circnn/bc_conv2d.h; scratch layouts: bc_conv2d_common.h). */
#include "circnn/bc_conv2d.h"
#include "circnn/fft.h"
#include "bc_conv2d_common.h"
#include "fixed_point.h"

/* The f32 and q15 scratch bytes in 64 bits, exactly as the layouts of
 * bc_conv2d_common.h add them up (every part below 2^48 for any 16-bit
 * sizes and k <= 2^16): the check refuses a shape whose scratch would not
 * fit a size_t, and the size functions never wrap. */
static uint64_t up8(uint64_t bytes) { return (bytes + 7u) & ~(uint64_t)7u; }

static uint64_t spectra_reals(const circnn_window_t *g, uint32_t k)
{
    return (uint64_t)g->in_h * g->in_w * circnn_blocks(g->in_c, k) * k;
}

static uint64_t f32_bytes64(const circnn_window_t *g, uint32_t k)
{
    return up8(spectra_reals(g, k) * sizeof(float)) +
           (2u * (uint64_t)circnn_bc_conv2d_f32_sum_width(k) + k) * sizeof(float);
}

static uint64_t q15_bytes64(const circnn_window_t *g, uint32_t k)
{
    return up8((uint64_t)k * sizeof(int64_t)) + up8((uint64_t)k * sizeof(int16_t)) +
           up8(spectra_reals(g, k) * sizeof(int16_t)) +
           up8((uint64_t)g->in_h * g->in_w * circnn_blocks(g->in_c, k));
}

/* bytes is representable as a size_t. */
static int fits_size(uint64_t bytes)
{
    return (uint64_t)(size_t)bytes == bytes;
}

/* lo <= v <= hi (a function, so that no comparison is "always false" for a
 * narrow field whatever the limits are). */
static int in_range(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v >= lo && v <= hi;
}

CIRCNN_COLD circnn_status_t circnn_bc_conv2d_check(const circnn_window_t *g, uint32_t block_size)
{
    if (!g) return CIRCNN_ERR_NULL;
    if (!in_range(g->in_h, 1u, CIRCNN_MAX_DIM) || !in_range(g->in_w, 1u, CIRCNN_MAX_DIM) ||
        !in_range(g->in_c, 1u, CIRCNN_MAX_DIM) || !in_range(g->out_h, 1u, CIRCNN_MAX_DIM) ||
        !in_range(g->out_w, 1u, CIRCNN_MAX_DIM) || !in_range(g->out_c, 1u, CIRCNN_MAX_DIM) ||
        !in_range(g->kernel_h, 1u, CIRCNN_MAX_KERNEL) || !in_range(g->kernel_w, 1u, CIRCNN_MAX_KERNEL) ||
        !in_range(g->stride, 1u, CIRCNN_MAX_STRIDE))
        return CIRCNN_ERR_SHAPE;
    /* Every window overlaps the input: padding smaller than the kernel, and
     * the last window starts inside the input. */
    if (g->pad_top >= g->kernel_h || g->pad_left >= g->kernel_w ||
        (uint32_t)(g->out_h - 1u) * g->stride >= (uint32_t)g->in_h + g->pad_top ||
        (uint32_t)(g->out_w - 1u) * g->stride >= (uint32_t)g->in_w + g->pad_left)
        return CIRCNN_ERR_SHAPE;
    circnn_status_t s = circnn_fft_check(block_size);
    if (s != CIRCNN_OK) return s;
    if (!fits_size(f32_bytes64(g, block_size)) || !fits_size(q15_bytes64(g, block_size)))
        return CIRCNN_ERR_SHAPE;
    return CIRCNN_OK;
}

/* SIZE_MAX, a size no buffer has, for a shape the check refuses. */
size_t circnn_bc_conv2d_f32_scratch_bytes(const circnn_window_t *g, uint32_t block_size)
{
    return circnn_bc_conv2d_check(g, block_size) == CIRCNN_OK ? (size_t)f32_bytes64(g, block_size)
                                                               : SIZE_MAX;
}

size_t circnn_bc_conv2d_q15_scratch_bytes(const circnn_window_t *g, uint32_t block_size)
{
    return circnn_bc_conv2d_check(g, block_size) == CIRCNN_OK ? (size_t)q15_bytes64(g, block_size)
                                                               : SIZE_MAX;
}

/* Shape rules and scratch sizes of the block-circulant 2-D convolution
 * (contract: circnn/bc_conv2d.h; scratch layouts: bc_conv2d_common.h). */
#include "circnn/bc_conv2d.h"
#include "circnn/fft.h"
#include "bc_conv2d_common.h"

/* The f32 and q15 scratch bytes, in 64 bits (the check uses them to refuse a
 * shape whose scratch would not fit a size_t). */
static uint64_t f32_bytes64(const circnn_window_t *g, uint32_t k)
{
    uint64_t reals = (uint64_t)g->in_h * g->in_w * circnn_blocks(g->in_c, k) * k;
    return (reals + 2u * (uint64_t)circnn_bc_conv2d_f32_sum_width(k) + k) * sizeof(float);
}

static uint64_t q15_bytes64(const circnn_window_t *g, uint32_t k)
{
    uint64_t blocks = (uint64_t)g->in_h * g->in_w * circnn_blocks(g->in_c, k);
    return (uint64_t)k * (sizeof(int64_t) + sizeof(int16_t)) + 8u + blocks * k * sizeof(int16_t) +
           blocks + 8u;
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

circnn_status_t circnn_bc_conv2d_check(const circnn_window_t *g, uint32_t block_size)
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

size_t circnn_bc_conv2d_f32_scratch_bytes(const circnn_window_t *g, uint32_t block_size)
{
    return circnn_bc_conv2d_f32_spectra_bytes(g, block_size) +
           (2u * (size_t)circnn_bc_conv2d_f32_sum_width(block_size) + block_size) * sizeof(float);
}

size_t circnn_bc_conv2d_q15_scratch_bytes(const circnn_window_t *g, uint32_t block_size)
{
    return circnn_bc_conv2d_q15_acc_bytes(block_size) + circnn_bc_conv2d_q15_tmp_bytes(block_size) +
           circnn_bc_conv2d_q15_spectra_bytes(g, block_size) +
           circnn_bc_conv2d_q15_exps_bytes(g, block_size);
}

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
    return reals * sizeof(float) + (2u + 2u * CIRCNN_F32_LANES) * (uint64_t)k * sizeof(float);
}

static uint64_t q15_bytes64(const circnn_window_t *g, uint32_t k)
{
    uint64_t blocks = (uint64_t)g->in_h * g->in_w * circnn_blocks(g->in_c, k);
    return (uint64_t)k * (sizeof(int64_t) + sizeof(int16_t)) + 8u + blocks * k * sizeof(int16_t) +
           blocks + 8u;
}

static int dim_ok(uint32_t v)
{
    return v >= 1u && v <= CIRCNN_MAX_DIM;
}

circnn_status_t circnn_bc_conv2d_check(const circnn_window_t *g, uint32_t block_size)
{
    if (!g) return CIRCNN_ERR_NULL;
    if (!dim_ok(g->in_h) || !dim_ok(g->in_w) || !dim_ok(g->in_c) || !dim_ok(g->out_h) ||
        !dim_ok(g->out_w) || !dim_ok(g->out_c) || g->kernel_h < 1u ||
        g->kernel_h > CIRCNN_MAX_KERNEL || g->kernel_w < 1u || g->kernel_w > CIRCNN_MAX_KERNEL ||
        g->stride < 1u || g->stride > CIRCNN_MAX_STRIDE)
        return CIRCNN_ERR_SHAPE;
    /* Every window overlaps the input: padding smaller than the kernel, and
     * the last window starts inside the input. */
    if (g->pad_top >= g->kernel_h || g->pad_left >= g->kernel_w ||
        (uint32_t)(g->out_h - 1u) * g->stride >= (uint32_t)g->in_h + g->pad_top ||
        (uint32_t)(g->out_w - 1u) * g->stride >= (uint32_t)g->in_w + g->pad_left)
        return CIRCNN_ERR_SHAPE;
    circnn_status_t s = circnn_fft_check(block_size);
    if (s != CIRCNN_OK) return s;
    if (f32_bytes64(g, block_size) > (uint64_t)SIZE_MAX || q15_bytes64(g, block_size) > (uint64_t)SIZE_MAX)
        return CIRCNN_ERR_SHAPE;
    return CIRCNN_OK;
}

size_t circnn_bc_conv2d_f32_scratch_bytes(const circnn_window_t *g, uint32_t block_size)
{
    return circnn_bc_conv2d_f32_spectra_bytes(g, block_size) +
           (2u + 2u * CIRCNN_F32_LANES) * (size_t)block_size * sizeof(float);
}

size_t circnn_bc_conv2d_q15_scratch_bytes(const circnn_window_t *g, uint32_t block_size)
{
    return circnn_bc_conv2d_q15_acc_bytes(block_size) + circnn_bc_conv2d_q15_tmp_bytes(block_size) +
           circnn_bc_conv2d_q15_spectra_bytes(g, block_size) +
           circnn_bc_conv2d_q15_exps_bytes(g, block_size);
}

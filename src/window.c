/* Output size and padding of window layers (contract: circnn/window.h). */
#include "circnn/window.h"
#include "fixed_point.h"

static circnn_status_t one_axis(uint32_t in, uint32_t kernel, uint32_t stride, uint32_t padding,
                                uint16_t *out, uint8_t *pad_before)
{
    uint32_t n, total;
    if (padding == CIRCNN_PAD_VALID) {
        if (kernel > in) return CIRCNN_ERR_SHAPE;
        n = (in - kernel) / stride + 1u;
        total = 0;
    } else {
        n = (in + stride - 1u) / stride;
        total = (n - 1u) * stride + kernel;
        total = total > in ? total - in : 0u;
    }
    *out = (uint16_t)n;
    *pad_before = (uint8_t)(total / 2u);
    return CIRCNN_OK;
}

CIRCNN_COLD circnn_status_t circnn_window_geometry(circnn_window_t *g, uint32_t padding)
{
    /* Kernel and stride are uint8_t: CIRCNN_MAX_KERNEL and _STRIDE (255) hold by type. */
    if (g->in_h == 0 || g->in_w == 0 || g->in_c == 0 || g->in_h > CIRCNN_MAX_DIM ||
        g->in_w > CIRCNN_MAX_DIM || g->in_c > CIRCNN_MAX_DIM || g->kernel_h == 0 ||
        g->kernel_w == 0 || g->stride == 0 ||
        (padding != CIRCNN_PAD_VALID && padding != CIRCNN_PAD_SAME))
        return CIRCNN_ERR_SHAPE;
    circnn_status_t s = one_axis(g->in_h, g->kernel_h, g->stride, padding, &g->out_h, &g->pad_top);
    if (s != CIRCNN_OK) return s;
    return one_axis(g->in_w, g->kernel_w, g->stride, padding, &g->out_w, &g->pad_left);
}

/*
 * circnn/window.h - geometry of 2-D window layers (conv2d, bc_conv2d, pooling).
 *
 * Output pixel (oy, ox) reads input pixels (oy * stride + a - pad_top,
 * ox * stride + b - pad_left) for 0 <= a < kernel_h, 0 <= b < kernel_w
 * (cross-correlation); pixels outside the input are zero padding (skipped
 * by pools).  circnn_window_geometry fills out_h/out_w/pad_* from a padding
 * mode the way every deep-learning framework does:
 *   CIRCNN_PAD_VALID: out = floor((in - kernel) / stride) + 1, no padding;
 *   CIRCNN_PAD_SAME:  out = ceil(in / stride), total padding
 *                     max((out - 1) * stride + kernel - in, 0), of which
 *                     top/left gets the smaller half.
 */
#ifndef CIRCNN_WINDOW_H
#define CIRCNN_WINDOW_H

#include <stdint.h>

#include "circnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CIRCNN_PAD_VALID 0
#define CIRCNN_PAD_SAME 1
#define CIRCNN_MAX_KERNEL 255   /* kernel and stride fit the blob's u8 fields */
#define CIRCNN_MAX_STRIDE 255
#define CIRCNN_MAX_DIM 4096     /* largest height, width or channel count */

typedef struct circnn_window {
    uint16_t in_h, in_w, in_c;
    uint16_t out_h, out_w, out_c;
    uint8_t kernel_h, kernel_w;
    uint8_t stride;
    uint8_t pad_top, pad_left;
} circnn_window_t;

/* Fill out_h, out_w, pad_top, pad_left of *g from in_h, in_w, kernel_h,
 * kernel_w, stride and a padding mode.  CIRCNN_ERR_SHAPE if a size is zero
 * or above its limit, or the window does not fit ("valid" with kernel > in). */
circnn_status_t circnn_window_geometry(circnn_window_t *g, uint32_t padding);

#ifdef __cplusplus
}
#endif

#endif /* CIRCNN_WINDOW_H */

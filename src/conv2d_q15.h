/*
 * conv2d_q15.h - the plain reference of circnn_conv2d_q15 (private).
 *
 * circnn_conv2d_q15 (conv2d_q15.c) computes the same exact int64 sums with
 * faster kernels where it can and calls this otherwise; the tests compare
 * the two bit for bit (tests/test_layers_c.c, test_dsp_c.c, and on the
 * Cortex-M cores tests/test_conv_firmware.py).
 */
#ifndef CIRCNN_CONV2D_Q15_H
#define CIRCNN_CONV2D_Q15_H

#include <stdint.h>

#include "circnn/layers.h"

/* circnn_conv2d_q15's contract (circnn/layers.h): per output the exact
 * int64 sum of its products, then circnn_requant_q15 and the ReLU; the
 * weights OHWI when ohwi is nonzero (circnn_conv2d_q15_ohwi), else HWIO. */
void circnn_conv2d_q15_reference(const circnn_conv2d_q15_t *layer, int ohwi, const int16_t *x, int16_t *y);

#endif /* CIRCNN_CONV2D_Q15_H */

/* Dense (fully connected) layers, f32 and q15 (contract: circnn/layers.h).
 *
 * q15: the plain loop is the reference; with the DSP extension
 * (src/dsp_q15.h) the same exact int64 sums come from SMLALD, two products
 * an instruction, two outputs at a time so that each input pair is loaded
 * once for both.  The sums are equal integer for integer (|sum| <= n 2^30 <
 * 2^63: neither form wraps), so the outputs are the same bits;
 * tests/test_dense_q15_c.c compares the two.  Without it each row is one
 * circnn_dot_q15 (dot_q15.h: in assembly on ARMv6-M). */
#include "circnn/layers.h"
#include "dot_q15.h"
#include "dsp_q15.h"

void circnn_dense_f32(const circnn_dense_f32_t *layer, const float *x, float *y)
{
    const uint32_t n = layer->in_features;
    const float *row = layer->weight;
    for (uint32_t o = 0; o < layer->out_features; o++, row += n) {
        float acc = 0.0f;
        for (uint32_t i = 0; i < n; i++) acc += row[i] * x[i];
        if (layer->bias) acc += layer->bias[o];
        if (layer->relu && !(acc > 0.0f)) acc = 0.0f;
        y[o] = acc;
    }
}

static int16_t output_q15(const circnn_dense_q15_t *layer, int64_t acc, uint32_t o)
{
    int16_t v = circnn_requant_q15(acc, layer->weight_exp, layer->bias ? layer->bias[o] : 0);
    return layer->relu && v < 0 ? (int16_t)0 : v;
}

#if CIRCNN_DSP

/* sum_i w[i] x[i] for one row (the last when out_features is odd). */
static int64_t row_sum(const int16_t *w, const int16_t *x, uint32_t n)
{
    int64_t a = 0;
    for (uint32_t c = n / 2u; c != 0; c--, w += 2, x += 2)
        a = circnn_smlald(circnn_load_pair(w), circnn_load_pair(x), a);
    if (n & 1u) a += (int32_t)w[0] * (int32_t)x[0];
    return a;
}

/* One input pair into the sums of two rows. */
#define DENSE_STEP(xi, w0, w1, a0, a1)                              \
    do {                                                            \
        const uint32_t pair_ = circnn_load_pair(xi);                \
        xi += 2;                                                    \
        a0 = circnn_smlald(circnn_load_pair(w0), pair_, a0);        \
        w0 += 2;                                                    \
        a1 = circnn_smlald(circnn_load_pair(w1), pair_, a1);        \
        w1 += 2;                                                    \
    } while (0)

void circnn_dense_q15(const circnn_dense_q15_t *layer, const int16_t *x, int16_t *y)
{
    const uint32_t n = layer->in_features, m = layer->out_features;
    const int16_t *row = layer->weight;
    uint32_t o = 0;
    for (; o + 2u <= m; o += 2u, row += 2u * n) {
        const int16_t *w0 = row, *w1 = row + n, *xi = x;
        int64_t a0 = 0, a1 = 0;
        /* eight inputs a step, counted down (SUBS and BNE), every load
         * advancing its pointer (post-indexed LDR) */
        for (uint32_t c = n / 8u; c != 0; c--) {
            DENSE_STEP(xi, w0, w1, a0, a1);
            DENSE_STEP(xi, w0, w1, a0, a1);
            DENSE_STEP(xi, w0, w1, a0, a1);
            DENSE_STEP(xi, w0, w1, a0, a1);
        }
        const uint32_t rest = n % 8u;
        a0 += row_sum(w0, xi, rest);
        a1 += row_sum(w1, xi, rest);
        y[o] = output_q15(layer, a0, o);
        y[o + 1u] = output_q15(layer, a1, o + 1u);
    }
    if (o < m) y[o] = output_q15(layer, row_sum(row, x, n), o);
}

#else

void circnn_dense_q15(const circnn_dense_q15_t *layer, const int16_t *x, int16_t *y)
{
    const uint32_t n = layer->in_features;
    const int16_t *row = layer->weight;
    for (uint32_t o = 0; o < layer->out_features; o++, row += n) {
        y[o] = output_q15(layer, circnn_dot_q15(row, x, n, 0), o);
    }
}

#endif /* CIRCNN_DSP */

/* Spectral multiply-accumulate with the DSP extension's dual 16-bit MACs
 * (contract: dsp_q15.h).  Compiled on every target: with the extension it
 * is what the q15 block-circulant layers use; elsewhere it runs on the
 * exact C emulations, which the host tests compare with the reference. */
#include "dsp_q15.h"

void circnn_bc_mac_q15_dsp(int64_t *acc, const int16_t *w, uint32_t w_stride, const int16_t *x,
                           uint32_t x_stride, uint32_t blocks, uint32_t k)
{
    int64_t dc = acc[0], nyquist = acc[1];
    const int16_t *wj = w, *xj = x;
    for (uint32_t j = 0; j < blocks; j++, wj += w_stride, xj += x_stride) {
        dc += (int32_t)wj[0] * xj[0];
        nyquist += (int32_t)wj[1] * xj[1];
    }
    acc[0] = dc;
    acc[1] = nyquist;
    const size_t ws = w_stride, xs = x_stride;
    for (uint32_t b = 2; b < k; b += 2) {
        int64_t re = acc[b], im = acc[b + 1];
        const int16_t *wb = w + b, *xb = x + b, *w4 = w + b + (size_t)(blocks & ~3u) * ws;
        /* four blocks a step: the loop costs 4 of 20 instructions */
        for (; wb != w4; wb += 4 * ws, xb += 4 * xs) {
            uint32_t w0 = circnn_load_pair(wb), x0 = circnn_load_pair(xb);
            uint32_t w1 = circnn_load_pair(wb + ws), x1 = circnn_load_pair(xb + xs);
            re = circnn_smlsld(w0, x0, re);
            im = circnn_smlaldx(w0, x0, im);
            re = circnn_smlsld(w1, x1, re);
            im = circnn_smlaldx(w1, x1, im);
            w0 = circnn_load_pair(wb + 2 * ws), x0 = circnn_load_pair(xb + 2 * xs);
            w1 = circnn_load_pair(wb + 3 * ws), x1 = circnn_load_pair(xb + 3 * xs);
            re = circnn_smlsld(w0, x0, re);
            im = circnn_smlaldx(w0, x0, im);
            re = circnn_smlsld(w1, x1, re);
            im = circnn_smlaldx(w1, x1, im);
        }
        for (uint32_t j = blocks & ~3u; j < blocks; j++, wb += ws, xb += xs) {
            uint32_t w0 = circnn_load_pair(wb), x0 = circnn_load_pair(xb);
            re = circnn_smlsld(w0, x0, re);
            im = circnn_smlaldx(w0, x0, im);
        }
        acc[b] = re;
        acc[b + 1] = im;
    }
}

/*
 * fft_common.h - index helpers shared by the f32 and q15 transforms (private).
 */
#ifndef CIRCNN_FFT_COMMON_H
#define CIRCNN_FFT_COMMON_H

#include <stdint.h>
#include <string.h>

/* log2 of a power of two. */
static inline uint32_t circnn_log2u(uint32_t n)
{
    uint32_t l = 0;
    while ((1u << l) < n) l++;
    return l;
}

/* Reverse the low `bits` bits of i. */
static inline uint32_t circnn_bitrev(uint32_t i, uint32_t bits)
{
    uint32_t r = 0;
    for (uint32_t b = 0; b < bits; b++) {
        r = (r << 1) | (i & 1u);
        i >>= 1;
    }
    return r;
}

/*
 * f32 transforms of CIRCNN_F32_LANES = 4 sequences at once (fft_f32.c), for
 * the block-circulant layers.  Unless said otherwise, no two buffers may
 * overlap.
 *
 * Lane layout: value s of sequence l at buf[s * CIRCNN_F32_LANES + l].
 * circnn_rfft_f32_lanes: n reals per lane in, packed spectra (fft.h) out;
 * in is left unchanged.
 * circnn_irfft_f32_lanes_unscaled: packed spectra in, n reals out, n times
 * circnn_irfft_f32's (no 1/n); in is overwritten.
 *
 * Row layout: 4 * groups sequences (1 <= groups <= CIRCNN_F32_MAX_GROUPS),
 * sequence l at rows + l * n; the buffers hold 4 * groups * n floats.  The
 * transposes to and from the lane layout are done inside.
 * circnn_rfft_f32_rows: the rows of n reals -> packed spectra in out (which
 * may be rows itself); work is overwritten.
 * circnn_irfft_f32_rows_unscaled: packed spectra -> rows of n reals in out,
 * n times circnn_irfft_f32's (no 1/n); spec is overwritten.
 */
#define CIRCNN_F32_LANES 4u
#define CIRCNN_F32_MAX_GROUPS 4u

void circnn_rfft_f32_lanes(const float *in, float *out, uint32_t n);
void circnn_irfft_f32_lanes_unscaled(float *in, float *out, uint32_t n);
void circnn_rfft_f32_rows(const float *rows, float *out, float *work, uint32_t n, uint32_t groups);
void circnn_irfft_f32_rows_unscaled(float *spec, float *out, uint32_t n, uint32_t groups);

/*
 * Four floats as one value for the f32 code (fft_f32.c, bc_dense_f32.c):
 * GCC's and Clang's 16-byte vector type, on targets with IEEE 16-byte SIMD
 * (SSE2 on x86-64, Advanced SIMD on AArch64).  Other targets (Cortex-M among
 * them) and other compilers, or -DCIRCNN_NO_VECTOR_EXT, get CIRCNN_HAVE_V4 0
 * and the generic C code.  Both do the same float operations in the same
 * order, so every target computes bit-identical results.
 */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(CIRCNN_NO_VECTOR_EXT) && \
    (defined(__SSE2__) || defined(__aarch64__))
#define CIRCNN_HAVE_V4 1

typedef float v4 __attribute__((vector_size(16)));

/* Unaligned load and store. */
static inline v4 ld(const float *p)
{
    v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st(float *p, v4 v)
{
    memcpy(p, &v, sizeof v);
}

/* Shuffle of the elements of a and b (indices 0-3 from a, 4-7 from b). */
#if defined(__clang__)
#define SHUF(a, b, i0, i1, i2, i3) __builtin_shufflevector(a, b, i0, i1, i2, i3)
#else
typedef int32_t v4i __attribute__((vector_size(16)));
#define SHUF(a, b, i0, i1, i2, i3) __builtin_shuffle(a, b, (v4i){i0, i1, i2, i3})
#endif

#else
#define CIRCNN_HAVE_V4 0
#endif

/*
 * x86-64 with GCC or Clang (ELF): the hot f32 loops are also compiled for
 * AVX2 and chosen at run time (the wheel is built for the x86-64 baseline).
 * The AVX2 code does the same multiplications and additions in the same
 * order on 8-float vectors, never FMA (-mavx2 does not enable it, and c99
 * turns contraction off), so the results are bit-identical to the baseline
 * code's.  -DCIRCNN_NO_CLONES keeps the baseline code only.
 */
#if CIRCNN_HAVE_V4 && defined(__x86_64__) && defined(__ELF__) && defined(__GNUC__) && \
    !defined(CIRCNN_NO_CLONES)
#define CIRCNN_X86_AVX2 1
#else
#define CIRCNN_X86_AVX2 0
#endif

#endif /* CIRCNN_FFT_COMMON_H */

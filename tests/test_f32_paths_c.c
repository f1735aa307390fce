/*
 * test_f32_paths_c.c - the f32 kernels' other code paths against the
 * library's build, bit for bit, on the host.
 *
 * fft_f32.c and bc_dense_f32.c are compiled a second time in this file,
 * under other names, with the path setting that tests/meson.build passes:
 *   -DCIRCNN_NO_CLONES      the 4-float vectors only (SSE2 on x86-64, NEON
 *                           on AArch64): no AVX2 8-float transforms, no AVX2
 *                           clones of the multiply-accumulate and output stage;
 *   -DCIRCNN_NO_VECTOR_EXT  the plain C code of Cortex-M: blocks transformed
 *                           one by one, 16 reals per multiply-accumulate chunk.
 * The library's own build (on an x86-64 CPU with AVX2: 8-float transforms
 * for an even number of groups, 4-float ones for an odd number, the AVX2
 * clones throughout) is the reference; the log says which path it took.
 * Compared with memcmp, the first difference printed:
 *   - circnn_rfft_f32 / circnn_irfft_f32, every size 2..1024, random and
 *     special inputs (zeros, -0, impulses, large, tiny and subnormal
 *     magnitudes, DC, Nyquist), in place and out of place, buffers aligned
 *     or misaligned by one float;
 *   - the batched transforms of fft_common.h (rows, 1..4 groups, and lanes);
 *   - circnn_bc_dense_f32 on random shapes (m != n, sizes not multiples of
 *     k, k 2..1024, bias, ReLU), batches of even and odd group counts,
 *     scratch of exactly circnn_bc_dense_f32_scratch_bytes.
 * Every output and scratch buffer carries a guard zone; inputs must come
 * back unchanged.  bc_conv2d_f32.c has no path setting (plain C on every
 * target, through circnn_rfft_f32 and circnn_irfft_f32): not compiled here.
 */
#include <stdarg.h>

/* The library's declarations, with their own names. */
#include "circnn/bc_dense.h"
#include "circnn/fft.h"
#include "fft_common.h"

#if defined(CIRCNN_NO_VECTOR_EXT)
#define ALT_NAME "plain C (-DCIRCNN_NO_VECTOR_EXT)"
#if CIRCNN_HAVE_V4
#error "CIRCNN_NO_VECTOR_EXT left the vector code on"
#endif
#elif defined(CIRCNN_NO_CLONES)
#define ALT_NAME "4-float vectors, no AVX2 (-DCIRCNN_NO_CLONES)"
#if CIRCNN_X86_AVX2
#error "CIRCNN_NO_CLONES left the AVX2 code on"
#endif
#else
#error "compile with -DCIRCNN_NO_CLONES or -DCIRCNN_NO_VECTOR_EXT (tests/meson.build)"
#endif

/* The other build, renamed (every global symbol of the two objects). */
#define circnn_rfft_f32 alt_rfft_f32
#define circnn_irfft_f32 alt_irfft_f32
#define circnn_rfft_f32_lanes alt_rfft_f32_lanes
#define circnn_irfft_f32_lanes_unscaled alt_irfft_f32_lanes_unscaled
#define circnn_rfft_f32_rows alt_rfft_f32_rows
#define circnn_irfft_f32_rows_unscaled alt_irfft_f32_rows_unscaled
#define circnn_bc_dense_f32 alt_bc_dense_f32
#define circnn_bc_dense_f32_scratch_bytes alt_bc_dense_f32_scratch_bytes
#include "fft_f32.c"
#include "bc_dense_f32.c"
#undef circnn_rfft_f32
#undef circnn_irfft_f32
#undef circnn_rfft_f32_lanes
#undef circnn_irfft_f32_lanes_unscaled
#undef circnn_rfft_f32_rows
#undef circnn_irfft_f32_rows_unscaled
#undef circnn_bc_dense_f32
#undef circnn_bc_dense_f32_scratch_bytes

#include "c_test_util.h"

/* What the library's build has: the same compiler without the two macros
 * (fft_common.h's conditions). */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__SSE2__) || defined(__aarch64__))
#define LIB_V4 1
#else
#define LIB_V4 0
#endif
#if LIB_V4 && defined(__x86_64__) && defined(__ELF__) && defined(__GNUC__)
#define LIB_AVX2 1
#else
#define LIB_AVX2 0
#endif

static int lib_runs_avx2(void)
{
#if LIB_AVX2
    return __builtin_cpu_supports("avx2") != 0;
#else
    return 0;
#endif
}

/* ------------------------------------------------------------------------ */
/* Float buffers with a guard zone on both sides, the payload 16-byte
 * aligned (glibc's malloc) or misaligned by one float. */

#define FB_HEAD 64u
#define FB_TAIL 64u

typedef struct {
    unsigned char *base;
    float *p;
    size_t head, bytes;
} fbuf_t;

static float *fbuf_alloc(fbuf_t *b, size_t floats, int misalign)
{
    b->head = FB_HEAD + (misalign ? sizeof(float) : 0u);
    b->bytes = floats * sizeof(float);
    b->base = (unsigned char *)xmalloc(b->head + b->bytes + FB_TAIL);
    for (size_t i = 0; i < b->head; i++) b->base[i] = guard_byte(i);
    for (size_t i = 0; i < FB_TAIL; i++) b->base[b->head + b->bytes + i] = guard_byte(1000u + i);
    b->p = (float *)(void *)(b->base + b->head);
    memset(b->p, 0xFF, b->bytes); /* NaN */
    return b->p;
}

static int fbuf_intact(const fbuf_t *b)
{
    for (size_t i = 0; i < b->head; i++)
        if (b->base[i] != guard_byte(i)) return 0;
    for (size_t i = 0; i < FB_TAIL; i++)
        if (b->base[b->head + b->bytes + i] != guard_byte(1000u + i)) return 0;
    return 1;
}

static void fbuf_free(fbuf_t *b)
{
    free(b->base);
    b->base = NULL;
    b->p = NULL;
}

/* ------------------------------------------------------------------------ */
/* The comparison */

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* CHECK that got holds the bits of ref; else print where and how many
 * differ, with the case described by fmt. */
static void same_bits(const float *ref, const float *got, size_t n, const char *fmt, ...)
{
    int same = memcmp(ref, got, n * sizeof *ref) == 0;
    char what[200] = "";
    size_t first = n, count = 0;
    if (!same) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        for (size_t i = 0; i < n; i++) {
            if (bits_of(ref[i]) != bits_of(got[i])) {
                if (first == n) first = i;
                count++;
            }
        }
    }
    CHECK(same, "%s: %lu of %lu floats differ, first [%lu]: library %a (0x%08lx), " ALT_NAME " %a (0x%08lx)", what,
          (unsigned long)count, (unsigned long)n, (unsigned long)first, (double)ref[first],
          (unsigned long)bits_of(ref[first]), (double)got[first], (unsigned long)bits_of(got[first]));
}

/* ------------------------------------------------------------------------ */
/* Inputs */

#define KINDS 14
static const char *const kind_name[KINDS] = {
    "uniform", "zeros", "-0", "+-0", "unit impulse at 0", "impulse", "large (2^110)", "small (2^-120)",
    "subnormal", "mixed magnitudes", "constant", "alternating", "small integers", "sparse"};

/* One value of an input of kind `kind` (i of n). */
static float draw(rng_t *r, int kind, uint32_t i, uint32_t n, uint32_t spot, float c)
{
    switch (kind) {
    case 0: return (float)rng_uniform(r);
    case 1: return 0.0f;
    case 2: return -0.0f;
    case 3: return (rng_next(r) & 1u) ? -0.0f : 0.0f;
    case 4: return i == 0 ? 1.0f : 0.0f;
    case 5: return i == spot % n ? c : 0.0f;
    case 6: return (float)ldexp(rng_uniform(r), 110);
    case 7: return (float)ldexp(rng_uniform(r), -120);
    case 8: return (float)ldexp(rng_uniform(r), -135); /* below 2^-126 */
    case 9: return (float)ldexp(rng_uniform(r), rng_int(r, -60, 60));
    case 10: return c;
    case 11: return (i & 1u) ? -c : c;
    case 12: return (float)rng_int(r, -8, 8);
    default: return (rng_next(r) % 8u) == 0 ? (float)rng_uniform(r) : -0.0f;
    }
}

static void fill(rng_t *r, float *x, size_t count, uint32_t n, int kind)
{
    uint32_t spot = rng_next(r);
    float c = (float)rng_uniform(r);
    for (size_t i = 0; i < count; i++) x[i] = draw(r, kind, (uint32_t)(i % n), n, spot, c);
}

/* ------------------------------------------------------------------------ */
/* circnn_rfft_f32 and circnn_irfft_f32 */

static void test_single(void)
{
    rng_t r = rng_seed(23);
    long cases = 0;
    for (uint32_t n = 2; n <= 1024; n *= 2) {
        for (int kind = 0; kind < KINDS; kind++) {
            for (int rep = 0; rep < 3; rep++) {
                for (int inverse = 0; inverse <= 1; inverse++) {
                    for (int mis = 0; mis <= 1; mis++) {
                        fbuf_t bx, bc, ba, bb, bia, bib;
                        float *x = fbuf_alloc(&bx, n, mis), *xc = fbuf_alloc(&bc, n, 0);
                        float *a = fbuf_alloc(&ba, n, mis), *b = fbuf_alloc(&bb, n, mis);
                        float *ia = fbuf_alloc(&bia, n, mis), *ib = fbuf_alloc(&bib, n, mis);
                        fill(&r, x, n, n, kind);
                        memcpy(xc, x, n * sizeof *x);
                        memcpy(ia, x, n * sizeof *x);
                        memcpy(ib, x, n * sizeof *x);
                        const char *op = inverse ? "irfft_f32" : "rfft_f32";
                        if (inverse) {
                            circnn_irfft_f32(x, a, n);
                            alt_irfft_f32(x, b, n);
                            circnn_irfft_f32(ia, ia, n);
                            alt_irfft_f32(ib, ib, n);
                        } else {
                            circnn_rfft_f32(x, a, n);
                            alt_rfft_f32(x, b, n);
                            circnn_rfft_f32(ia, ia, n);
                            alt_rfft_f32(ib, ib, n);
                        }
                        same_bits(a, b, n, "%s n = %u, %s input, out of place%s", op, (unsigned)n, kind_name[kind],
                                  mis ? ", misaligned" : "");
                        same_bits(ia, ib, n, "%s n = %u, %s input, in place%s", op, (unsigned)n, kind_name[kind],
                                  mis ? ", misaligned" : "");
                        same_bits(a, ia, n, "%s n = %u, %s input: the library in place against out of place", op,
                                  (unsigned)n, kind_name[kind]);
                        CHECK(memcmp(x, xc, n * sizeof *x) == 0, "%s n = %u: input modified", op, (unsigned)n);
                        CHECK(fbuf_intact(&bx) && fbuf_intact(&ba) && fbuf_intact(&bb) && fbuf_intact(&bia) &&
                                  fbuf_intact(&bib),
                              "%s n = %u: wrote outside a buffer", op, (unsigned)n);
                        fbuf_free(&bx), fbuf_free(&bc), fbuf_free(&ba), fbuf_free(&bb), fbuf_free(&bia),
                            fbuf_free(&bib);
                        cases++;
                    }
                }
            }
        }
    }
    printf("rfft_f32, irfft_f32: %ld cases (10 sizes, %d kinds of input, in and out of place, aligned and not)\n",
           cases, KINDS);
}

/* ------------------------------------------------------------------------ */
/* The batched transforms of fft_common.h */


static void test_batched(void)
{
    rng_t r = rng_seed(29);
    long cases = 0;
    for (uint32_t n = 2; n <= 1024; n *= 2) {
        for (uint32_t groups = 1; groups <= CIRCNN_F32_MAX_GROUPS; groups++) {
            size_t total = (size_t)CIRCNN_F32_LANES * groups * n;
            for (int rep = 0; rep < 6; rep++) {
                int mis = rep & 1, in_place = (rep >> 1) & 1;
                int kind = rep < 2 ? 0 : (int)(rng_next(&r) % KINDS);
                fbuf_t bx, bs, ba, bb, bwa, bwb;
                float *x = fbuf_alloc(&bx, total, mis), *s = fbuf_alloc(&bs, total, 0);
                float *a = fbuf_alloc(&ba, total, mis), *b = fbuf_alloc(&bb, total, mis);
                float *wa = fbuf_alloc(&bwa, total, mis), *wb = fbuf_alloc(&bwb, total, mis);
                /* one kind per row, or the rep's kind for all */
                for (uint32_t l = 0; l < CIRCNN_F32_LANES * groups; l++)
                    fill(&r, x + (size_t)l * n, n, n, rep < 2 ? (int)(rng_next(&r) % KINDS) : kind);
                memcpy(s, x, total * sizeof *x);

                /* rows, forward: out of place, or out == rows */
                if (in_place) {
                    memcpy(a, x, total * sizeof *x);
                    memcpy(b, x, total * sizeof *x);
                    circnn_rfft_f32_rows(a, a, wa, n, groups);
                    alt_rfft_f32_rows(b, b, wb, n, groups);
                } else {
                    circnn_rfft_f32_rows(x, a, wa, n, groups);
                    alt_rfft_f32_rows(x, b, wb, n, groups);
                    CHECK(memcmp(x, s, total * sizeof *x) == 0, "rfft_f32_rows n = %u: input modified", (unsigned)n);
                }
                same_bits(a, b, total, "rfft_f32_rows n = %u, %u groups, %s%s", (unsigned)n, (unsigned)groups,
                          in_place ? "in place" : "out of place", mis ? ", misaligned" : "");

                /* rows, inverse (spec is overwritten) */
                memcpy(wa, x, total * sizeof *x);
                memcpy(wb, x, total * sizeof *x);
                circnn_irfft_f32_rows_unscaled(wa, a, n, groups);
                alt_irfft_f32_rows_unscaled(wb, b, n, groups);
                same_bits(a, b, total, "irfft_f32_rows_unscaled n = %u, %u groups%s", (unsigned)n, (unsigned)groups,
                          mis ? ", misaligned" : "");

                /* lanes (4 lanes: the first 4n floats) */
                if (groups == 1) {
                    circnn_rfft_f32_lanes(x, a, n);
                    alt_rfft_f32_lanes(x, b, n);
                    same_bits(a, b, total, "rfft_f32_lanes n = %u%s", (unsigned)n, mis ? ", misaligned" : "");
                    memcpy(wa, x, total * sizeof *x);
                    memcpy(wb, x, total * sizeof *x);
                    circnn_irfft_f32_lanes_unscaled(wa, a, n);
                    alt_irfft_f32_lanes_unscaled(wb, b, n);
                    same_bits(a, b, total, "irfft_f32_lanes_unscaled n = %u%s", (unsigned)n,
                              mis ? ", misaligned" : "");
                }
                CHECK(fbuf_intact(&bx) && fbuf_intact(&ba) && fbuf_intact(&bb) && fbuf_intact(&bwa) &&
                          fbuf_intact(&bwb),
                      "batched transforms n = %u, %u groups: wrote outside a buffer", (unsigned)n, (unsigned)groups);
                fbuf_free(&bx), fbuf_free(&bs), fbuf_free(&ba), fbuf_free(&bb), fbuf_free(&bwa), fbuf_free(&bwb);
                cases++;
            }
        }
    }
    printf("rfft_f32_rows, irfft_f32_rows_unscaled (1-4 groups), *_lanes: %ld cases\n", cases);
}

/* ------------------------------------------------------------------------ */
/* circnn_bc_dense_f32 */

/* Batches of the library's build for p or q blocks of k (bc_dense_f32.c's
 * next_batch, whose copy is in this file): counts those of an even number
 * of groups (8-float transforms with AVX2), of an odd number > 0 and lone
 * blocks. */
static void count_batches(uint32_t blocks, uint32_t groups, long *even, long *odd, long *lone)
{
    for (uint32_t b0 = 0; b0 < blocks;) {
        uint32_t g, count = next_batch(blocks - b0, groups, &g);
        if (count == 1)
            ++*lone;
        else if (g % 2 == 0)
            ++*even;
        else
            ++*odd;
        b0 += count;
    }
}

static void test_bc_dense(void)
{
    rng_t r = rng_seed(31);
    long shapes = 0, even = 0, odd = 0, lone = 0, widths[3] = {0, 0, 0};
    for (int t = 0; t < 420; t++) {
        uint32_t k = 2u << (t < 40 ? t % 10 : (int)(rng_next(&r) % 10u)); /* 2 .. 1024 */
        uint32_t most = k >= 256 ? 6 : 18;
        uint32_t q = 1 + rng_next(&r) % most, p = 1 + rng_next(&r) % most;
        uint32_t n = q * k, m = p * k;
        if (rng_next(&r) % 4u) n -= rng_next(&r) % k; /* not a multiple of k */
        if (rng_next(&r) % 4u) m -= rng_next(&r) % k;
        if (m == n) m = m > 1 ? m - 1 : m + 1;
        p = circnn_blocks(m, k);
        int with_bias = (int)(rng_next(&r) & 1u), relu = (int)(rng_next(&r) & 1u);
        int mis = (int)(rng_next(&r) & 1u);
        /* t = 10, 30: k = 2, subnormal weights, no bias: outputs below 2^-125
         * with odd last bits */
        if (t == 10 || t == 30) with_bias = 0;
        size_t count = circnn_bc_dense_weight_count(n, m, k);
        CHECK(circnn_bc_dense_check(n, m, k) == CIRCNN_OK && count == (size_t)p * q * k, "test setup: shape");

        fbuf_t bw, bbias, bx, bxc, bya, byb;
        float *w = fbuf_alloc(&bw, count, mis), *bias = fbuf_alloc(&bbias, m, mis);
        float *x = fbuf_alloc(&bx, n, mis), *xc = fbuf_alloc(&bxc, n, 0);
        float *ya = fbuf_alloc(&bya, m, mis), *yb = fbuf_alloc(&byb, m, !mis);
        static const int wkinds[5] = {0, 0, 0, 9, 7}; /* uniform, mixed, small magnitudes */
        int wkind = t == 10 || t == 30 ? 8 : wkinds[rng_next(&r) % 5u], xkind = t % 7 == 6 ? (int)(rng_next(&r) % KINDS) : 0;
        fill(&r, w, count, k, wkind);
        fill(&r, x, n, n, xkind);
        fill(&r, bias, m, m, 0);
        memcpy(xc, x, n * sizeof *x);

        size_t sb = circnn_bc_dense_f32_scratch_bytes(n, m, k);
        CHECK(sb == alt_bc_dense_f32_scratch_bytes(n, m, k), "bc_dense %u -> %u, k = %u: scratch sizes differ",
              (unsigned)n, (unsigned)m, (unsigned)k);
        guarded_t gsa, gsb;
        void *sa = guarded_alloc(&gsa, sb), *sbuf = guarded_alloc(&gsb, sb);
        guarded_poison(&gsa, 0xFF);
        guarded_poison(&gsb, 0xFF);

        circnn_bc_dense_f32_t layer = {n, m, k, (uint32_t)relu, w, with_bias ? bias : NULL};
        circnn_bc_dense_f32(&layer, x, ya, sa);
        alt_bc_dense_f32(&layer, x, yb, sbuf);
        same_bits(ya, yb, m, "bc_dense_f32 %u -> %u, k = %u, bias %d, relu %d, weights %s, x %s", (unsigned)n,
                  (unsigned)m, (unsigned)k, with_bias, relu, kind_name[wkind], kind_name[xkind]);
        CHECK(memcmp(x, xc, n * sizeof *x) == 0, "bc_dense_f32: x modified");
        CHECK(guarded_intact(&gsa) && guarded_intact(&gsb), "bc_dense_f32 %u -> %u, k = %u: wrote outside scratch",
              (unsigned)n, (unsigned)m, (unsigned)k);
        CHECK(fbuf_intact(&bya) && fbuf_intact(&byb), "bc_dense_f32 %u -> %u, k = %u: wrote outside y", (unsigned)n,
              (unsigned)m, (unsigned)k);

        uint32_t groups = batch_groups(p, q, k);
        count_batches(q, groups, &even, &odd, &lone);
        count_batches(p, groups, &even, &odd, &lone);
        widths[k < 16 ? 0 : k < 32 ? 1 : 2]++;
        shapes++;
        fbuf_free(&bw), fbuf_free(&bbias), fbuf_free(&bx), fbuf_free(&bxc), fbuf_free(&bya), fbuf_free(&byb);
        guarded_free(&gsa), guarded_free(&gsb);
    }
    printf("bc_dense_f32: %ld shapes (k < 16: %ld, k = 16: %ld, k >= 32: %ld); the library's batches: %ld of an even "
           "number of groups, %ld odd, %ld lone blocks\n",
           shapes, widths[0], widths[1], widths[2], even, odd, lone);
    CHECK(even > 50 && odd > 50 && lone > 50, "test setup: too few batches of a kind");
}

int main(void)
{
    int avx2 = lib_runs_avx2();
    printf("library build: %s; __builtin_cpu_supports(\"avx2\"): %s\n",
           LIB_AVX2 ? "4-float vectors + AVX2 dispatch (CIRCNN_X86_AVX2)" : LIB_V4 ? "4-float vectors" : "plain C",
           LIB_AVX2 ? (avx2 ? "true" : "false") : "not compiled in");
    printf("the library runs: %s\n",
           avx2 ? "8-float AVX2 transforms for even group counts, 4-float for odd, AVX2 clones of mac_sums and "
                  "output_rows"
                : LIB_V4 ? "4-float vectors throughout" : "plain C");
    printf("compared with: %s%s\n", ALT_NAME,
           (!avx2 && LIB_V4 == CIRCNN_HAVE_V4) ? " (the same path as the library here: a consistency check only)"
                                               : "");
    test_single();
    test_batched();
    test_bc_dense();
    return test_summary("test_f32_paths_c (" ALT_NAME ")");
}

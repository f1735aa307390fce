/*
 * c_test_util.h - helpers shared by the C unit tests (tests only).
 *
 * Independent oracles (naive O(n^2) DFTs in double), a deterministic PRNG,
 * error measures, and guarded buffers whose surroundings are filled with a
 * sentinel pattern so that any write past the end is caught.  Nothing here
 * calls the library.
 */
#ifndef CIRCNN_C_TEST_UTIL_H
#define CIRCNN_C_TEST_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_PI 3.14159265358979323846

/* ------------------------------------------------------------------------ */
/* Failure accounting */

static long test_checks = 0;
static long test_failures = 0;

/* CHECK(condition, printf format, args...): counts, prints the first 100
 * failures with their location.  The format argument is mandatory. */
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        test_checks++;                                                          \
        if (!(cond)) {                                                          \
            if (test_failures < 100) {                                          \
                printf("FAIL %s:%d: ", __FILE__, __LINE__);                     \
                printf(__VA_ARGS__);                                            \
                printf("\n");                                                   \
            }                                                                   \
            test_failures++;                                                    \
        }                                                                       \
    } while (0)

static inline int test_summary(const char *name)
{
    printf("%s: %ld checks, %ld failed\n", name, test_checks, test_failures);
    return test_failures != 0;
}

/* ------------------------------------------------------------------------ */
/* Deterministic PRNG: xorshift32 (Marsaglia). */

typedef struct {
    uint32_t s;
} rng_t;

static inline rng_t rng_seed(uint32_t seed)
{
    rng_t r;
    r.s = seed ? seed : 0x9E3779B9u;
    return r;
}

static inline uint32_t rng_next(rng_t *r)
{
    uint32_t x = r->s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->s = x;
    return x;
}

/* Uniform in [-1, 1), 24 random bits. */
static inline double rng_uniform(rng_t *r)
{
    return (double)(rng_next(r) >> 8) * (1.0 / 8388608.0) - 1.0;
}

/* Uniform integer in [lo, hi], hi - lo < 2^32 - 1. */
static inline int32_t rng_int(rng_t *r, int32_t lo, int32_t hi)
{
    uint32_t span = (uint32_t)((int64_t)hi - (int64_t)lo + 1);
    return (int32_t)((int64_t)lo + (int64_t)(rng_next(r) % span));
}

/* ------------------------------------------------------------------------ */
/* Oracles: naive DFTs in double, with exact index reduction (b t mod n). */

static inline double dft_cos(uint32_t idx, uint32_t n)
{
    return cos(2.0 * TEST_PI * (double)idx / (double)n);
}

static inline double dft_sin(uint32_t idx, uint32_t n)
{
    return sin(2.0 * TEST_PI * (double)idx / (double)n);
}

/* out = numpy.fft.rfft(x), packed as in circnn/fft.h:
 * out[0] = Re X[0], out[1] = Re X[n/2], out[2b], out[2b+1] = Re, Im X[b]. */
static inline void dft_packed(const double *x, double *out, uint32_t n)
{
    double *c = (double *)malloc(n * sizeof(double));
    double *s = (double *)malloc(n * sizeof(double));
    if (!c || !s) {
        printf("out of memory\n");
        exit(2);
    }
    for (uint32_t i = 0; i < n; i++) {
        c[i] = dft_cos(i, n);
        s[i] = dft_sin(i, n);
    }
    for (uint32_t b = 0; b <= n / 2; b++) {
        double re = 0.0, im = 0.0;
        for (uint32_t t = 0; t < n; t++) {
            uint32_t idx = (uint32_t)(((uint64_t)b * t) % n);
            re += x[t] * c[idx];
            im -= x[t] * s[idx];
        }
        if (b == 0)
            out[0] = re;
        else if (b == n / 2)
            out[1] = re;
        else {
            out[2 * b] = re;
            out[2 * b + 1] = im;
        }
    }
    free(c);
    free(s);
}

/* x = numpy.fft.irfft(X, n) for a packed spectrum X (1/n included). */
static inline void idft_packed(const double *X, double *x, uint32_t n)
{
    for (uint32_t t = 0; t < n; t++) {
        double acc = X[0] + ((t & 1u) ? -X[1] : X[1]);
        for (uint32_t b = 1; b < n / 2; b++) {
            uint32_t idx = (uint32_t)(((uint64_t)b * t) % n);
            acc += 2.0 * (X[2 * b] * dft_cos(idx, n) - X[2 * b + 1] * dft_sin(idx, n));
        }
        x[t] = acc / (double)n;
    }
}

/* ------------------------------------------------------------------------ */
/* Error measures */

/* sqrt(sum (got - ref)^2 / sum ref^2); absolute RMS if ref is all zero.
 * NaN in got gives NaN (which fails every "<=" check). */
static inline double rms_rel(const double *got, const double *ref, size_t n)
{
    double e = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = got[i] - ref[i];
        e += d * d;
        s += ref[i] * ref[i];
    }
    return s > 0.0 ? sqrt(e / s) : sqrt(e / (double)n);
}

/* Signal to noise ratio in dB of got against ref; 999 when exact. */
static inline double snr_db(const double *got, const double *ref, size_t n)
{
    double e = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = got[i] - ref[i];
        e += d * d;
        s += ref[i] * ref[i];
    }
    if (e != e) return -999.0; /* NaN */
    if (e == 0.0) return 999.0;
    if (s == 0.0) return -999.0;
    return 10.0 * log10(s / e);
}

/* ------------------------------------------------------------------------ */
/* Guarded buffers: GUARD_HEAD sentinel bytes before, GUARD_TAIL after.
 * GUARD_HEAD = 56 keeps the payload 8-byte aligned but (with a 16-byte
 * aligned malloc) not 16-byte aligned: the library may assume only 8. */

#define GUARD_HEAD 56u
#define GUARD_TAIL 64u

typedef struct {
    unsigned char *base;
    void *p;
    size_t bytes;
} guarded_t;

static inline unsigned char guard_byte(size_t i)
{
    return (unsigned char)(0xA5u ^ (unsigned)((i * 37u) & 0xFFu));
}

static inline void *guarded_alloc(guarded_t *g, size_t bytes)
{
    g->bytes = bytes;
    g->base = (unsigned char *)malloc(GUARD_HEAD + bytes + GUARD_TAIL);
    if (!g->base) {
        printf("out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < GUARD_HEAD; i++) g->base[i] = guard_byte(i);
    for (size_t i = 0; i < GUARD_TAIL; i++) g->base[GUARD_HEAD + bytes + i] = guard_byte(1000u + i);
    g->p = g->base + GUARD_HEAD;
    return g->p;
}

/* Fill the payload with a byte (0xFF: float NaN, int16 -1). */
static inline void guarded_poison(guarded_t *g, unsigned char byte)
{
    memset(g->p, byte, g->bytes);
}

/* 1 if both guard zones still hold their sentinels. */
static inline int guarded_intact(const guarded_t *g)
{
    for (size_t i = 0; i < GUARD_HEAD; i++)
        if (g->base[i] != guard_byte(i)) return 0;
    for (size_t i = 0; i < GUARD_TAIL; i++)
        if (g->base[GUARD_HEAD + g->bytes + i] != guard_byte(1000u + i)) return 0;
    return 1;
}

static inline void guarded_free(guarded_t *g)
{
    free(g->base);
    g->base = NULL;
    g->p = NULL;
}

/* malloc that exits on failure (exact size: AddressSanitizer sees over-reads). */
static inline void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1u);
    if (!p) {
        printf("out of memory\n");
        exit(2);
    }
    return p;
}

#endif /* CIRCNN_C_TEST_UTIL_H */

/*
 * test_fft_c.c - circnn real FFTs (circnn/fft.h) against a naive DFT in double.
 *
 * f32: rfft and irfft for every power of two 2..1024, out of place and in
 * place, normalised RMS error <= 1e-6.  q15: SNR of the dequantised spectrum
 * (out * 2^e) against the double DFT of the same integers, forward and
 * forward-then-inverse, random and saturating inputs; n = 2 and 4 exact.
 * Every output buffer carries sentinel guards; inputs of out-of-place calls
 * must come back unchanged.
 */
#include "circnn/fft.h"
#include "c_test_util.h"

#define F32_TOL 1e-6
#define Q15_SNR_FULL 65.0
#define Q15_SNR_QUIET 50.0
#define Q15_SNR_ROUND_TRIP 60.0
#define Q15_SNR_SATURATING 60.0
#define Q15_TRIALS 8

/* ------------------------------------------------------------------------ */

static void test_platform(void)
{
    /* fft.h assumes two's complement and arithmetic right shifts. */
    volatile int32_t minus3 = -3;
    volatile int16_t wrap = (int16_t)-32768;
    CHECK((minus3 >> 1) == -2, "right shift of a negative value is not arithmetic");
    CHECK(wrap == INT16_MIN, "int16 is not two's complement");
}

static void test_fft_check(void)
{
    for (uint32_t n = 2; n <= 1024; n *= 2)
        CHECK(circnn_fft_check(n) == CIRCNN_OK, "circnn_fft_check(%u) != CIRCNN_OK", (unsigned)n);
    static const uint32_t bad[] = {0u, 1u, 3u, 6u, 12u, 1000u, 1023u, 1025u, 2048u, 4096u, 0x80000000u, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(circnn_fft_check(bad[i]) == CIRCNN_ERR_BLOCK_SIZE,
              "circnn_fft_check(%lu) != CIRCNN_ERR_BLOCK_SIZE", (unsigned long)bad[i]);
    CHECK(CIRCNN_FFT_MIN_SIZE == 2 && CIRCNN_FFT_MAX_SIZE == 1024, "size limits changed");
}

/* ------------------------------------------------------------------------ */
/* f32 */

static void f32_to_double(const float *f, double *d, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) d[i] = (double)f[i];
}

/* One f32 transform, out of place (in_place = 0) or in place, checked for
 * guards, unchanged input and normalised RMS error against ref. */
static double run_f32(int inverse, int in_place, const float *in, const double *ref, uint32_t n)
{
    guarded_t g;
    float *out = (float *)guarded_alloc(&g, n * sizeof(float));
    float *in_copy = (float *)xmalloc(n * sizeof(float));
    double *got = (double *)xmalloc(n * sizeof(double));
    const char *what = inverse ? "irfft_f32" : "rfft_f32";
    const char *where = in_place ? "in place" : "out of place";

    memcpy(in_copy, in, n * sizeof(float));
    if (in_place) {
        memcpy(out, in, n * sizeof(float));
        if (inverse) circnn_irfft_f32(out, out, n);
        else circnn_rfft_f32(out, out, n);
    } else {
        guarded_poison(&g, 0xFF); /* NaN: an output never written shows up */
        if (inverse) circnn_irfft_f32(in, out, n);
        else circnn_rfft_f32(in, out, n);
        CHECK(memcmp(in, in_copy, n * sizeof(float)) == 0, "%s n=%u %s: input modified", what, (unsigned)n, where);
    }
    CHECK(guarded_intact(&g), "%s n=%u %s: wrote outside the output buffer", what, (unsigned)n, where);
    f32_to_double(out, got, n);
    double err = rms_rel(got, ref, n);
    CHECK(err <= F32_TOL, "%s n=%u %s: normalised RMS error %.3g > %.0e", what, (unsigned)n, where, err, F32_TOL);
    free(got);
    free(in_copy);
    guarded_free(&g);
    return err;
}

static void test_f32(void)
{
    rng_t rng = rng_seed(0x12345678u);
    double worst_fwd = 0.0, worst_inv = 0.0, worst_rt = 0.0;

    for (uint32_t n = 2; n <= 1024; n *= 2) {
        float *x = (float *)xmalloc(n * sizeof(float));
        float *spec = (float *)xmalloc(n * sizeof(float));
        double *xd = (double *)xmalloc(n * sizeof(double));
        double *ref = (double *)xmalloc(n * sizeof(double));

        /* Forward: random signal against the double DFT. */
        for (uint32_t i = 0; i < n; i++) x[i] = (float)rng_uniform(&rng);
        f32_to_double(x, xd, n);
        dft_packed(xd, ref, n);
        for (int ip = 0; ip <= 1; ip++) {
            double e = run_f32(0, ip, x, ref, n);
            if (e > worst_fwd) worst_fwd = e;
        }

        /* Inverse alone: a random packed spectrum against the double inverse DFT. */
        for (uint32_t i = 0; i < n; i++) spec[i] = (float)(rng_uniform(&rng) * sqrt((double)n));
        f32_to_double(spec, xd, n);
        idft_packed(xd, ref, n);
        for (int ip = 0; ip <= 1; ip++) {
            double e = run_f32(1, ip, spec, ref, n);
            if (e > worst_inv) worst_inv = e;
        }

        /* Round trip irfft(rfft(x)) = x, out of place and in place. */
        for (int ip = 0; ip <= 1; ip++) {
            guarded_t g, gsp;
            float *buf = (float *)guarded_alloc(&g, n * sizeof(float));
            float *mid = (float *)guarded_alloc(&gsp, n * sizeof(float));
            for (uint32_t i = 0; i < n; i++) x[i] = (float)rng_uniform(&rng);
            f32_to_double(x, xd, n);
            if (ip) {
                memcpy(buf, x, n * sizeof(float));
                circnn_rfft_f32(buf, buf, n);
                circnn_irfft_f32(buf, buf, n);
            } else {
                circnn_rfft_f32(x, mid, n);
                memcpy(spec, mid, n * sizeof(float));
                circnn_irfft_f32(mid, buf, n);
                CHECK(memcmp(mid, spec, n * sizeof(float)) == 0, "irfft_f32 n=%u: input modified", (unsigned)n);
                CHECK(guarded_intact(&gsp), "round trip f32 n=%u: rfft wrote outside its output", (unsigned)n);
            }
            guarded_free(&gsp);
            CHECK(guarded_intact(&g), "round trip f32 n=%u: wrote outside the buffer", (unsigned)n);
            f32_to_double(buf, ref, n);
            double e = rms_rel(ref, xd, n);
            CHECK(e <= F32_TOL, "irfft(rfft(x)) f32 n=%u %s: normalised RMS error %.3g", (unsigned)n,
                  ip ? "in place" : "out of place", e);
            if (e > worst_rt) worst_rt = e;
            guarded_free(&g);
        }
        free(x);
        free(spec);
        free(xd);
        free(ref);
    }
    printf("f32, n = 2..1024, worst normalised RMS error: rfft %.2e, irfft %.2e, round trip %.2e (bound %.0e)\n",
           worst_fwd, worst_inv, worst_rt, F32_TOL);
}

/* ------------------------------------------------------------------------ */
/* q15 */

typedef struct {
    double fwd_snr;  /* forward, against the DFT */
    double rt_snr;   /* forward then inverse, against the input */
    int32_t e, d;    /* exponents returned */
} q15_result_t;

/* rfft_q15 then irfft_q15 on x, out of place or in place, with guards, the
 * input checks, and the dequantised results against the double oracles.
 * spectrum_out (optional): the dequantised forward result. */
static q15_result_t run_q15(const int16_t *x, uint32_t n, int in_place, double *spectrum_out)
{
    q15_result_t res;
    guarded_t gs, gy;
    int16_t *spec = (int16_t *)guarded_alloc(&gs, n * sizeof(int16_t));
    int16_t *y = (int16_t *)guarded_alloc(&gy, n * sizeof(int16_t));
    int16_t *x_copy = (int16_t *)xmalloc(n * sizeof(int16_t));
    int16_t *spec_copy = (int16_t *)xmalloc(n * sizeof(int16_t));
    double *xd = (double *)xmalloc(n * sizeof(double));
    double *ref = (double *)xmalloc(n * sizeof(double));
    double *got = (double *)xmalloc(n * sizeof(double));
    const char *where = in_place ? "in place" : "out of place";

    for (uint32_t i = 0; i < n; i++) xd[i] = (double)x[i];
    dft_packed(xd, ref, n);
    memcpy(x_copy, x, n * sizeof(int16_t));

    /* Forward. */
    if (in_place) {
        memcpy(spec, x, n * sizeof(int16_t));
        res.e = circnn_rfft_q15(spec, spec, n);
    } else {
        guarded_poison(&gs, 0x5A);
        res.e = circnn_rfft_q15(x, spec, n);
        CHECK(memcmp(x, x_copy, n * sizeof(int16_t)) == 0, "rfft_q15 n=%u: input modified", (unsigned)n);
    }
    CHECK(guarded_intact(&gs), "rfft_q15 n=%u %s: wrote outside the output buffer", (unsigned)n, where);
    CHECK(res.e >= -64 && res.e <= 64, "rfft_q15 n=%u: implausible exponent %ld", (unsigned)n, (long)res.e);
    for (uint32_t i = 0; i < n; i++) got[i] = ldexp((double)spec[i], (int)res.e);
    res.fwd_snr = snr_db(got, ref, n);
    if (spectrum_out) memcpy(spectrum_out, got, n * sizeof(double));

    /* Inverse of what came out: back to x with exponent e + d. */
    memcpy(spec_copy, spec, n * sizeof(int16_t));
    if (in_place) {
        memcpy(y, spec, n * sizeof(int16_t));
        res.d = circnn_irfft_q15(y, y, n);
    } else {
        guarded_poison(&gy, 0x5A);
        res.d = circnn_irfft_q15(spec, y, n);
        CHECK(memcmp(spec, spec_copy, n * sizeof(int16_t)) == 0, "irfft_q15 n=%u: input modified", (unsigned)n);
    }
    CHECK(guarded_intact(&gy), "irfft_q15 n=%u %s: wrote outside the output buffer", (unsigned)n, where);
    CHECK(res.d >= -64 && res.d <= 64, "irfft_q15 n=%u: implausible exponent %ld", (unsigned)n, (long)res.d);
    for (uint32_t i = 0; i < n; i++) got[i] = ldexp((double)y[i], (int)(res.e + res.d));
    res.rt_snr = snr_db(got, xd, n);

    free(x_copy);
    free(spec_copy);
    free(xd);
    free(ref);
    free(got);
    guarded_free(&gs);
    guarded_free(&gy);
    return res;
}

/* n = 2 and 4 by hand: the transforms must be exact on small integers. */
static void check_exact(const int16_t *x, const double *X, uint32_t n)
{
    guarded_t gs, gy;
    int16_t *spec = (int16_t *)guarded_alloc(&gs, n * sizeof(int16_t));
    int16_t *y = (int16_t *)guarded_alloc(&gy, n * sizeof(int16_t));
    int16_t *xin = (int16_t *)xmalloc(n * sizeof(int16_t));
    int16_t *Xin = (int16_t *)xmalloc(n * sizeof(int16_t));

    memcpy(xin, x, n * sizeof(int16_t));
    int32_t e = circnn_rfft_q15(xin, spec, n);
    CHECK(guarded_intact(&gs), "rfft_q15 n=%u exact case: guard overwritten", (unsigned)n);
    CHECK(memcmp(xin, x, n * sizeof(int16_t)) == 0, "rfft_q15 n=%u exact case: input modified", (unsigned)n);
    for (uint32_t i = 0; i < n; i++)
        CHECK(ldexp((double)spec[i], (int)e) == X[i], "rfft_q15 n=%u x[0]=%d: out[%u] = %d * 2^%ld != %g",
              (unsigned)n, x[0], (unsigned)i, spec[i], (long)e, X[i]);

    /* Inverse of the exact spectrum, given as integers (X holds integers here). */
    for (uint32_t i = 0; i < n; i++) Xin[i] = (int16_t)X[i];
    int32_t d = circnn_irfft_q15(Xin, y, n);
    CHECK(guarded_intact(&gy), "irfft_q15 n=%u exact case: guard overwritten", (unsigned)n);
    for (uint32_t i = 0; i < n; i++)
        CHECK(Xin[i] == (int16_t)X[i], "irfft_q15 n=%u exact case: input modified", (unsigned)n);
    for (uint32_t i = 0; i < n; i++)
        CHECK(ldexp((double)y[i], (int)d) == (double)x[i], "irfft_q15 n=%u: out[%u] = %d * 2^%ld != %d",
              (unsigned)n, (unsigned)i, y[i], (long)d, x[i]);

    /* In place, both directions. */
    memcpy(xin, x, n * sizeof(int16_t));
    e = circnn_rfft_q15(xin, xin, n);
    for (uint32_t i = 0; i < n; i++)
        CHECK(ldexp((double)xin[i], (int)e) == X[i], "rfft_q15 in place n=%u: out[%u] = %d * 2^%ld != %g",
              (unsigned)n, (unsigned)i, xin[i], (long)e, X[i]);
    d = circnn_irfft_q15(xin, xin, n);
    for (uint32_t i = 0; i < n; i++)
        CHECK(ldexp((double)xin[i], (int)(e + d)) == (double)x[i],
              "irfft_q15 in place n=%u: out[%u] = %d * 2^%ld != %d", (unsigned)n, (unsigned)i, xin[i],
              (long)(e + d), x[i]);
    free(xin);
    free(Xin);
    guarded_free(&gs);
    guarded_free(&gy);
}

static void test_q15_exact_small(void)
{
    /* n = 2: X[0] = x0 + x1, X[1] = x0 - x1. */
    static const int16_t x2a[2] = {3, 5};
    static const double X2a[2] = {8, -2};
    static const int16_t x2b[2] = {-7, 2};
    static const double X2b[2] = {-5, -9};
    static const int16_t x2c[2] = {1, 1};
    static const double X2c[2] = {2, 0};
    /* n = 4: X[0] = sum, X[2] = x0 - x1 + x2 - x3, X[1] = (x0 - x2) + i (x3 - x1). */
    static const int16_t x4a[4] = {1, 2, 3, 4};
    static const double X4a[4] = {10, -2, -2, 2};
    static const int16_t x4b[4] = {-7, 0, 7, 1};
    static const double X4b[4] = {1, -1, -14, 1};
    static const int16_t x4c[4] = {1, 0, 0, 0};
    static const double X4c[4] = {1, 1, 1, 0};
    static const int16_t x4d[4] = {0, 0, 0, 0};
    static const double X4d[4] = {0, 0, 0, 0};
    check_exact(x2a, X2a, 2);
    check_exact(x2b, X2b, 2);
    check_exact(x2c, X2c, 2);
    check_exact(x4a, X4a, 4);
    check_exact(x4b, X4b, 4);
    check_exact(x4c, X4c, 4);
    check_exact(x4d, X4d, 4);
}

static void fill_uniform(rng_t *rng, int16_t *x, uint32_t n, int32_t lo, int32_t hi)
{
    for (uint32_t i = 0; i < n; i++) x[i] = (int16_t)rng_int(rng, lo, hi);
}

static void test_q15_random(void)
{
    rng_t rng = rng_seed(0xC0FFEE01u);
    printf("\nq15 rfft/irfft, worst SNR in dB over %d random inputs per size\n", Q15_TRIALS);
    printf("  (forward bounds: %.0f full scale, %.0f at 1/64; round trip %.0f)\n", Q15_SNR_FULL, Q15_SNR_QUIET,
           Q15_SNR_ROUND_TRIP);
    printf("%6s %12s %12s %12s %12s\n", "n", "full scale", "1/64 scale", "round trip", "rt at 1/64");
    for (uint32_t n = 8; n <= 1024; n *= 2) {
        int16_t *x = (int16_t *)xmalloc(n * sizeof(int16_t));
        double full = 999.0, quiet = 999.0, rt = 999.0, rt_quiet = 999.0;
        for (int trial = 0; trial < Q15_TRIALS; trial++) {
            for (int ip = 0; ip <= 1; ip++) {
                fill_uniform(&rng, x, n, -32768, 32767);
                q15_result_t r = run_q15(x, n, ip, NULL);
                CHECK(r.fwd_snr >= Q15_SNR_FULL, "rfft_q15 n=%u full scale %s: SNR %.1f dB < %.0f", (unsigned)n,
                      ip ? "in place" : "out of place", r.fwd_snr, Q15_SNR_FULL);
                CHECK(r.rt_snr >= Q15_SNR_ROUND_TRIP, "irfft_q15(rfft_q15) n=%u full scale: SNR %.1f dB < %.0f",
                      (unsigned)n, r.rt_snr, Q15_SNR_ROUND_TRIP);
                if (r.fwd_snr < full) full = r.fwd_snr;
                if (r.rt_snr < rt) rt = r.rt_snr;

                fill_uniform(&rng, x, n, -512, 511);
                r = run_q15(x, n, ip, NULL);
                CHECK(r.fwd_snr >= Q15_SNR_QUIET, "rfft_q15 n=%u at 1/64 %s: SNR %.1f dB < %.0f", (unsigned)n,
                      ip ? "in place" : "out of place", r.fwd_snr, Q15_SNR_QUIET);
                CHECK(r.rt_snr >= Q15_SNR_ROUND_TRIP, "irfft_q15(rfft_q15) n=%u at 1/64: SNR %.1f dB < %.0f",
                      (unsigned)n, r.rt_snr, Q15_SNR_ROUND_TRIP);
                if (r.fwd_snr < quiet) quiet = r.fwd_snr;
                if (r.rt_snr < rt_quiet) rt_quiet = r.rt_snr;
            }
        }
        printf("%6u %12.1f %12.1f %12.1f %12.1f\n", (unsigned)n, full, quiet, rt, rt_quiet);
        free(x);
    }
}

/* Saturating and extreme inputs, every size.  Bins the DFT gives as exactly
 * zero must be exactly zero. */
static void test_q15_saturating(void)
{
    printf("\nq15 saturating inputs, worst SNR in dB over n = 2..1024 (bound %.0f)\n", Q15_SNR_SATURATING);
    static const char *names[] = {"all +32767", "all -32768", "alternating +32767/-32768", "impulse -32768",
                                  "full-scale cosine, bin 1", "full-scale square wave, bin n/4"};
    const int cases = (int)(sizeof names / sizeof names[0]);
    for (int c = 0; c < cases; c++) {
        double worst_fwd = 999.0, worst_rt = 999.0;
        for (uint32_t n = 2; n <= 1024; n *= 2) {
            int16_t *x = (int16_t *)xmalloc(n * sizeof(int16_t));
            double *xd = (double *)xmalloc(n * sizeof(double));
            double *ref = (double *)xmalloc(n * sizeof(double));
            double *got = (double *)xmalloc(n * sizeof(double));
            for (uint32_t t = 0; t < n; t++) {
                switch (c) {
                case 0: x[t] = 32767; break;
                case 1: x[t] = -32768; break;
                case 2: x[t] = (t & 1u) ? (int16_t)-32768 : (int16_t)32767; break;
                case 3: x[t] = t == 0 ? (int16_t)-32768 : (int16_t)0; break;
                case 4: x[t] = (int16_t)lround(32767.0 * dft_cos(t, n)); break;
                default: x[t] = (t % 4u) < 2u ? (int16_t)32767 : (int16_t)-32768; break;
                }
                xd[t] = (double)x[t];
            }
            dft_packed(xd, ref, n);
            for (int ip = 0; ip <= 1; ip++) {
                q15_result_t r = run_q15(x, n, ip, got);
                CHECK(r.fwd_snr >= Q15_SNR_SATURATING, "rfft_q15 %s n=%u: SNR %.1f dB", names[c], (unsigned)n,
                      r.fwd_snr);
                CHECK(r.rt_snr >= Q15_SNR_SATURATING, "irfft_q15(rfft_q15) %s n=%u: SNR %.1f dB", names[c],
                      (unsigned)n, r.rt_snr);
                if (r.fwd_snr < worst_fwd) worst_fwd = r.fwd_snr;
                if (r.rt_snr < worst_rt) worst_rt = r.rt_snr;
                /* Exact zeros: a constant has only the DC bin (out[0]), the
                 * alternating input only DC and Nyquist (out[0], out[1]). */
                if (c <= 2)
                    for (uint32_t i = (c == 2) ? 2u : 1u; i < n; i++)
                        CHECK(got[i] == 0.0, "rfft_q15 %s n=%u: bin %u is %g, not exactly 0", names[c],
                              (unsigned)n, (unsigned)i, got[i]);
            }
            free(x);
            free(xd);
            free(ref);
            free(got);
        }
        printf("  %-34s forward %6.1f   round trip %6.1f\n", names[c], worst_fwd, worst_rt);
    }
}

/* Full-scale cosines, every bin up to n = 256 and every 7th beyond, 8
 * phases: all the energy in one bin grows coherently through every stage, a
 * harder case for block floating point than random input.  fft.h promises
 * nothing for tones; the bound here is 5 dB looser than for random input. */
#define Q15_SNR_TONES 55.0

static void test_q15_tones(void)
{
    double worst_fwd = 999.0, worst_rt = 999.0;
    uint32_t worst_n = 0, worst_b = 0;
    int worst_ph = 0;
    for (uint32_t n = 4; n <= 1024; n *= 2) {
        int16_t *x = (int16_t *)xmalloc(n * sizeof(int16_t));
        for (uint32_t b = 1; b < n / 2; b++) {
            if (n > 256 && b % 7u != 0) continue;
            for (int ph = 0; ph < 8; ph++) {
                for (uint32_t t = 0; t < n; t++)
                    x[t] = (int16_t)lround(32767.0 * cos(2.0 * TEST_PI * (double)((b * t) % n) / (double)n +
                                                         TEST_PI * ph / 16.0));
                q15_result_t r = run_q15(x, n, 0, NULL);
                CHECK(r.fwd_snr >= Q15_SNR_TONES, "rfft_q15 tone n=%u bin %u phase %d pi/16: SNR %.1f dB < %.0f",
                      (unsigned)n, (unsigned)b, ph, r.fwd_snr, Q15_SNR_TONES);
                CHECK(r.rt_snr >= Q15_SNR_TONES, "irfft_q15(rfft_q15) tone n=%u bin %u phase %d: SNR %.1f dB < %.0f",
                      (unsigned)n, (unsigned)b, ph, r.rt_snr, Q15_SNR_TONES);
                if (r.fwd_snr < worst_fwd) {
                    worst_fwd = r.fwd_snr;
                    worst_n = n;
                    worst_b = b;
                    worst_ph = ph;
                }
                if (r.rt_snr < worst_rt) worst_rt = r.rt_snr;
            }
        }
        free(x);
    }
    printf("  %-34s forward %6.1f   round trip %6.1f   (bound %.0f; worst: n=%u bin %u phase %d pi/16)\n",
           "full-scale cosines, all bins", worst_fwd, worst_rt, Q15_SNR_TONES, (unsigned)worst_n, (unsigned)worst_b,
           worst_ph);
}

/* The example of fft.h: an impulse of 1000 has a flat spectrum of 1000. */
static void test_q15_impulse(void)
{
    for (uint32_t n = 2; n <= 1024; n *= 2) {
        int16_t *x = (int16_t *)xmalloc(n * sizeof(int16_t));
        double *got = (double *)xmalloc(n * sizeof(double));
        memset(x, 0, n * sizeof(int16_t));
        x[0] = 1000;
        q15_result_t r = run_q15(x, n, 0, got);
        for (uint32_t i = 0; i < n; i++) {
            double want = (i >= 2 && (i & 1u)) ? 0.0 : 1000.0; /* every Re is 1000, every Im 0 */
            CHECK(fabs(got[i] - want) <= 1000.0 * 1e-3, "rfft_q15 impulse 1000 n=%u: bin %u = %g, want %g",
                  (unsigned)n, (unsigned)i, got[i], want);
        }
        CHECK(r.rt_snr >= Q15_SNR_ROUND_TRIP, "impulse round trip n=%u: SNR %.1f", (unsigned)n, r.rt_snr);
        free(x);
        free(got);
    }
}

int main(void)
{
    test_platform();
    test_fft_check();
    test_f32();
    test_q15_exact_small();
    test_q15_impulse();
    test_q15_random();
    test_q15_saturating();
    test_q15_tones();
    return test_summary("test_fft_c");
}

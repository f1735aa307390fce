/*
 * bench_host_c - time circnn_bc_dense_f32 in C, without Python.
 *
 *     bench_host_c [-w] REPS M N K BATCH [M N K BATCH ...]
 *
 * For each layer (M outputs, N inputs, block size K) it builds random packed
 * weights, a bias and BATCH random inputs once, then times BATCH calls of
 * circnn_bc_dense_f32 (one per input row, as a batch is run on a
 * microcontroller) REPS times.  Each timed sample repeats the batch enough
 * times to last at least 0.2 ms, so the clock's resolution does not matter.
 * Times are the CPU time of the thread (CLOCK_THREAD_CPUTIME_ID), which a
 * loaded machine's time-sharing does not inflate; -w measures wall-clock
 * time (CLOCK_MONOTONIC) instead.  It prints one line per layer:
 *
 *     M N K BATCH median_us min_us
 *
 * with the times in microseconds for the whole batch.  benchmarks/bench_host.py
 * runs it and parses these lines.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "circnn/circnn.h"

#ifdef CLOCK_THREAD_CPUTIME_ID
static clockid_t clock_id = CLOCK_THREAD_CPUTIME_ID;
#else
static clockid_t clock_id = CLOCK_MONOTONIC;
#endif

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/* xorshift32 uniform in [-1, 1): the data only has to be non-trivial. */
static float uniform(uint32_t *state)
{
    uint32_t s = *state;
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    *state = s;
    return (float)((double)s / 2147483648.0 - 1.0);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile float sink;

static int bench(uint32_t m, uint32_t n, uint32_t k, uint32_t batch, int reps)
{
    if (circnn_bc_dense_check(n, m, k) != CIRCNN_OK || batch == 0 || reps <= 0) {
        fprintf(stderr, "bench_host_c: bad layer %u %u %u batch %u\n", m, n, k, batch);
        return 1;
    }
    size_t wcount = circnn_bc_dense_weight_count(n, m, k);
    size_t sbytes = circnn_bc_dense_f32_scratch_bytes(n, m, k);
    float *weight = malloc(wcount * sizeof(float));
    float *bias = malloc((size_t)m * sizeof(float));
    float *x = malloc((size_t)batch * n * sizeof(float));
    float *y = malloc((size_t)batch * m * sizeof(float));
    double *samples = malloc((size_t)reps * sizeof(double));
    void *scratch = malloc(sbytes + 64);
    if (!weight || !bias || !x || !y || !samples || !scratch) {
        fprintf(stderr, "bench_host_c: out of memory\n");
        return 1;
    }
    uint32_t state = 0x12345678u ^ (m * 2654435761u) ^ (n * 40503u) ^ k;
    float wscale = 1.0f / (float)(n > 0 ? n : 1);
    for (size_t i = 0; i < wcount; i++) weight[i] = uniform(&state) * (float)k * wscale;
    for (uint32_t i = 0; i < m; i++) bias[i] = 0.1f * uniform(&state);
    for (size_t i = 0; i < (size_t)batch * n; i++) x[i] = uniform(&state);

    circnn_bc_dense_f32_t layer = {n, m, k, 0, weight, bias};
    /* Warm up, and find how many batches make a sample of >= 200 us. */
    uint32_t inner = 1;
    for (;;) {
        double t0 = now_us();
        for (uint32_t r = 0; r < inner; r++)
            for (uint32_t b = 0; b < batch; b++)
                circnn_bc_dense_f32(&layer, x + (size_t)b * n, y + (size_t)b * m, scratch);
        double dt = now_us() - t0;
        if (dt >= 200.0 || inner >= (1u << 20)) break;
        inner *= 2;
    }
    for (int rep = 0; rep < reps; rep++) {
        double t0 = now_us();
        for (uint32_t r = 0; r < inner; r++)
            for (uint32_t b = 0; b < batch; b++)
                circnn_bc_dense_f32(&layer, x + (size_t)b * n, y + (size_t)b * m, scratch);
        samples[rep] = (now_us() - t0) / inner;
    }
    sink = y[0];
    qsort(samples, (size_t)reps, sizeof(double), compare_double);
    double median = (reps % 2) ? samples[reps / 2]
                               : 0.5 * (samples[reps / 2 - 1] + samples[reps / 2]);
    printf("%u %u %u %u %.3f %.3f\n", m, n, k, batch, median, samples[0]);
    fflush(stdout);
    free(weight);
    free(bias);
    free(x);
    free(y);
    free(samples);
    free(scratch);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "-w") == 0) {
        clock_id = CLOCK_MONOTONIC;
        argv++;
        argc--;
    }
    if (argc < 6 || (argc - 2) % 4 != 0) {
        fprintf(stderr, "usage: %s [-w] REPS M N K BATCH [M N K BATCH ...]\n", argv[0]);
        return 2;
    }
    int reps = atoi(argv[1]);
    int status = 0;
    for (int a = 2; a + 3 < argc; a += 4) {
        uint32_t m = (uint32_t)strtoul(argv[a], NULL, 10);
        uint32_t n = (uint32_t)strtoul(argv[a + 1], NULL, 10);
        uint32_t k = (uint32_t)strtoul(argv[a + 2], NULL, 10);
        uint32_t batch = (uint32_t)strtoul(argv[a + 3], NULL, 10);
        status |= bench(m, n, k, batch, reps);
    }
    return status;
}

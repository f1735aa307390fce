/*
 * fuzz_replay.c - the structure-aware model fuzzer as a deterministic test:
 * a fixed number of mutants (fuzz_common.h) of the seed blobs, each
 * validated and, when accepted and small enough to run, run.  meson runs it
 * in the plain and the ASan + UBSan builds (.ci/test); any broken promise,
 * out-of-bounds access or undefined behaviour aborts.  It also fails when
 * too few mutants are accepted or run to mean anything.
 *
 *     fuzz_replay ITERATIONS SEED.circ...
 */
#include "fuzz_common.h"

#define ROOM (1u << 16)   /* bytes a mutant may grow to */

static uint8_t *read_seed(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    uint8_t *data = (uint8_t *)malloc(ROOM);
    if (!data) exit(2);
    *size = fread(data, 1, ROOM, f);
    fclose(f);
    return data;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fuzz_replay ITERATIONS SEED.circ...\n");
        return 2;
    }
    const unsigned long iterations = strtoul(argv[1], NULL, 10);
    const int seeds = argc - 2;
    uint8_t **seed = (uint8_t **)malloc((size_t)seeds * sizeof *seed);
    size_t *seed_size = (size_t *)malloc((size_t)seeds * sizeof *seed_size);
    uint8_t *work = (uint8_t *)malloc(ROOM);
    if (!seed || !seed_size || !work) return 2;
    for (int i = 0; i < seeds; i++) {
        seed[i] = read_seed(argv[2 + i], &seed_size[i]);
        fuzz_one(seed[i], seed_size[i]);
    }
    if (fuzz_stats.ran != (unsigned long)seeds) {
        fprintf(stderr, "fuzz_replay: a seed is not a valid model that runs\n");
        return 1;
    }
    size_t size = 0;
    for (unsigned long it = 0; it < iterations; it++) {
        if (it % 16 == 0) {   /* a walk of 16 mutations from each seed in turn */
            const int k = (int)((it / 16) % (unsigned long)seeds);
            memcpy(work, seed[k], seed_size[k]);
            size = seed_size[k];
        }
        size = fuzz_mutate(work, size, ROOM, (uint32_t)it + 1u);
        fuzz_one(work, size);
    }
    printf("fuzz_replay: %lu inputs, %lu accepted (%lu with a tensor over 65536 elements), %lu run; refused:",
           fuzz_stats.inputs, fuzz_stats.accepted, fuzz_stats.large, fuzz_stats.ran);
    for (int i = 0; i < 32; i++)
        if (fuzz_stats.refused[i]) printf(" %s %lu", circnn_status_string((circnn_status_t)i), fuzz_stats.refused[i]);
    printf("\n");
    for (int i = 0; i < seeds; i++) free(seed[i]);
    free(seed);
    free(seed_size);
    free(work);
    if (fuzz_stats.accepted < iterations / 20 || fuzz_stats.ran < iterations / 50) {
        fprintf(stderr, "fuzz_replay: too few mutants accepted or run to test anything\n");
        return 1;
    }
    return 0;
}

/*
 * cmsis_runner.c - runs an int8 network through CMSIS-NN's kernels the way
 * TensorFlow Lite Micro's CMSIS-NN kernels call them, for
 * benchmarks/bench_peers.py.  CMSIS-NN itself is not part of circnn: the
 * benchmark compiles this file with CMSIS-NN's sources from --cmsis-nn.
 *
 * The network comes from a generated header, peers_model.h
 * (benchmarks/peers/int8_model.py through bench_peers.py): int8 weights,
 * int32 bias, per-channel multiplier and shift, and one peers_layer_t per
 * layer.  Activations live in one arena of PEERS_ARENA_BYTES: a layer
 * reads its input at one end and writes its output at the other, so the
 * arena is the largest input + output of any layer (what TFLM's memory
 * planner gives a chain); the kernels' scratch buffer (ctx) is
 * PEERS_SCRATCH_BYTES, set per target by the benchmark from CMSIS-NN's
 * own *_get_buffer_size functions and checked here before the first run.
 * Only the kernels the network uses are called (PEERS_USE_CONV & co. from
 * the header), as with TFLM's MicroMutableOpResolver: the others are not
 * linked.
 *
 * Two builds:
 *   host (plain gcc, CMSIS-NN's portable C paths):
 *       cmsis_runner sizes            scratch bytes per layer: portable, DSP
 *       cmsis_runner IN OUT           IN: N x PEERS_INPUT_COUNT int8,
 *                                     OUT: N x PEERS_OUTPUT_COUNT int8
 *   firmware (-DPEERS_FIRMWARE, circnn's startup, boards and markers;
 *   peers_vectors.h holds test inputs and the host build's outputs): runs
 *   every vector between the inference markers and compares it bit for
 *   bit, then vector 0 again with a marker pair around each layer call,
 *   and prints "peers-runner: N passed, M failed".  Exit status 0 when all
 *   passed, 1 on a mismatch, 2 when a kernel or the scratch size fails.
 */
#include <stdint.h>
#include <string.h>

#include "arm_nnfunctions.h"

enum { PEERS_CONV, PEERS_DWCONV, PEERS_FC, PEERS_MAXPOOL, PEERS_AVGPOOL, PEERS_FLATTEN };

typedef struct {
    int32_t kind;
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t kernel_h, kernel_w, stride, pad_h, pad_w;
    int32_t input_offset, output_offset, act_min, act_max;
    const int8_t *weight;      /* conv: [c_out][kh][kw][c_in]; dwconv: [kh][kw][c]; fc: [out][in] */
    const int32_t *bias;
    const int32_t *multiplier; /* per output channel (fc: one) */
    const int32_t *shift;
} peers_layer_t;

#include "peers_model.h"

#ifndef PEERS_SCRATCH_BYTES
#define PEERS_SCRATCH_BYTES 0
#endif

static int8_t arena[PEERS_ARENA_BYTES];
static int32_t scratch[(PEERS_SCRATCH_BYTES + 3) / 4 + 1];

static cmsis_nn_dims dims(int32_t n, int32_t h, int32_t w, int32_t c)
{
    cmsis_nn_dims d;
    d.n = n;
    d.h = h;
    d.w = w;
    d.c = c;
    return d;
}

#if PEERS_USE_CONV
static cmsis_nn_conv_params conv_params(const peers_layer_t *l)
{
    cmsis_nn_conv_params p;
    p.input_offset = l->input_offset;
    p.output_offset = l->output_offset;
    p.stride.h = p.stride.w = l->stride;
    p.padding.h = l->pad_h;
    p.padding.w = l->pad_w;
    p.dilation.h = p.dilation.w = 1;
    p.activation.min = l->act_min;
    p.activation.max = l->act_max;
    return p;
}
#endif

#if PEERS_USE_DWCONV
static cmsis_nn_dw_conv_params dw_params(const peers_layer_t *l)
{
    cmsis_nn_dw_conv_params p;
    p.input_offset = l->input_offset;
    p.output_offset = l->output_offset;
    p.ch_mult = 1;
    p.stride.h = p.stride.w = l->stride;
    p.padding.h = l->pad_h;
    p.padding.w = l->pad_w;
    p.dilation.h = p.dilation.w = 1;
    p.activation.min = l->act_min;
    p.activation.max = l->act_max;
    return p;
}
#endif

#if PEERS_USE_MAXPOOL || PEERS_USE_AVGPOOL
static cmsis_nn_pool_params pool_params(const peers_layer_t *l)
{
    cmsis_nn_pool_params p;
    p.stride.h = p.stride.w = l->stride;
    p.padding.h = l->pad_h;
    p.padding.w = l->pad_w;
    p.activation.min = l->act_min;
    p.activation.max = l->act_max;
    return p;
}
#endif

/* The filter dimensions TFLM passes: conv [c_out, kh, kw, c_in], dwconv
 * [1, kh, kw, c_out], fc [accumulation depth, -, -, output depth]. */
static cmsis_nn_dims filter_dims(const peers_layer_t *l)
{
    switch (l->kind) {
    case PEERS_CONV: return dims(l->out_c, l->kernel_h, l->kernel_w, l->in_c);
    case PEERS_DWCONV: return dims(1, l->kernel_h, l->kernel_w, l->out_c);
    case PEERS_FC: return dims(l->in_h * l->in_w * l->in_c, 1, 1, l->out_c);
    default: return dims(1, l->kernel_h, l->kernel_w, 1);
    }
}

/* Scratch bytes of one layer: the target's own figure (dsp = 0), or the
 * DSP variant's (dsp = 1, for the host's "sizes" report). */
static int32_t layer_scratch(const peers_layer_t *l, int dsp)
{
    cmsis_nn_dims in = dims(1, l->in_h, l->in_w, l->in_c), f = filter_dims(l);
    cmsis_nn_dims out = dims(1, l->out_h, l->out_w, l->out_c);
    switch (l->kind) {
#if PEERS_USE_CONV
    case PEERS_CONV: {
        cmsis_nn_conv_params p = conv_params(l);
        return dsp ? arm_convolve_wrapper_s8_get_buffer_size_dsp(&p, &in, &f, &out)
                   : arm_convolve_wrapper_s8_get_buffer_size(&p, &in, &f, &out);
    }
#endif
#if PEERS_USE_DWCONV
    case PEERS_DWCONV: {
        cmsis_nn_dw_conv_params p = dw_params(l);
        return dsp ? arm_depthwise_conv_wrapper_s8_get_buffer_size_dsp(&p, &in, &f, &out)
                   : arm_depthwise_conv_wrapper_s8_get_buffer_size(&p, &in, &f, &out);
    }
#endif
#if PEERS_USE_FC
    case PEERS_FC:
        return dsp ? arm_fully_connected_s8_get_buffer_size_dsp(&f) : arm_fully_connected_s8_get_buffer_size(&f);
#endif
#if PEERS_USE_AVGPOOL
    case PEERS_AVGPOOL:
        return dsp ? arm_avgpool_s8_get_buffer_size_dsp(l->out_w, l->in_c)
                   : arm_avgpool_s8_get_buffer_size(l->out_w, l->in_c);
#endif
    default:
        return 0;
    }
}

/* One layer, as TFLM's CMSIS-NN kernel calls it. */
static arm_cmsis_nn_status run_layer(const peers_layer_t *l, const int8_t *x, int8_t *y)
{
    cmsis_nn_context ctx;
    cmsis_nn_dims in = dims(1, l->in_h, l->in_w, l->in_c), f = filter_dims(l);
    cmsis_nn_dims out = dims(1, l->out_h, l->out_w, l->out_c), b = dims(1, 1, 1, l->out_c);
    ctx.buf = scratch;
    ctx.size = PEERS_SCRATCH_BYTES;
    switch (l->kind) {
#if PEERS_USE_CONV
    case PEERS_CONV: {
        cmsis_nn_conv_params p = conv_params(l);
        cmsis_nn_per_channel_quant_params q;
        q.multiplier = (int32_t *)(uintptr_t)l->multiplier;   /* CMSIS-NN only reads them */
        q.shift = (int32_t *)(uintptr_t)l->shift;
        return arm_convolve_wrapper_s8(&ctx, &p, &q, &in, x, &f, l->weight, &b, l->bias, &out, y);
    }
#endif
#if PEERS_USE_DWCONV
    case PEERS_DWCONV: {
        cmsis_nn_dw_conv_params p = dw_params(l);
        cmsis_nn_per_channel_quant_params q;
        q.multiplier = (int32_t *)(uintptr_t)l->multiplier;
        q.shift = (int32_t *)(uintptr_t)l->shift;
        return arm_depthwise_conv_wrapper_s8(&ctx, &p, &q, &in, x, &f, l->weight, &b, l->bias, &out, y);
    }
#endif
#if PEERS_USE_FC
    case PEERS_FC: {
        cmsis_nn_fc_params p;
        cmsis_nn_per_tensor_quant_params q;
        p.input_offset = l->input_offset;
        p.filter_offset = 0;
        p.output_offset = l->output_offset;
        p.activation.min = l->act_min;
        p.activation.max = l->act_max;
        q.multiplier = l->multiplier[0];
        q.shift = l->shift[0];
        in = dims(1, 1, 1, f.n);
        out = dims(1, 1, 1, l->out_c);
        return arm_fully_connected_s8(&ctx, &p, &q, &in, x, &f, l->weight, &b, l->bias, &out, y);
    }
#endif
#if PEERS_USE_MAXPOOL
    case PEERS_MAXPOOL: {
        cmsis_nn_pool_params p = pool_params(l);
        return arm_max_pool_s8(&ctx, &p, &in, x, &f, &out, y);
    }
#endif
#if PEERS_USE_AVGPOOL
    case PEERS_AVGPOOL: {
        cmsis_nn_pool_params p = pool_params(l);
        return arm_avgpool_s8(&ctx, &p, &in, x, &f, &out, y);
    }
#endif
    default:
        return ARM_CMSIS_NN_SUCCESS;   /* flatten: NHWC is already the fully connected layer's order */
    }
}

static int32_t scratch_needed(void)
{
    int32_t most = 0;
    for (int i = 0; i < PEERS_LAYER_COUNT; i++) {
        int32_t s = layer_scratch(&peers_layers[i], 0);
        if (s > most) most = s;
    }
    return most;
}

#ifdef PEERS_FIRMWARE
#include "markers.h"
#define MARK_BEGIN(on) do { if (on) circnn_mark_layer_begin(); } while (0)
#define MARK_END(on) do { if (on) circnn_mark_layer_end(); } while (0)
#else
#define MARK_BEGIN(on) ((void)(on))
#define MARK_END(on) ((void)(on))
#endif

/* The network on the input at the start of the arena; returns where the
 * output is, or NULL when a kernel refused.  Tensors alternate between the
 * two ends of the arena (flatten stays in place). */
static const int8_t *run_model(int marked)
{
    int8_t *x = arena;
    for (int i = 0; i < PEERS_LAYER_COUNT; i++) {
        const peers_layer_t *l = &peers_layers[i];
        int32_t out_bytes = l->out_h * l->out_w * l->out_c;
        int8_t *y;
        if (l->kind == PEERS_FLATTEN) continue;
        y = x == arena ? arena + PEERS_ARENA_BYTES - out_bytes : arena;
        MARK_BEGIN(marked);
        arm_cmsis_nn_status s = run_layer(l, x, y);
        MARK_END(marked);
        if (s != ARM_CMSIS_NN_SUCCESS) return NULL;
        x = y;
    }
    return x;
}

#ifdef PEERS_FIRMWARE

#include "peers_vectors.h"
#include "semihost.h"

static char *put_text(char *p, const char *s)
{
    while (*s) *p++ = *s++;
    return p;
}

static char *put_int(char *p, int32_t v)
{
    char digits[12];
    int n = 0;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    if (v < 0) *p++ = '-';
    do {
        digits[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u);
    while (n) *p++ = digits[--n];
    return p;
}

static void say(char *line, char *p)
{
    *p++ = '\n';
    *p = '\0';
    semihost_write0(line);
}

static int check(const int8_t *y, uint32_t v)
{
    return y != NULL && memcmp(y, vectors_expected[v], PEERS_OUTPUT_COUNT) == 0;
}

int main(void)
{
    char line[128], *p;
    int32_t need = scratch_needed();
    uint32_t passed = 0, failed = 0;
    if (need > PEERS_SCRATCH_BYTES) {
        p = put_text(line, "peers-runner: scratch buffer too small, the kernels need ");
        p = put_int(p, need);
        say(line, p);
        return 2;
    }
    circnn_mark_empty_begin();
    circnn_mark_empty_end();
    for (uint32_t v = 0; v < VECTORS_COUNT; v++) {
        const int8_t *y;
        memcpy(arena, vectors_input[v], PEERS_INPUT_COUNT);
        circnn_mark_inference_begin();
        y = run_model(0);
        circnn_mark_inference_end();
        if (check(y, v)) {
            passed++;
        } else {
            failed++;
            p = put_text(line, "peers-runner: MISMATCH vector ");
            p = put_int(p, (int32_t)v);
            say(line, p);
        }
    }
    memcpy(arena, vectors_input[0], PEERS_INPUT_COUNT);
    if (check(run_model(1), 0))
        passed++;
    else
        failed++;
    p = put_text(line, "peers-runner: ");
    p = put_int(p, (int32_t)passed);
    p = put_text(p, " passed, ");
    p = put_int(p, (int32_t)failed);
    p = put_text(p, " failed");
    say(line, p);
    return failed ? 1 : 0;
}

#else /* host */

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "sizes") == 0) {
        for (int i = 0; i < PEERS_LAYER_COUNT; i++)
            printf("%d %d %d\n", i, (int)layer_scratch(&peers_layers[i], 0), (int)layer_scratch(&peers_layers[i], 1));
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s sizes | %s INPUT OUTPUT\n", argv[0], argv[0]);
        return 2;
    }
    if (scratch_needed() > PEERS_SCRATCH_BYTES) {
        fprintf(stderr, "scratch buffer too small: the kernels need %d bytes\n", (int)scratch_needed());
        return 2;
    }
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    if (!in || !out) {
        perror("cmsis_runner");
        return 2;
    }
    while (fread(arena, 1, PEERS_INPUT_COUNT, in) == PEERS_INPUT_COUNT) {
        const int8_t *y = run_model(0);
        if (y == NULL) {
            fprintf(stderr, "a CMSIS-NN kernel refused its arguments\n");
            return 2;
        }
        fwrite(y, 1, PEERS_OUTPUT_COUNT, out);
    }
    return fclose(out) == 0 && fclose(in) == 0 ? 0 : 2;
}

#endif

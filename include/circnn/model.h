/*
 * circnn/model.h - a whole network as one blob: format, validation, running.
 *
 * A model is one blob of bytes: the .circ file Python writes, the const
 * array of the firmware header, and what the host verification runs are the
 * same bytes.  circnn_model_init validates everything once and returns a
 * status; circnn_model_run then runs the model and cannot fail.  The caller
 * owns all memory (blob, input, output, arena); nothing allocates and there
 * is no mutable static state.
 *
 * f32 bit-identity: an f32 model gives the same bits on the host (the
 * Python Engine) and on the firmware, because every build compiles the
 * runtime with -ffp-contract=off (src/cflags.txt, which meson.build and
 * circnn.firmware both read; the cross files in targets/ pass it too):
 * a * b + c is never contracted into a fused multiply-add, which rounds
 * once instead of twice.  GCC in ISO mode (-std=c99) does not contract,
 * but GCC in GNU mode and clang do wherever the instruction exists
 * (aarch64, Cortex-M4F/M7/M33, x86-64 with FMA): a build of your own must
 * pass -ffp-contract=off to keep the promise.  Softmax calls expf, whose
 * last bit is the C library's.
 *
 * ===========================================================================
 * Blob format, versions 1 to 8 (independent of the release version).
 * Little-endian throughout; offsets are from the blob's start.  Version 2
 * added the layer type DEPTHWISE_CONV2D and nothing else; version 1 blobs
 * hold the types DENSE .. ARGMAX.  Version 3 added the layer flag "8-bit
 * weights" (bit 2) for BC_DENSE and BC_CONV2D and nothing else; version 4
 * allows it on DENSE, CONV2D and DEPTHWISE_CONV2D too, and nothing else.
 * Version 5 changed the arena layout (see Arena: each buffer sized by the
 * tensors it holds), and so the header's arena figure, and nothing else.
 * Version 6 added the layer flag "OHWI weights" (bit 3) for q15 CONV2D and
 * nothing else.  Version 7 added the layer flag "2x2 max pool" (bit 4) for
 * CONV2D, BC_CONV2D and DEPTHWISE_CONV2D, and changed the scratch of a
 * DENSE layer with 8-bit weights and more than 4 outputs (see 8-bit
 * weights), and so the header's arena figure, and nothing else.  Version 8
 * changed the scratch of a BC_CONV2D layer after the first whose input
 * channels are a multiple of k (its spectra overwrite its input; see
 * Arena), and so the header's arena figure, and nothing else.  This runtime reads
 * versions CIRCNN_FORMAT_VERSION (the oldest, 1: what the firmware headers
 * of version-1 models check) to CIRCNN_FORMAT_VERSION_NEWEST (8); the
 * exporter writes the oldest version that holds the model, so a model
 * without a depthwise layer, 8-bit weights, a q15 conv2d of more than one
 * input channel, a fused pool, an 8-bit dense layer of more than 4
 * outputs or a BC_CONV2D after the first layer of in_c a multiple of k,
 * whose arena is the same under both
 * layouts, is the same bytes as before and older runtimes read it (8-bit
 * weights in circulant layers only: version 3).  The exporter stores every
 * q15 CONV2D of more than one input channel OHWI (version 6), the layout
 * its fast kernel reads, and fuses a 2x2 max pool of stride 2 ("valid")
 * into the convolution before it (version 7) unless asked
 * not to.
 *
 * Header, 64 bytes:
 *   0  u8[4]  magic "CIRC"
 *   4  u16    format version
 *   6  u16    header bytes (64)
 *   8  u32    total bytes of the blob
 *  12  u32    CRC-32 (IEEE 802.3, as zlib.crc32) of bytes [16, total)
 *  16  u8     numeric type: 1 = f32, 2 = q15
 *  17  u8     reserved, 0
 *  18  u16    layer count, 1 .. CIRCNN_MAX_LAYERS
 *  20  u32    arena bytes the model needs (the exporter's figure; init
 *             recomputes it by the layout of the blob's version, see
 *             Arena, and refuses a blob that disagrees)
 *  24  u16[3] input shape (height, width, channels)
 *  30  u16[3] output shape
 *  36  i8     input frac:  q15 input value  = x * 2^-frac (0 for f32)
 *  37  i8     output frac: q15 output value = y * 2^-frac (0 for f32)
 *  38  u8[26] reserved, 0
 * Layer table at byte 64: one 64-byte entry per layer, in order:
 *   0  u8     type (CIRCNN_LAYER_*)
 *   1  u8     flags: bit 0 fused ReLU, bit 1 "same" padding (window
 *             layers; clear: "valid"), bit 2 8-bit weights (q15 models,
 *             layers with weights: BC_DENSE and BC_CONV2D from version 3,
 *             DENSE, CONV2D and DEPTHWISE_CONV2D from version 4; see
 *             below), bit 3 OHWI weights (q15 CONV2D from version 6: the
 *             weight section is (out_c, kh, kw, in_c)), bit 4 2x2 max
 *             pool (CONV2D, BC_CONV2D and DEPTHWISE_CONV2D from version
 *             7; see below); other bits 0
 *   2  u16    block size k (circulant layers; 0 otherwise)
 *   4  u16[3] input shape (h, w, c)
 *  10  u16[3] output shape (h, w, c)
 *  16  u8     kernel height, 17 u8 kernel width, 18 u8 stride (window
 *             layers; 0 otherwise)
 *  19  i8     output frac of the layer (q15; 0 for f32): informative, for
 *             tools that dequantize; the runtime does not use it
 *  20  i32    weight exponent (q15; 0 for f32)
 *  24  i32    scale exponent (q15 circulant layers with a scale; else 0)
 *  28  u32    weight offset, 32 u32 weight bytes
 *  36  u32    bias offset,   40 u32 bias bytes    (0, 0: no bias)
 *  44  u32    scale offset,  48 u32 scale bytes   (0, 0: no scale)
 *  52  u8[12] reserved, 0
 * Sections: each starts at a multiple of 16 bytes, inside the blob, after
 * the layer table.  Elements: f32 models store floats; q15 models store
 * int16 weights and scales and int32 biases (16 fraction bits).
 *
 * 8-bit weights (flag bit 2): the weight section holds one int8 w8 per
 * weight (weight bytes = count), in the order of the int16 weights, and
 * w8 means the q15 weight w16 = w8 * 256 with the layer's weight exponent:
 * the layer computes exactly what it computes with those int16 weights.
 * The runtime widens them into the first 2 * count bytes (rounded up to
 * 16) of the layer's scratch before the layer runs, the kernel's scratch
 * following (see Arena); a DENSE layer widens 4 of its rows at a time
 * (4 * n weights, then the next 4 rows), and from version 7 its scratch is
 * those 2 * 4 * n bytes (rounded up to 16) when it has more than 4 outputs.  A runtime built without CIRCNN_WITH_WEIGHT8
 * (circnn/config.h) refuses such layers with CIRCNN_ERR_DISABLED.
 *
 * 2x2 max pool (flag bit 4): the layer is the convolution (ReLU included)
 * followed by a max pool of 2x2 windows, stride 2, no padding: its output
 * shape is the pool's, (floor(oh / 2), floor(ow / 2), c) for the
 * convolution's (oh, ow, c), at least 1 x 1; kernel, stride and padding
 * are the convolution's.  The runtime computes the convolution two output
 * rows at a time into a band at the start of the layer's scratch (after the
 * int16 copy of 8-bit weights): 2 * (2 * floor(ow / 2)) * c elements,
 * rounded up to 16 bytes; then pools the band into one output row.  The
 * values are those of the two layers; the convolution's output is never
 * stored whole.  BC_CONV2D transforms its whole input once, as without the
 * pool, and bands its output the same way (circnn_bc_conv2d_*_pool2).
 *
 * Layers (shapes are (h, w, c); a feature vector is (1, 1, n)):
 *   DENSE       (1,1,n) -> (1,1,m); weight m x n row-major      (layers.h)
 *   BC_DENSE    (1,1,n) -> (1,1,m); weight p*q*k packed spectra (bc_dense.h)
 *   CONV2D      window; weight (kh, kw, in_c, out_c), or with flag bit 3
 *               (out_c, kh, kw, in_c)                            (layers.h)
 *   DEPTHWISE_CONV2D  window, out_c == in_c; weight (kh, kw, c)  (layers.h)
 *   BC_CONV2D   window; weight (kh, kw, p, q, k) packed spectra  (bc_conv2d.h)
 *   RELU        any shape, unchanged
 *   MAXPOOL2D, AVGPOOL2D   window, channels unchanged
 *   FLATTEN     (h,w,c) -> (1,1,h*w*c), the same bytes
 *   SOFTMAX     (1,1,n) -> (1,1,n), f32 models only
 *   ARGMAX      (1,1,n) -> (1,1,1): the index, as a float (f32) or int16 (q15)
 * The output shape of a window layer is what circnn_window_geometry gives
 * for its input, kernel, stride and padding; bias and scale hold one value
 * per output channel; BC_DENSE has no scale (BC_CONV2D on a 1x1 image does).
 *
 * Arena: layer l of L writes its output to buffer A when l is even, to
 * buffer B when l is odd, and the last layer (l = L - 1) to the caller's
 * output; layer l reads the output of layer l - 1 (the caller's input for
 * l = 0).  From version 5 on, each buffer is as large as the largest
 * tensor it holds, rounded up to 16 bytes:
 *   A = align16(max bytes of the outputs of the layers l < L - 1, l even)
 *   B = align16(max bytes of the outputs of the layers l < L - 1, l odd)
 *   (no B with one intermediate tensor, L = 2; neither with one layer),
 * at arena offsets 0 and A, followed at A + B by the largest scratch any
 * layer needs, rounded up to 16 bytes (a layer with 8-bit weights: 2 *
 * weight count rounded up to 16, a DENSE layer's 2 * 4 * n from version 7
 * (see 8-bit weights), plus its kernel's; from version 8 a BC_CONV2D layer
 * l > 0 whose in_c is a multiple of k writes the spectra of its input over
 * that input, buffer A or B, which no later layer reads, and its kernel's
 * scratch is circnn_bc_conv2d_*_scratch_bytes less the spectra's part,
 * up8(es * in_h * in_w * in_c); a layer with a fused
 * pool: its band, plus its kernel's); arena bytes =
 * A + B + align16(scratch).  Versions 1 to 4 (what circnn wrote before)
 * size both buffers by the largest intermediate tensor (A = B = align16(max
 * over all l < L - 1), B still absent for L <= 2); the runtime keeps that
 * layout and figure for them, so an old firmware header's arena macro
 * still fits its blob exactly.
 *
 * Limits: what circnn_model_init enforces, and why no size, count, offset
 * or index computed from a blob it accepts can wrap.
 *  - Tensors: every layer's input and output shape (and so the model's)
 *    holds at most CIRCNN_MAX_ELEMENTS (2^24) elements.  The product of the
 *    three 16-bit sizes is formed in 64 bits (< 2^48) and compared with the
 *    limit before any other use, so element counts, byte counts (<= 2^26),
 *    buffers A and B (<= 2^27 bytes together) and every element index a
 *    layer forms ((y * w + x) * c + channel < 2^24) fit 32 bits.
 *  - Window layers: input height, width and channels at most
 *    CIRCNN_MAX_DIM (4096, circnn/window.h); kernel and stride at most 255
 *    (8-bit fields): row and column arithmetic (out * stride + tap) stays
 *    below 2^21.
 *  - Sections: the expected weight count (kernel taps x channels x
 *    channels: below 2^48) and its bytes are formed in 64 bits; a section
 *    must lie inside the blob (offset <= total, bytes <= total - offset,
 *    compared without addition), whose size is a 32-bit field, so every
 *    weight index a layer forms is below 2^31.  Bias and scale sections
 *    hold one value per output channel (< 2^16).
 *  - Block sizes: powers of two in [CIRCNN_FFT_MIN_SIZE, CIRCNN_FFT_MAX_SIZE]
 *    (2 .. 1024); block-circulant dense layers take at most
 *    CIRCNN_MAX_FEATURES features.  Scratch sizes are formed in 64 bits
 *    (the scratch size functions return SIZE_MAX for a shape their check
 *    refuses, never a wrapped figure) and must not exceed 0xFFFF0000.
 *  - Arena: buffers plus scratch formed in 64 bits; at most 2^32 - 1 bytes
 *    (the header's 32-bit field), else CIRCNN_ERR_SHAPE.
 *  - Layers: at most CIRCNN_MAX_LAYERS (the layer table ends below 4.2 KB);
 *    |weight exponent| and |scale exponent| at most 128; a q15 ARGMAX
 *    takes at most 32768 values (the index fits an int16).
 *
 * Compatibility: the format version changes with any change to the layout
 * or the meaning of a field, or a new layer type.  The runtime then either
 * still reads files of the old version (CIRCNN_FORMAT_VERSION stays the
 * oldest it reads) or refuses them with CIRCNN_ERR_VERSION (and raises
 * CIRCNN_FORMAT_VERSION, so their firmware headers stop compiling); it
 * never reads them differently.  tests/compat holds q15 and f32 models of
 * every layer kind of each version, written by the circnn of that version,
 * with their outputs; the tests check that they still load and give
 * exactly those outputs (tests/compat/make_compat.py: add the files of a
 * new version beside the old ones, never regenerate the old ones).
 * ===========================================================================
 */
#ifndef CIRCNN_MODEL_H
#define CIRCNN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "circnn/config.h"
#include "circnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The oldest and the newest format version circnn_model_init reads. */
#define CIRCNN_FORMAT_VERSION 1
#define CIRCNN_FORMAT_VERSION_NEWEST 8
#define CIRCNN_HEADER_BYTES 64
#define CIRCNN_LAYER_ENTRY_BYTES 64
#define CIRCNN_MAX_LAYERS 64
#define CIRCNN_SECTION_ALIGN 16
#define CIRCNN_ARENA_ALIGN 8     /* the arena's start must be 8-byte aligned */
#define CIRCNN_BLOB_ALIGN 4      /* and the blob's 4-byte aligned (16 is best) */
/* Largest tensor, 2^24 elements (see Limits above). */
#define CIRCNN_MAX_ELEMENTS 16777216

#define CIRCNN_DTYPE_F32 1
#define CIRCNN_DTYPE_Q15 2

#define CIRCNN_LAYER_DENSE 1
#define CIRCNN_LAYER_BC_DENSE 2
#define CIRCNN_LAYER_CONV2D 3
#define CIRCNN_LAYER_BC_CONV2D 4
#define CIRCNN_LAYER_RELU 5
#define CIRCNN_LAYER_MAXPOOL2D 6
#define CIRCNN_LAYER_AVGPOOL2D 7
#define CIRCNN_LAYER_FLATTEN 8
#define CIRCNN_LAYER_SOFTMAX 9
#define CIRCNN_LAYER_ARGMAX 10
/* From format version 2 on: */
#define CIRCNN_LAYER_DEPTHWISE_CONV2D 11

/* Filled by circnn_model_init; read it, do not write it. */
typedef struct circnn_model {
    const uint8_t *blob;
    uint32_t total_bytes;
    uint32_t dtype;           /* CIRCNN_DTYPE_* */
    uint32_t layer_count;
    uint32_t arena_bytes;     /* what the model needs; set even when the arena is too small */
    uint32_t input_count;     /* elements of the input (h * w * c) */
    uint32_t output_count;
    uint16_t input_shape[3];
    uint16_t output_shape[3];
    int32_t input_frac;       /* q15 scales, see the header layout */
    int32_t output_frac;
    /* Arena layout (see Arena above): buffer A (outputs of even layers) at
     * offset 0, buffer B (outputs of odd layers) at b_offset, the scratch
     * at scratch_offset; arena_bytes - scratch_offset is the scratch. */
    uint32_t b_offset;
    uint32_t scratch_offset;
} circnn_model_t;

/*
 * Validate blob (blob_bytes long) for running with an arena of arena_bytes
 * at arena: magic, version, header, CRC, every layer's type, flags, shapes
 * and their chaining, sections inside the blob and of the right length,
 * alignment, the arena figure and the arena's size and alignment.  Returns
 * CIRCNN_OK or the first problem found; model->arena_bytes tells the size
 * needed whenever the blob itself is valid (CIRCNN_ERR_ARENA included),
 * and when only the header's arena figure disagrees with it
 * (CIRCNN_ERR_HEADER; tools use it to correct the figure).  A valid blob
 * that needs a numeric type or layer kind this build compiled out
 * (circnn/config.h) is refused with CIRCNN_ERR_DISABLED.
 * arena may be NULL with arena_bytes 0 to ask the size.
 */
circnn_status_t circnn_model_init(circnn_model_t *model, const void *blob, size_t blob_bytes,
                                  const void *arena, size_t arena_bytes);

/*
 * Run a model that circnn_model_init accepted (with this arena size or
 * more): input holds input_count floats (f32) or int16 (q15), output
 * receives output_count of them.  Cannot fail.  input and output must not
 * overlap the arena or each other.
 */
void circnn_model_run(const circnn_model_t *model, const void *input, void *output, void *arena);

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32) of bytes[0 .. count). */
uint32_t circnn_crc32(const void *bytes, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* CIRCNN_MODEL_H */

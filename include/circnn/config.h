/*
 * circnn/config.h - every build option of the circnn runtime, in one place.
 *
 * Each option is a macro set on the compiler's command line (-DNAME=VALUE)
 * for the whole runtime (all of src/); the defaults below apply when it is
 * not set.  No option changes a prototype, a structure or the blob format:
 * they only decide what code is compiled in.
 *
 * What the model runtime compiles in (circnn_model_init / circnn_model_run),
 * each 1 (the default: in) or 0 (out):
 *
 *   CIRCNN_WITH_F32, CIRCNN_WITH_Q15        the numeric types
 *   CIRCNN_WITH_DENSE                       the layer kinds, named as the
 *   CIRCNN_WITH_BC_DENSE                    CIRCNN_LAYER_* types of
 *   CIRCNN_WITH_CONV2D                      circnn/model.h
 *   CIRCNN_WITH_BC_CONV2D
 *   CIRCNN_WITH_DEPTHWISE_CONV2D
 *   CIRCNN_WITH_RELU
 *   CIRCNN_WITH_MAXPOOL2D
 *   CIRCNN_WITH_AVGPOOL2D
 *   CIRCNN_WITH_FLATTEN
 *   CIRCNN_WITH_SOFTMAX                     (f32 only)
 *   CIRCNN_WITH_ARGMAX
 *   CIRCNN_WITH_WEIGHT8                     8-bit weights of q15 layers (flag
 *                                           bit 2: formats 3 and 4)
 *   CIRCNN_WITH_CONV2D_OHWI                 the fast kernels of q15 conv2d with
 *                                           OHWI weights and several input
 *                                           channels (flag bit 3: format 6);
 *                                           without them such layers take the
 *                                           reference kernel, same bits
 *   CIRCNN_WITH_POOL2                       a 2x2 max pool fused into a
 *                                           convolution (flag bit 4: format
 *                                           7); CIRCNN_WITH_MAXPOOL2D is the
 *                                           pool layer of its own
 *
 * The runtime's layer dispatch references the kernel of every kind and type
 * compiled in, so a linker that drops unreferenced functions
 * (-ffunction-sections -fdata-sections -Wl,--gc-sections) keeps exactly
 * those: a q15 model without f32 code, a model without depthwise layers
 * without the depthwise kernels, a model without circulant layers without
 * the FFTs.  circnn_model_init refuses a blob that needs a type or kind
 * compiled out with CIRCNN_ERR_DISABLED (never a crash); a firmware header
 * written by the exporter lists what its model needs (NAME_NEEDS_F32,
 * NAME_NEEDS_CONV2D, ...) and stops the build (#error) when this
 * configuration lacks one of them; `circnn.firmware.build` compiles the
 * runtime with exactly its model's set.  The kernels themselves (for
 * example circnn_bc_dense_q15) stay callable in every configuration.  The
 * host library (the Python package's engine, the C tests) keeps everything.
 *
 * The transform sizes compiled in, which are the block sizes k circulant
 * layers may use:
 *
 *   CIRCNN_FFT_SIZES       the OR of the sizes (powers of two, so each is its
 *                          own bit); default 2046, every size from 2 to 1024.
 *                          circnn_fft_check(n) returns CIRCNN_ERR_DISABLED
 *                          for a size left out, and so does every kernel's
 *                          check and circnn_model_init for a layer of that
 *                          k.  With 4 or 8 or both alone (8 is the demo's
 *                          k), the q15 transforms keep only their
 *                          straight-line n = 4 and n = 8 code: the general
 *                          loops, their tables and the DSP variant are not
 *                          linked.  The q15 twiddle table
 *                          covers the largest size alone (C/8 + 1 words for
 *                          C points: 36 bytes for 64, 516 for 1024), and the
 *                          DSP code of the block sizes left out is not
 *                          compiled.  A firmware header lists its model's
 *                          sizes (NAME_BLOCK_SIZES).
 *
 * Kernel variants (each is tested against the portable reference, bit for
 * bit; undefined by default):
 *
 *   CIRCNN_NO_DSP          the portable q15 kernels on a core with the DSP
 *                          extension too (src/dsp_q15.h)
 *   CIRCNN_DSP_EMULATE     the DSP-extension q15 kernels on any CPU, through
 *                          exact C emulations of the instructions (tests)
 *   CIRCNN_NO_VECTOR_EXT   the f32 hot loops in plain C, without GCC's vector
 *                          extensions (src/fft_common.h)
 *   CIRCNN_NO_CLONES       no AVX2 clones of the f32 hot loops chosen at run
 *                          time on x86-64 (src/fft_common.h)
 */
#ifndef CIRCNN_CONFIG_H
#define CIRCNN_CONFIG_H

#ifndef CIRCNN_WITH_F32
#define CIRCNN_WITH_F32 1
#endif
#ifndef CIRCNN_WITH_Q15
#define CIRCNN_WITH_Q15 1
#endif
#ifndef CIRCNN_WITH_DENSE
#define CIRCNN_WITH_DENSE 1
#endif
#ifndef CIRCNN_WITH_BC_DENSE
#define CIRCNN_WITH_BC_DENSE 1
#endif
#ifndef CIRCNN_WITH_CONV2D
#define CIRCNN_WITH_CONV2D 1
#endif
#ifndef CIRCNN_WITH_BC_CONV2D
#define CIRCNN_WITH_BC_CONV2D 1
#endif
#ifndef CIRCNN_WITH_DEPTHWISE_CONV2D
#define CIRCNN_WITH_DEPTHWISE_CONV2D 1
#endif
#ifndef CIRCNN_WITH_RELU
#define CIRCNN_WITH_RELU 1
#endif
#ifndef CIRCNN_WITH_MAXPOOL2D
#define CIRCNN_WITH_MAXPOOL2D 1
#endif
#ifndef CIRCNN_WITH_AVGPOOL2D
#define CIRCNN_WITH_AVGPOOL2D 1
#endif
#ifndef CIRCNN_WITH_FLATTEN
#define CIRCNN_WITH_FLATTEN 1
#endif
#ifndef CIRCNN_WITH_SOFTMAX
#define CIRCNN_WITH_SOFTMAX 1
#endif
#ifndef CIRCNN_WITH_ARGMAX
#define CIRCNN_WITH_ARGMAX 1
#endif
#ifndef CIRCNN_WITH_WEIGHT8
#define CIRCNN_WITH_WEIGHT8 1
#endif
#ifndef CIRCNN_WITH_CONV2D_OHWI
#define CIRCNN_WITH_CONV2D_OHWI 1
#endif
#ifndef CIRCNN_WITH_POOL2
#define CIRCNN_WITH_POOL2 1
#endif
#ifndef CIRCNN_FFT_SIZES
#define CIRCNN_FFT_SIZES 2046
#endif

/* Self-test: every option 0 or 1 (one line per test: no continuation
 * lines in the public headers), and at least one numeric type. */
#if ((CIRCNN_WITH_F32 | CIRCNN_WITH_Q15 | CIRCNN_WITH_DENSE | CIRCNN_WITH_BC_DENSE) & ~1) != 0
#error "circnn/config.h: every CIRCNN_WITH_* option is 0 or 1"
#endif
#if ((CIRCNN_WITH_CONV2D | CIRCNN_WITH_BC_CONV2D | CIRCNN_WITH_DEPTHWISE_CONV2D | CIRCNN_WITH_RELU) & ~1) != 0
#error "circnn/config.h: every CIRCNN_WITH_* option is 0 or 1"
#endif
#if ((CIRCNN_WITH_MAXPOOL2D | CIRCNN_WITH_AVGPOOL2D | CIRCNN_WITH_FLATTEN | CIRCNN_WITH_SOFTMAX) & ~1) != 0
#error "circnn/config.h: every CIRCNN_WITH_* option is 0 or 1"
#endif
#if ((CIRCNN_WITH_ARGMAX | CIRCNN_WITH_WEIGHT8 | CIRCNN_WITH_CONV2D_OHWI | CIRCNN_WITH_POOL2) & ~1) != 0
#error "circnn/config.h: every CIRCNN_WITH_* option is 0 or 1"
#endif
#if (CIRCNN_FFT_SIZES & ~2046) != 0
#error "circnn/config.h: CIRCNN_FFT_SIZES is an OR of powers of two from 2 to 1024"
#endif
#if !CIRCNN_WITH_F32 && !CIRCNN_WITH_Q15
#error "circnn/config.h: CIRCNN_WITH_F32 and CIRCNN_WITH_Q15 are both 0: no model could run"
#endif

#endif /* CIRCNN_CONFIG_H */

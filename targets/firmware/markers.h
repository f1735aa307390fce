/*
 * markers.h - the marker functions between which the QEMU plugin
 * (targets/qemu_plugin/insncount.c) counts executed instructions.
 *
 * Each is a separate, never-inlined function whose body is only `bx lr`;
 * the plugin is given their addresses (read from the ELF's symbol table).
 * Pairs: inference (around each circnn_model_run), layer (around each layer
 * of the instrumented copy of the runtime's loop), empty (nothing between:
 * the cost of the markers themselves, subtract it to get a function's own
 * count), and bench (benchmarks/bench_mcu.py's kernels).
 */
#ifndef CIRCNN_MARKERS_H
#define CIRCNN_MARKERS_H

void circnn_mark_inference_begin(void);
void circnn_mark_inference_end(void);
void circnn_mark_layer_begin(void);
void circnn_mark_layer_end(void);
void circnn_mark_empty_begin(void);
void circnn_mark_empty_end(void);
void circnn_mark_bench_begin(void);
void circnn_mark_bench_end(void);

#endif /* CIRCNN_MARKERS_H */

/*
 * layer_hooks.h - forced into a second compilation of src/model_run.c
 * (gcc -include) to make circnn_model_run_layers: the same loop with a
 * marker pair around each layer, for per-layer instruction counts.  The
 * library's own circnn_model_run, which the runner times per inference,
 * is untouched: without these macros the hooks compile to nothing.
 */
#ifndef CIRCNN_LAYER_HOOKS_H
#define CIRCNN_LAYER_HOOKS_H

#include "markers.h"

#define circnn_model_run circnn_model_run_layers
#define CIRCNN_LAYER_BEGIN(index) circnn_mark_layer_begin()
#define CIRCNN_LAYER_END(index) circnn_mark_layer_end()

#endif /* CIRCNN_LAYER_HOOKS_H */

/* Dense (fully connected) layers, f32 and q15 (contract: circnn/layers.h). */
#include "circnn/layers.h"

void circnn_dense_f32(const circnn_dense_f32_t *layer, const float *x, float *y)
{
    const uint32_t n = layer->in_features;
    const float *row = layer->weight;
    for (uint32_t o = 0; o < layer->out_features; o++, row += n) {
        float acc = 0.0f;
        for (uint32_t i = 0; i < n; i++) acc += row[i] * x[i];
        if (layer->bias) acc += layer->bias[o];
        if (layer->relu && !(acc > 0.0f)) acc = 0.0f;
        y[o] = acc;
    }
}

void circnn_dense_q15(const circnn_dense_q15_t *layer, const int16_t *x, int16_t *y)
{
    const uint32_t n = layer->in_features;
    const int16_t *row = layer->weight;
    for (uint32_t o = 0; o < layer->out_features; o++, row += n) {
        int64_t acc = 0;
        for (uint32_t i = 0; i < n; i++) acc += (int32_t)row[i] * (int32_t)x[i];
        int16_t v = circnn_requant_q15(acc, layer->weight_exp, layer->bias ? layer->bias[o] : 0);
        if (layer->relu && v < 0) v = 0;
        y[o] = v;
    }
}

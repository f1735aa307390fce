/* ReLU, softmax and argmax (contract: circnn/layers.h). */
#include <math.h>

#include "circnn/layers.h"

void circnn_relu_f32(const float *x, float *y, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void circnn_relu_q15(const int16_t *x, int16_t *y, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) y[i] = x[i] > 0 ? x[i] : (int16_t)0;
}

void circnn_softmax_f32(const float *x, float *y, uint32_t count)
{
    if (count == 0) return;
    float top = x[0];
    for (uint32_t i = 1; i < count; i++)
        if (x[i] > top) top = x[i];
    float sum = 0.0f;
    for (uint32_t i = 0; i < count; i++) {
        y[i] = expf(x[i] - top);
        sum += y[i];
    }
    for (uint32_t i = 0; i < count; i++) y[i] /= sum;
}

uint32_t circnn_argmax_f32(const float *x, uint32_t count)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < count; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

uint32_t circnn_argmax_q15(const int16_t *x, uint32_t count)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < count; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

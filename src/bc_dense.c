/* Shape rules shared by the f32 and q15 block-circulant dense layers. */
#include "circnn/bc_dense.h"
#include "circnn/fft.h"
#include "bc_dense_common.h"

circnn_status_t circnn_bc_dense_check(uint32_t in_features, uint32_t out_features,
                                      uint32_t block_size)
{
    if (in_features == 0 || out_features == 0 || in_features > CIRCNN_MAX_FEATURES ||
        out_features > CIRCNN_MAX_FEATURES)
        return CIRCNN_ERR_SHAPE;
    return circnn_fft_check(block_size);
}

size_t circnn_bc_dense_weight_count(uint32_t in_features, uint32_t out_features,
                                    uint32_t block_size)
{
    /* checked: at most 32768 x 32768 x 2 = 2^31 (k >= 2, sizes <= 2^16) */
    if (circnn_bc_dense_check(in_features, out_features, block_size) != CIRCNN_OK) return SIZE_MAX;
    return (size_t)circnn_blocks(out_features, block_size) *
           circnn_blocks(in_features, block_size) * block_size;
}

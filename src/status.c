#include "circnn/status.h"

/* A switch without a default: -Werror=switch (meson.build) refuses to
 * compile when an enumerator has no string. */
const char *circnn_status_string(circnn_status_t status)
{
    switch (status) {
    case CIRCNN_OK: return "CIRCNN_OK";
    case CIRCNN_ERR_NULL: return "CIRCNN_ERR_NULL";
    case CIRCNN_ERR_BLOCK_SIZE: return "CIRCNN_ERR_BLOCK_SIZE";
    case CIRCNN_ERR_SHAPE: return "CIRCNN_ERR_SHAPE";
    case CIRCNN_ERR_MAGIC: return "CIRCNN_ERR_MAGIC";
    case CIRCNN_ERR_VERSION: return "CIRCNN_ERR_VERSION";
    case CIRCNN_ERR_TRUNCATED: return "CIRCNN_ERR_TRUNCATED";
    case CIRCNN_ERR_CRC: return "CIRCNN_ERR_CRC";
    case CIRCNN_ERR_DTYPE: return "CIRCNN_ERR_DTYPE";
    case CIRCNN_ERR_LAYER: return "CIRCNN_ERR_LAYER";
    case CIRCNN_ERR_BOUNDS: return "CIRCNN_ERR_BOUNDS";
    case CIRCNN_ERR_ALIGN: return "CIRCNN_ERR_ALIGN";
    case CIRCNN_ERR_CHAIN: return "CIRCNN_ERR_CHAIN";
    case CIRCNN_ERR_ARENA: return "CIRCNN_ERR_ARENA";
    case CIRCNN_ERR_HEADER: return "CIRCNN_ERR_HEADER";
    case CIRCNN_ERR_PLATFORM: return "CIRCNN_ERR_PLATFORM";
    case CIRCNN_ERR_DISABLED: return "CIRCNN_ERR_DISABLED";
    }
    return "CIRCNN_ERR_UNKNOWN";
}

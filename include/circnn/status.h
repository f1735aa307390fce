/*
 * circnn/status.h - the one status enum of circnn.
 *
 * Every function that can fail returns a circnn_status_t; functions on the
 * hot path (transforms, layers, model_run) cannot fail once their inputs
 * were checked, and return nothing.  circnn_status_string() gives the name
 * of a code; test_status_strings_cannot_drift in tests/test_package.py
 * checks that every enumerator has its own string, so the table cannot
 * drift from the enum.
 */
#ifndef CIRCNN_STATUS_H
#define CIRCNN_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum circnn_status {
    CIRCNN_OK = 0,
    CIRCNN_ERR_NULL = 1,            /* a required pointer is NULL */
    CIRCNN_ERR_BLOCK_SIZE = 2,      /* block or FFT size not a power of two in [2, 1024] */
    CIRCNN_ERR_SHAPE = 3,           /* a dimension is zero or out of range */
    CIRCNN_ERR_MAGIC = 4,           /* model blob: wrong magic number */
    CIRCNN_ERR_VERSION = 5,         /* model blob: unsupported format version */
    CIRCNN_ERR_TRUNCATED = 6,       /* model blob: shorter than it says */
    CIRCNN_ERR_CRC = 7,             /* model blob: checksum mismatch */
    CIRCNN_ERR_DTYPE = 8,           /* model blob: unknown numeric type */
    CIRCNN_ERR_LAYER = 9,           /* model blob: unknown layer type or bad field */
    CIRCNN_ERR_BOUNDS = 10,         /* model blob: offset or length outside the blob */
    CIRCNN_ERR_ALIGN = 11,          /* model blob or arena not suitably aligned */
    CIRCNN_ERR_CHAIN = 12,          /* model blob: layer shapes do not chain */
    CIRCNN_ERR_ARENA = 13,          /* arena smaller than the model needs */
    CIRCNN_ERR_HEADER = 14,         /* model blob: header field out of range */
    CIRCNN_ERR_PLATFORM = 15,       /* this CPU is not little-endian */
    CIRCNN_ERR_DISABLED = 16        /* model blob: needs a numeric type or layer kind this build compiled
                                       out (circnn/config.h) */
} circnn_status_t;

/* The enumerator's name as a static string ("CIRCNN_OK", ...), or
 * "CIRCNN_ERR_UNKNOWN" for a value outside the enum.  Never NULL. */
const char *circnn_status_string(circnn_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* CIRCNN_STATUS_H */

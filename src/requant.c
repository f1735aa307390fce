/* The one q15 output stage (contract: circnn/q15.h). */
#include "circnn/q15.h"
#include "fixed_point.h"

#define REQUANT_LIMIT ((int64_t)1 << 62)

int16_t circnn_requant_q15(int64_t v, int32_t e, int32_t bias)
{
    int32_t u = e + CIRCNN_Q15_BIAS_FRAC_BITS;
    int64_t t;
    if (u >= 0) {
        if (u > 62) u = 62;
        /* Saturate before the multiplication can overflow. */
        if (v >= (REQUANT_LIMIT >> u)) t = REQUANT_LIMIT;
        else if (v <= -(REQUANT_LIMIT >> u)) t = -REQUANT_LIMIT;
        else t = v * ((int64_t)1 << u);
    } else {
        t = v >> (-u > 63 ? 63 : -u);
    }
    return circnn_sat16_64(circnn_rshift_round64(t + bias, CIRCNN_Q15_BIAS_FRAC_BITS));
}

"""circnn.sim: the numpy simulator of the C kernels: bit-exact twins of the q15 code,
and the whole-model simulation over the ops of a blob (q15 bit-exact, f32
in float64).

    bc_conv2d  twin of the q15 block-circulant conv2d
    layers     twins of the plain q15 layers (dense, conv2d, depthwise, pools, relu, argmax)
    model      a whole exported model, op by op (q15 bit-exact, f32 in float64)
    q15        q15 arithmetic: rounding, saturation, the output stage, the FFTs, bc_dense
"""

"""circnn.native: the C code through cffi: the kernels on numpy arrays and Engine (the C
runtime on an exported model).

    bc_conv2d  the block-circulant conv2d on numpy arrays
    engine     Engine: the C runtime (circnn_model_init / circnn_model_run)
    fft        the FFTs and bc_dense (f32 and q15) on numpy arrays
    layers     the plain C layers (include/circnn/layers.h) on numpy batches
"""

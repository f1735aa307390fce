"""circnn.nn: the network and its float64 reference: the mathematics of block-circulant
matrices, the window geometry, the layers, Model and the preset networks.

    circulant  float64 mathematics of block-circulant matrices, spectrum packing
    layers     the layers, with their float64 reference forward pass
    model      Model: a chain of layers, its shapes and float64 forward pass
    presets    the preset networks (mlp, cnn, wide_cnn, ds_cnn)
    window     output size and padding of window layers (twin of circnn_window_geometry)
"""

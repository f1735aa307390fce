"""circnn against its peers: the int8 model CMSIS-NN runs (int8_model) and its C runner."""

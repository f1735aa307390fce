/*
 * circnn/circnn.h - everything of circnn's C API; include this one header.
 *
 * circnn runs block-circulant neural networks (CirCNN, Ding et al., MICRO
 * 2017) with FFTs, in f32 and q15, with no malloc and no mutable static
 * state.  Each header below carries its own contract.
 */
#ifndef CIRCNN_CIRCNN_H
#define CIRCNN_CIRCNN_H

#include "circnn/version.h"
#include "circnn/config.h"
#include "circnn/status.h"
#include "circnn/fft.h"
#include "circnn/q15.h"
#include "circnn/window.h"
#include "circnn/bc_dense.h"
#include "circnn/layers.h"
#include "circnn/bc_conv2d.h"
#include "circnn/model.h"

#endif /* CIRCNN_CIRCNN_H */

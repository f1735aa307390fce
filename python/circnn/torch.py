"""Block-circulant layers for PyTorch (`pip install "circnn[torch]"`).

    import torch.nn as nn
    from circnn.torch import BlockCirculantConv2d, BlockCirculantLinear

    net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
                        BlockCirculantConv2d(32, 64, 3, block_size=8, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), BlockCirculantLinear(64, 10, 8))
    model = circnn.from_torch(net, (1, 28, 28))      # a circnn.Model: quantize, save, write_header

The parameters are circnn's: `weight` holds the defining vectors of the
circulant blocks in the first-column convention (block W_ij[r, c] =
w_ij[(r - c) mod k]), (p, q, k) for BlockCirculantLinear and (kernel_h,
kernel_w, p, q, k) for BlockCirculantConv2d, p = ceil(out / k) output
blocks, q = ceil(in / k) input blocks, exactly the `weight` of
circnn.layers.BlockCirculantDense / BlockCirculantConv2d.  Inputs and
outputs follow torch: (N, features) and NCHW images.

The forward pass never builds the dense matrix: it transforms the input
blocks with torch.fft.rfft, multiplies and sums over input blocks (and, in
the convolution, over kernel taps) in the frequency domain, and transforms
each output block back once.  Autograd differentiates through it, on any
device and floating dtype that torch.fft supports.

This module imports torch; the rest of circnn does not.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BlockCirculantLinear", "BlockCirculantConv2d", "DepthwiseConv2d"]


def _blocks(features, block_size):
    return -(-int(features) // int(block_size))


def _check_block_size(k):
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"block_size must be an int, got {type(k).__name__}")
    if k < 2 or k > 1024 or k & (k - 1):
        raise ValueError(f"block_size must be a power of two from 2 to 1024, got {k}")
    return k


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _pair(name, value):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {value!r}")
        return _positive(name, value[0]), _positive(name, value[1])
    return _positive(name, value), _positive(name, value)


def _pad_last(x, size):
    """Zero-pad the last axis of x to `size`."""
    extra = size - x.shape[-1]
    return F.pad(x, (0, extra)) if extra else x


class BlockCirculantLinear(nn.Module):
    """y = W x + b with W (out_features x in_features) made of k x k circulant
    blocks (CirCNN FC): the twin of circnn.layers.BlockCirculantDense.

    weight: (p, q, k) defining vectors, block (i, j) maps input block j to
    output block i; bias: (out_features,).  Initialised like circnn's layer:
    He initialisation from the full fan-in (in_features), zero bias.
    """

    def __init__(self, in_features, out_features, block_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = _positive("in_features", in_features)
        self.out_features = _positive("out_features", out_features)
        self.block_size = k = _check_block_size(block_size)
        shape = (_blocks(out_features, k), _blocks(in_features, k), k)
        self.weight = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.empty(out_features, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            self.weight.normal_(0.0, math.sqrt(2.0 / self.in_features))
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x):
        p, q, k = self.weight.shape
        lead = x.shape[:-1]
        xs = torch.fft.rfft(_pad_last(x, q * k).reshape(-1, q, k), dim=-1)       # (N, q, k/2+1)
        ws = torch.fft.rfft(self.weight, dim=-1)                                  # (p, q, k/2+1)
        # The sum over input blocks j happens in the frequency domain: one
        # (N x q) @ (q x p) complex product per frequency bin.
        ys = torch.matmul(xs.permute(2, 0, 1), ws.permute(2, 1, 0))              # (k/2+1, N, p)
        y = torch.fft.irfft(ys.permute(1, 2, 0), n=k, dim=-1).reshape(-1, p * k)  # (N, p * k)
        y = y[:, :self.out_features].reshape(lead + (self.out_features,))
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"block_size={self.block_size}, bias={self.bias is not None}")


class BlockCirculantConv2d(nn.Module):
    """2-D convolution whose in_channels x out_channels channel matrix is
    block-circulant at every kernel tap (CirCNN CONV): the twin of
    circnn.layers.BlockCirculantConv2d, on NCHW tensors.

    weight: (kernel_h, kernel_w, p, q, k) defining vectors, for tap (a, b)
    block (i, j) maps input-channel block j to output-channel block i;
    bias: (out_channels,).  stride and padding are torch's (padding an int,
    a pair, or "same" / "valid"; cross-correlation as nn.Conv2d).

    The input's channel blocks are transformed once per pixel; for every
    frequency bin the taps and input blocks are summed by one real grouped
    convolution on the real and imaginary parts (groups = k/2 + 1, each a
    2q -> 2p channel map [[Re W, -Im W], [Im W, Re W]]), then one inverse
    transform per output pixel and block.
    """

    def __init__(self, in_channels, out_channels, kernel_size, block_size, stride=1, padding=0, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.in_channels = _positive("in_channels", in_channels)
        self.out_channels = _positive("out_channels", out_channels)
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.stride = _pair("stride", stride)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("padding='same' needs stride 1 (as in nn.Conv2d); give the padding as an int")
            self.padding = padding
        else:
            pad = (padding, padding) if not isinstance(padding, (tuple, list)) else tuple(padding)
            if len(pad) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in pad):
                raise ValueError(f"padding must be a non-negative int or pair, got {padding!r}")
            self.padding = pad
        self.block_size = k = _check_block_size(block_size)
        kh, kw = self.kernel_size
        shape = (kh, kw, _blocks(out_channels, k), _blocks(in_channels, k), k)
        self.weight = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.empty(out_channels, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        kh, kw = self.kernel_size
        with torch.no_grad():
            self.weight.normal_(0.0, math.sqrt(2.0 / (kh * kw * self.in_channels)))
            if self.bias is not None:
                self.bias.zero_()

    def spectral_kernel(self):
        """The real grouped-convolution kernel (F * 2p, 2q, kh, kw), F = k/2 + 1."""
        kh, kw, p, q, k = self.weight.shape
        ws = torch.fft.rfft(self.weight, dim=-1).permute(4, 2, 3, 0, 1)        # (F, p, q, kh, kw)
        re, im = ws.real, ws.imag
        top = torch.cat([re, -im], dim=2)                                       # rows: Re Y
        bottom = torch.cat([im, re], dim=2)                                     # rows: Im Y
        return torch.cat([top, bottom], dim=1).reshape(-1, 2 * q, kh, kw)

    def forward(self, x):
        kh, kw, p, q, k = self.weight.shape
        f = k // 2 + 1
        n, c, h, w = x.shape
        if c != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects {self.in_channels} channels, got {c}")
        if q * k != c:
            x = F.pad(x, (0, 0, 0, 0, 0, q * k - c))
        xs = torch.fft.rfft(x.reshape(n, q, k, h, w), dim=2)                    # (N, q, F, H, W)
        xs = xs.permute(0, 2, 1, 3, 4)                                          # (N, F, q, H, W)
        xr = torch.cat([xs.real, xs.imag], dim=2).reshape(n, f * 2 * q, h, w)
        yr = F.conv2d(xr, self.spectral_kernel(), None, self.stride, self.padding, 1, f)
        oh, ow = yr.shape[-2:]
        yr = yr.reshape(n, f, 2, p, oh, ow)
        ys = torch.complex(yr[:, :, 0], yr[:, :, 1])                            # (N, F, p, OH, OW)
        y = torch.fft.irfft(ys, n=k, dim=1)                                     # (N, k, p, OH, OW)
        y = y.transpose(1, 2).reshape(n, p * k, oh, ow)[:, :self.out_channels]
        return y if self.bias is None else y + self.bias[:, None, None]

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"block_size={self.block_size}, stride={self.stride}, padding={self.padding}, "
                f"bias={self.bias is not None}")


class DepthwiseConv2d(nn.Conv2d):
    """Depthwise convolution (depth multiplier 1), the twin of
    circnn.layers.DepthwiseConv2d: nn.Conv2d(channels, channels, kernel_size,
    groups=channels), with torch's weight (channels, 1, kernel_h, kernel_w)
    (circnn.from_torch writes it as circnn's (kernel_h, kernel_w, channels)).
    Its partner is a pointwise BlockCirculantConv2d(..., kernel_size=1, ...)."""

    def __init__(self, channels, kernel_size, stride=1, padding=0, bias=True, device=None, dtype=None):
        super().__init__(_positive("channels", channels), channels, kernel_size, stride=stride, padding=padding,
                         groups=channels, bias=bias, device=device, dtype=dtype)

"""circnn.from_torch: a trained PyTorch module -> circnn.Model.

The module is an nn.Sequential, or any module whose forward is a chain (each
step takes the previous step's output and nothing else; torch.fx traces it),
of these steps, read in eval mode (BatchNorm with its running statistics):

    circnn.torch.BlockCirculantLinear, circnn.torch.BlockCirculantConv2d,
    nn.Linear, nn.Conv2d (groups 1, or depthwise: groups = in = out channels,
    as circnn.torch.DepthwiseConv2d; dilation 1, zero padding), nn.BatchNorm1d,
    nn.BatchNorm2d, nn.ReLU (and F.relu / torch.relu), nn.MaxPool2d,
    nn.AvgPool2d, nn.AdaptiveAvgPool2d(1), nn.Flatten (and torch.flatten(x, 1)),
    nn.Dropout and nn.Identity (nothing at inference).

Anything else is refused with a ValueError that names the step.  Torch's
images are NCHW, circnn's NHWC: convolution kernels are transposed, and a
Linear (or BatchNorm1d) that follows the flattening of an h x w x c map
(h * w > 1) gets its columns permuted from torch's CHW order to circnn's HWC
order, so the circnn model computes the same function.  Windows (padding,
stride) must be ones circnn computes: 'valid' (no padding) or 'same' (out =
ceil(in / stride), the smaller half of the padding before); others are
refused.
"""
import numpy as np
import torch
from torch import fx, nn

from .nn import layers as L
from . import torch as ct
from .nn.model import Model
from .nn.window import window_geometry

_LEAVES = (ct.BlockCirculantLinear, ct.BlockCirculantConv2d, ct.DepthwiseConv2d)
_RELU_FUNCTIONS = (torch.relu, torch.nn.functional.relu)


def _array(t):
    return t.detach().to("cpu", torch.float64).numpy().copy()


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m, qualname):
        return isinstance(m, _LEAVES) or super().is_leaf_module(m, qualname)


def _steps(module):
    """The chain of (name, step) of module: nn.Modules, or strings for the
    functions "relu" and "flatten"."""
    if isinstance(module, nn.Sequential):
        out = []
        for name, child in module.named_children():
            out += [(f"{name}.{n}" if n else name, s) for n, s in _steps(child)]
        return out
    if isinstance(module, _LEAVES) or (type(module).__module__.startswith("torch.nn")
                                        and not isinstance(module, nn.Sequential)):
        return [("", module)]
    try:
        graph = _Tracer().trace(module)
    except Exception as exc:
        raise ValueError(f"cannot read {type(module).__name__}.forward as a chain of layers "
                         f"(torch.fx could not trace it: {exc})") from None
    out, previous = [], None
    for node in graph.nodes:
        if node.op == "placeholder":
            if previous is not None:
                raise ValueError(f"{type(module).__name__}.forward takes more than one input")
            previous = node
            continue
        if node.op == "output":
            if node.args[0] is not previous:
                raise ValueError(f"{type(module).__name__}.forward does not return the end of its chain")
            break
        if node.op == "get_attr":
            raise ValueError(f"{type(module).__name__}.forward reads the tensor {node.target} directly")
        inputs = [a for a in node.all_input_nodes]
        if inputs != [previous]:
            raise ValueError(f"{type(module).__name__}.forward is not a chain: {node.format_node()} "
                             "does not take exactly the previous step's output")
        if node.op == "call_module":
            sub = module.get_submodule(node.target)
            out += [(f"{node.target}.{n}" if n else node.target, s) for n, s in _steps(sub)]
        elif node.op == "call_function" and node.target in _RELU_FUNCTIONS and not node.kwargs.get("inplace"):
            out.append((node.name, "relu"))
        elif node.op == "call_method" and node.target == "relu":
            out.append((node.name, "relu"))
        elif (node.op == "call_function" and node.target is torch.flatten) or \
                (node.op == "call_method" and node.target == "flatten"):
            start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
            end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
            if (start, end) != (1, -1):
                raise ValueError(f"{type(module).__name__}.forward: {node.format_node()} must flatten "
                                 "from dimension 1 to the end")
            out.append((node.name, "flatten"))
        else:
            raise ValueError(f"{type(module).__name__}.forward: circnn cannot convert {node.format_node()}")
        previous = node
    return out


def _window(name, step, shape, kernel, stride, padding, ceil_mode=False):
    """circnn's padding mode ("valid" / "same") with torch's geometry, or a ValueError."""
    if len(shape) != 3:
        raise ValueError(f"{name} ({step}) needs an image, gets a vector of {shape[0]}")
    h, w, _ = shape
    kernel, stride, padding = (tuple(v) if isinstance(v, (tuple, list)) else (v, v)
                               for v in (kernel, stride, padding))
    if stride[0] != stride[1]:
        raise ValueError(f"{name} ({step}): circnn needs the same stride in both directions, got {stride}")

    def torch_axis(size, k, s, p):
        span = size + 2 * p - k
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= size + p:
            out -= 1
        return out, p

    want = (torch_axis(h, kernel[0], stride[0], padding[0]), torch_axis(w, kernel[1], stride[1], padding[1]))
    for mode in ("valid", "same"):
        try:
            g = window_geometry(h, w, kernel[0], kernel[1], stride[0], mode)
        except ValueError:
            continue
        if ((g.out_h, g.pad_top), (g.out_w, g.pad_left)) == want:
            return mode, stride[0]
    raise ValueError(f"{name} ({step}): padding {padding} with stride {stride} on a {h} x {w} input is neither "
                     "circnn's 'valid' nor its 'same' window (out = ceil(in / stride), the smaller half "
                     "of the padding first)")


def _conv_padding(conv):
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return (0, 0)
        kh, kw = conv.kernel_size
        if (kh % 2 == 0 or kw % 2 == 0):
            raise ValueError("padding='same' with an even kernel pads more after than before; circnn pads "
                             "the smaller half before: give the padding as numbers")
        return ((kh - 1) // 2, (kw - 1) // 2)
    return conv.padding


def _batchnorm(name, step, features):
    if not step.track_running_stats or step.running_mean is None:
        raise ValueError(f"{name} ({step}) keeps no running statistics: circnn needs them for inference")
    n = step.num_features
    gamma = _array(step.weight) if step.affine else np.ones(n)
    beta = _array(step.bias) if step.affine else np.zeros(n)
    mean, var = _array(step.running_mean), _array(step.running_var)
    if features is not None:
        gamma, beta, mean, var = gamma[features], beta[features], mean[features], var[features]
    return L.BatchNorm(n, gamma=gamma, beta=beta, mean=mean, var=var, eps=step.eps)


def from_torch(module, input_shape):
    """The circnn.Model that computes what `module` computes in eval mode.

    input_shape: one sample as torch sees it, without the batch: (channels,
    height, width) for images, (features,) for vectors.  The model's
    input_shape is circnn's (height, width, channels) or (features,): feed it
    NHWC images (x_nchw.transpose(0, 2, 3, 1)).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    dims = tuple(int(d) for d in input_shape)
    if len(dims) == 3:
        shape = (dims[1], dims[2], dims[0])
    elif len(dims) == 1:
        shape = dims
    else:
        raise ValueError(f"input_shape must be (channels, height, width) or (features,), got {input_shape}")
    out = []
    # features[i] = the torch feature index of circnn's feature i after a
    # flatten of an h x w x c map (CHW in torch, HWC in circnn); None = same order.
    features = None
    for name, step in _steps(module):
        label = name or type(step).__name__
        if isinstance(step, (nn.Dropout, nn.Identity)):
            continue
        if step == "relu" or isinstance(step, nn.ReLU):
            layer = L.ReLU()
        elif step == "flatten" or isinstance(step, nn.Flatten):
            if isinstance(step, nn.Flatten) and (step.start_dim, step.end_dim) != (1, -1):
                raise ValueError(f"{label} ({step}): circnn flattens from dimension 1 to the end only")
            if len(shape) == 3 and shape[0] * shape[1] > 1:
                h, w, c = shape
                features = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
            layer = L.Flatten()
        elif isinstance(step, ct.BlockCirculantLinear):
            if features is not None:
                raise ValueError(f"{label} ({step}) follows the flattening of a multi-pixel map: torch orders "
                                 "those features CHW and circnn HWC, which breaks the circulant blocks; "
                                 "pool to 1 x 1 before flattening, or use nn.Linear there")
            bias = None if step.bias is None else _array(step.bias)
            layer = L.BlockCirculantDense(step.in_features, step.out_features, step.block_size,
                                          weight=_array(step.weight), bias=bias)
        elif isinstance(step, nn.Linear):
            weight = _array(step.weight)
            if features is not None:
                weight = weight[:, features]
            bias = None if step.bias is None else _array(step.bias)
            layer = L.Dense(step.in_features, step.out_features, weight=weight, bias=bias)
            features = None
        elif isinstance(step, ct.BlockCirculantConv2d):
            padding = step.padding
            if isinstance(padding, str):
                padding = (0, 0) if padding == "valid" else tuple((s - 1) // 2 for s in step.kernel_size)
            mode, stride = _window(label, step, shape, step.kernel_size, step.stride, padding)
            bias = None if step.bias is None else _array(step.bias)
            layer = L.BlockCirculantConv2d(step.in_channels, step.out_channels, step.kernel_size, step.block_size,
                                           stride=stride, padding=mode, weight=_array(step.weight), bias=bias)
        elif isinstance(step, nn.Conv2d):
            depthwise = step.groups > 1 and step.groups == step.in_channels == step.out_channels
            if (step.groups != 1 and not depthwise) or tuple(step.dilation) != (1, 1) \
                    or step.padding_mode != "zeros":
                raise ValueError(f"{label} ({step}): circnn converts nn.Conv2d with groups=1 or depthwise "
                                 "(groups = in_channels = out_channels), dilation 1 and zero padding only")
            mode, stride = _window(label, step, shape, step.kernel_size, step.stride, _conv_padding(step))
            bias = None if step.bias is None else _array(step.bias)
            if depthwise:
                layer = L.DepthwiseConv2d(step.in_channels, step.kernel_size, stride=stride, padding=mode,
                                          weight=_array(step.weight)[:, 0].transpose(1, 2, 0), bias=bias)
            else:
                layer = L.Conv2d(step.in_channels, step.out_channels, step.kernel_size, stride=stride,
                                 padding=mode, weight=_array(step.weight).transpose(2, 3, 1, 0), bias=bias)
        elif isinstance(step, nn.BatchNorm2d):
            layer = _batchnorm(label, step, None)
        elif isinstance(step, nn.BatchNorm1d):
            if len(shape) != 1:
                raise ValueError(f"{label} ({step}) needs a vector, gets an image {shape}")
            layer = _batchnorm(label, step, features)
        elif isinstance(step, nn.MaxPool2d):
            if step.return_indices or step.dilation not in (1, (1, 1)):
                raise ValueError(f"{label} ({step}): circnn pools without dilation or indices")
            mode, stride = _window(label, step, shape, step.kernel_size, step.stride, step.padding,
                                   step.ceil_mode)
            layer = L.MaxPool2d(step.kernel_size, stride=stride, padding=mode)
        elif isinstance(step, nn.AvgPool2d):
            if step.divisor_override is not None:
                raise ValueError(f"{label} ({step}): circnn averages without divisor_override")
            mode, stride = _window(label, step, shape, step.kernel_size, step.stride, step.padding,
                                   step.ceil_mode)
            if step.count_include_pad and step.padding not in (0, (0, 0)):
                raise ValueError(f"{label} ({step}): circnn averages over the pixels inside the input only; "
                                 "set count_include_pad=False")
            layer = L.AvgPool2d(step.kernel_size, stride=stride, padding=mode)
        elif isinstance(step, nn.AdaptiveAvgPool2d):
            size = step.output_size
            if size not in (1, (1, 1), [1, 1]):
                raise ValueError(f"{label} ({step}): circnn pools to 1 x 1 only (AdaptiveAvgPool2d(1))")
            layer = L.GlobalAvgPool2d()
        else:
            raise ValueError(f"{label} ({type(step).__name__}): circnn cannot convert this module; it converts "
                             "circnn.torch layers, Linear, Conv2d (also depthwise), BatchNorm1d/2d, ReLU, MaxPool2d, AvgPool2d, "
                             "AdaptiveAvgPool2d(1), Flatten, Dropout and Identity")
        try:
            shape = tuple(layer.output_shape(shape))
        except ValueError as exc:
            raise ValueError(f"{label} ({step}) does not accept shape {shape}: {exc}") from None
        out.append(layer)
    if not out:
        raise ValueError(f"{type(module).__name__} has no layers circnn computes")
    return Model(out, input_shape=(dims[1], dims[2], dims[0]) if len(dims) == 3 else dims)

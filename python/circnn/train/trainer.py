"""Training circnn models in numpy (+ pyfftw): no deep-learning framework.

    (x_train, y_train), (x_test, y_test) = circnn.datasets.fashion_mnist()
    model = circnn.presets.mlp(block_size=32, seed=0)
    circnn.train.fit(model, x_train, y_train, epochs=10, batch_size=128, lr=1e-3, seed=0,
                     validation=(x_test, y_test))
    circnn.train.evaluate(model, x_test, y_test)        # accuracy in [0, 1]
    model.quantize(x_train[:512])                       # straight to export

`fit` trains the model's own layer objects in place (weights, packed spectra,
biases, BatchNorm gamma/beta and running statistics).  Block-circulant layers
train in the frequency domain (circnn.train.ops).  The loss is softmax
cross-entropy on the model's output; a final Softmax and/or Argmax layer is
left out while training (the loss applies the softmax itself).

Optimizers: "adam" (weight decay decoupled, as AdamW) and "sgd" (momentum,
optional Nesterov; weight decay added to the gradient).  Weight decay applies
to weights only, not to biases or BatchNorm parameters.  Learning-rate
schedules: "constant", "cosine" (to zero at the end of the last epoch),
"step" (x0.1 at 50 % and again at 75 % of the steps), or a function of the
progress in [0, 1) that returns a factor; `warmup` epochs ramp up linearly.

A run is repeatable: the model's initial weights come from the seeds given
to its layers (circnn.presets take a seed; `initialise(model, seed)` redraws
them), and `seed` fixes the order of the samples and the augmentation.
Checkpoints hold the model, the optimizer state, the random state and the
history in one .npz; `resume=` continues a run to the same weights as an
uninterrupted one.
"""
import io
import json
import math
import os
import time

import numpy as np

from ..nn import layers as L
from .ops import make_op

__all__ = ["fit", "evaluate", "predict", "Network", "Adam", "SGD", "softmax_cross_entropy", "schedule_factor",
           "initialise", "random_shift_flip", "save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "circnn-checkpoint-1"


# ---------------------------------------------------------------------------
# The network of ops

class Network:
    """The ops of a model's layers (a final Softmax / Argmax left out), in one dtype.

    path: "auto", "fft" or "dense" for the block-circulant layers (see
    circnn.train.ops).
    """

    def __init__(self, model, dtype=np.float32, path="auto", bn_momentum=0.1):
        layers = list(model.layers)
        while layers and isinstance(layers[-1], (L.Softmax, L.Argmax)):
            layers.pop()
        if not layers:
            raise ValueError("the model has no layer to train")
        self.model = model
        self.dtype = np.dtype(dtype)
        self.ops = []
        for layer in layers:
            op = make_op(layer, self.dtype, path)
            if isinstance(layer, L.BatchNorm):
                op.momentum = float(bn_momentum)
            self.ops.append(op)
        trained = [i for i, op in enumerate(self.ops) if op.params]
        self.first = trained[0] if trained else len(self.ops)
        if trained:
            self.ops[self.first].need_dx = False   # nothing below it learns

    def forward(self, x, training=False):
        x = np.asarray(x, dtype=self.dtype)
        for op in self.ops:
            x = op.forward(x, training)
        return x.reshape(len(x), -1)

    def backward(self, grad):
        """grad: d loss / d output (batch, classes).  Fills every op's grads."""
        grad = np.asarray(grad, dtype=self.dtype)
        out_shape = self.model.shapes[len(self.ops)]
        grad = grad.reshape((len(grad),) + tuple(out_shape))
        for op in reversed(self.ops[self.first:]):
            grad = op.backward(grad)

    def parameters(self):
        """[(key, op, name)] of every trainable array, key = "<layer index>.<name>"."""
        return [(f"{i}.{name}", op, name) for i, op in enumerate(self.ops) for name in op.params]

    def push(self):
        for op in self.ops:
            op.push()


# ---------------------------------------------------------------------------
# Loss, optimizers, schedules

def softmax_cross_entropy(logits, labels, label_smoothing=0.0):
    """(mean loss, d loss / d logits, number of correct argmax predictions)."""
    logits = np.asarray(logits)
    labels = np.asarray(labels, dtype=np.int64)
    batch, classes = logits.shape
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    target = np.full(logits.shape, label_smoothing / classes, dtype=logits.dtype)
    target[np.arange(batch), labels] += 1.0 - label_smoothing
    loss = -float((target * logp).sum(dtype=np.float64)) / batch
    grad = (np.exp(logp) - target) / batch
    correct = int(np.sum(np.argmax(logits, axis=1) == labels))
    return loss, grad.astype(logits.dtype, copy=False), correct


class _Optimizer:
    def __init__(self, lr, weight_decay):
        if lr <= 0 or weight_decay < 0:
            raise ValueError("lr must be > 0 and weight_decay >= 0")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.t = 0
        self.state = {}

    def state_dict(self):
        return {"t": self.t, "arrays": {f"{key}/{slot}": a for key, slots in self.state.items()
                                        for slot, a in slots.items()}}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        self.state = {}
        for name, array in state["arrays"].items():
            key, slot = name.rsplit("/", 1)
            self.state.setdefault(key, {})[slot] = np.array(array, dtype=np.float64)


class SGD(_Optimizer):
    """SGD with momentum: buf = momentum * buf + g; p -= lr * buf (Nesterov:
    p -= lr * (g + momentum * buf)).  Weight decay adds weight_decay * p to g."""

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.9, nesterov=False, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def step(self, items, lr):
        """items: [(key, param, grad, decays)]; params are updated in place."""
        self.t += 1
        for key, p, g, decays in items:
            if decays and self.weight_decay:
                g = g + self.weight_decay * p
            slots = self.state.setdefault(key, {})
            if "buf" not in slots:
                slots["buf"] = np.array(g, dtype=np.float64)
            else:
                slots["buf"] *= self.momentum
                slots["buf"] += g
            p -= lr * (g + self.momentum * slots["buf"] if self.nesterov else slots["buf"])

    def config(self):
        return {"name": self.name, "lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Adam(_Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight decay decoupled as in
    AdamW: p -= lr * weight_decay * p."""

    name = "adam"

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def step(self, items, lr):
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        for key, p, g, decays in items:
            slots = self.state.setdefault(key, {})
            if "m" not in slots:
                slots["m"] = np.zeros_like(p, dtype=np.float64)
                slots["v"] = np.zeros_like(p, dtype=np.float64)
            m, v = slots["m"], slots["v"]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            if decays and self.weight_decay:
                p -= lr * self.weight_decay * p
            p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)

    def config(self):
        return {"name": self.name, "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                "weight_decay": self.weight_decay}


def _optimizer(name, lr, momentum, weight_decay):
    if isinstance(name, _Optimizer):
        return name
    if name == "adam":
        return Adam(lr, weight_decay=weight_decay)
    if name == "sgd":
        return SGD(lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'adam', 'sgd' or an Adam/SGD object, got {name!r}")


SCHEDULES = ("constant", "cosine", "step")


def schedule_factor(schedule, progress):
    """The learning-rate factor at `progress` (steps done / all steps, in [0, 1))."""
    if callable(schedule):
        return float(schedule(progress))
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "step":
        return 1.0 if progress < 0.5 else 0.1 if progress < 0.75 else 0.01
    raise ValueError(f"schedule must be one of {SCHEDULES} or a function, got {schedule!r}")


# ---------------------------------------------------------------------------
# Initialisation and augmentation

def initialise(model, seed=0):
    """Redraw every weight from its full fan-in (layers.py's He initialisation),
    zero the biases and reset BatchNorm, in place, from one seed."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BlockCirculantDense):
            fresh = L.BlockCirculantDense(layer.in_features, layer.out_features, layer.block_size, seed=rng)
        elif isinstance(layer, L.Dense):
            fresh = L.Dense(layer.in_features, layer.out_features, seed=rng)
        elif isinstance(layer, L.BlockCirculantConv2d):
            fresh = L.BlockCirculantConv2d(layer.in_channels, layer.out_channels,
                                           (layer.kernel_h, layer.kernel_w), layer.block_size,
                                           layer.stride, layer.padding, seed=rng)
        elif isinstance(layer, L.Conv2d):
            fresh = L.Conv2d(layer.in_channels, layer.out_channels, (layer.kernel_h, layer.kernel_w),
                             layer.stride, layer.padding, seed=rng)
        elif isinstance(layer, L.DepthwiseConv2d):
            fresh = L.DepthwiseConv2d(layer.channels, (layer.kernel_h, layer.kernel_w), layer.stride,
                                      layer.padding, seed=rng)
        elif isinstance(layer, L.BatchNorm):
            fresh = L.BatchNorm(layer.channels, eps=layer.eps)
            for name in ("gamma", "beta", "mean", "var"):
                getattr(layer, name)[...] = getattr(fresh, name)
            continue
        else:
            continue
        for name, array in fresh.params().items():
            getattr(layer, name)[...] = array
    return model


def random_shift_flip(shift=2, flip=True):
    """An augmentation for fit(augment=...): every image moved by up to
    `shift` pixels in each direction (zero fill) and, with flip, mirrored left
    to right with probability 1/2.  Images (B, H, W, C) only."""

    def augment(x, rng):
        if x.ndim != 4:
            raise ValueError("random_shift_flip takes images (B, H, W, C)")
        batch, h, w, _ = x.shape
        out = np.zeros_like(x)
        padded = np.zeros((batch, h + 2 * shift, w + 2 * shift, x.shape[3]), dtype=x.dtype)
        padded[:, shift:shift + h, shift:shift + w] = x
        dy = rng.integers(0, 2 * shift + 1, batch)
        dx = rng.integers(0, 2 * shift + 1, batch)
        mirror = rng.random(batch) < 0.5 if flip else np.zeros(batch, dtype=bool)
        for i in range(batch):
            img = padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
            out[i] = img[:, ::-1] if mirror[i] else img
        return out

    return augment


# ---------------------------------------------------------------------------
# Checkpoints

def _layer_arrays(model):
    arrays = {}
    for i, layer in enumerate(model.layers):
        for name, array in layer.params().items():
            arrays[f"model/{i}/{name}"] = array
        if isinstance(layer, L.BatchNorm):
            arrays[f"model/{i}/mean"] = layer.mean
            arrays[f"model/{i}/var"] = layer.var
    return arrays


def save_checkpoint(path, model, network=None, optimizer=None, rng=None, epoch=0, step=0, history=None,
                    settings=None):
    """Write the model's arrays (and a run's state) to one .npz, atomically."""
    arrays = dict(_layer_arrays(model))
    if network is not None:
        for key, op, name in network.parameters():
            if not any(op.params[name] is a for a in op.layer.params().values()):
                arrays[f"master/{key}"] = op.params[name]       # e.g. time-domain circulant vectors
    meta = {"format": CHECKPOINT_FORMAT, "layers": [layer.describe() for layer in model.layers],
            "epoch": int(epoch), "step": int(step), "history": history or {}, "settings": settings or {}}
    if optimizer is not None:
        state = optimizer.state_dict()
        meta["optimizer"] = {**optimizer.config(), "t": state["t"]}
        arrays.update({f"opt/{name}": a for name, a in state["arrays"].items()})
    if rng is not None:
        meta["rng"] = rng.bit_generator.state
    arrays["meta"] = np.array(json.dumps(meta))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "wb") as f:
        f.write(buffer.getvalue())
    os.replace(tmp, path)


def load_checkpoint(path, model):
    """Restore the model's arrays from a checkpoint in place; returns
    (meta, arrays) with the run state (see fit's resume=)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    if "meta" not in arrays:
        raise ValueError(f"{path}: not a circnn checkpoint (no meta)")
    meta = json.loads(str(arrays.pop("meta")))
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: checkpoint format {meta.get('format')!r}, expected {CHECKPOINT_FORMAT!r}")
    layers = [layer.describe() for layer in model.layers]
    if meta["layers"] != layers:
        raise ValueError(f"{path}: the checkpoint's layers {meta['layers']} are not the model's {layers}")
    for name, target in _layer_arrays(model).items():
        if arrays[name].shape != target.shape:
            raise ValueError(f"{path}: {name} has shape {arrays[name].shape}, the model {target.shape}")
        target[...] = arrays[name]
    return meta, arrays


# ---------------------------------------------------------------------------
# fit / evaluate

def _labels(y, n):
    y = np.asarray(y)
    if y.shape != (n,) or y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integer class numbers of shape ({n},), got {y.dtype} {y.shape}")
    return y.astype(np.int64)


def _inputs(model, x):
    x = np.asarray(x)
    if x.shape[1:] != model.input_shape:
        raise ValueError(f"inputs must have shape (N,) + {model.input_shape}, got {x.shape}")
    return x


def predict(model, x, batch_size=1000, dtype=np.float64):
    """Class numbers (argmax of the output before any Softmax/Argmax), in batches."""
    x = _inputs(model, x)
    net = Network(model, dtype)
    out = [np.argmax(net.forward(x[i:i + batch_size]), axis=1) for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def evaluate(model, x, y, batch_size=1000, dtype=np.float64):
    """Accuracy (fraction in [0, 1]) of the model on (x, y), BatchNorm with its
    running statistics; float64 by default (the model's reference)."""
    x = _inputs(model, x)
    y = _labels(y, len(x))
    if len(x) == 0:
        raise ValueError("evaluate needs at least one sample")
    return float(np.mean(predict(model, x, batch_size, dtype) == y))


def fit(model, x, y, epochs=10, batch_size=128, lr=1e-3, seed=0, validation=None, optimizer="adam",
        momentum=0.9, weight_decay=0.0, schedule="constant", warmup=0.0, label_smoothing=0.0, augment=None,
        dtype=np.float32, path="auto", checkpoint=None, resume=None, progress=True, callback=None):
    """Train `model` in place with mini-batch softmax cross-entropy; returns the
    history: per-epoch lists "loss", "accuracy" (on the training batches, as
    trained), "lr", "seconds", "samples_per_second" and with validation
    "val_accuracy".

    x: (N,) + model.input_shape, y: integer class numbers (N,).
    optimizer: "adam" | "sgd" (momentum) | an Adam/SGD object; weight_decay
    (weights only); schedule: "constant" | "cosine" | "step" | f(progress);
    warmup: epochs of linear warm-up; augment: f(x_batch, rng) -> x_batch
    (e.g. random_shift_flip()); dtype: the arithmetic of the passes (the
    parameters and the optimizer stay float64); path: block-circulant
    training path ("auto", "fft", "dense").
    checkpoint: a .npz path written after every epoch; resume: a checkpoint
    to continue from (same model, same settings), or True for `checkpoint`.
    callback(epoch, logs) runs after every epoch (0-based epoch).
    """
    x = _inputs(model, x)
    y = _labels(y, len(x))
    if epochs < 0 or batch_size < 1 or len(x) == 0:
        raise ValueError("need epochs >= 0, batch_size >= 1 and at least one sample")
    if validation is not None:
        validation = (_inputs(model, validation[0]), _labels(validation[1], len(validation[0])))
    net = Network(model, dtype, path)
    opt = _optimizer(optimizer, lr, momentum, weight_decay)
    rng = np.random.default_rng(seed)
    history = {"loss": [], "accuracy": [], "lr": [], "seconds": [], "samples_per_second": []}
    if validation is not None:
        history["val_accuracy"] = []
    start, step = 0, 0
    if resume is True:
        resume = checkpoint
    if resume is not None:
        meta, arrays = load_checkpoint(resume, model)
        net = Network(model, dtype, path)              # pulls the restored layer arrays
        for key, op, name in net.parameters():
            if f"master/{key}" in arrays:
                op.params[name][...] = arrays[f"master/{key}"]
        net.push()
        if "optimizer" in meta:
            opt.load_state_dict({"t": meta["optimizer"]["t"],
                                 "arrays": {n[4:]: a for n, a in arrays.items() if n.startswith("opt/")}})
        if "rng" in meta:
            rng.bit_generator.state = meta["rng"]
        start, step, history = meta["epoch"], meta["step"], meta["history"] or history
    steps_per_epoch = -(-len(x) // batch_size)
    total = max(epochs * steps_per_epoch, 1)
    warmup_steps = warmup * steps_per_epoch
    settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "schedule":
                schedule if isinstance(schedule, str) else "custom", "dtype": np.dtype(dtype).name}
    from tqdm import tqdm

    try:
        for epoch in range(start, epochs):
            order = rng.permutation(len(x))
            t0 = time.perf_counter()
            loss_sum, correct, seen = 0.0, 0, 0
            bar = tqdm(total=len(x), desc=f"epoch {epoch + 1}/{epochs}", unit=" samples", disable=not progress,
                       leave=True, dynamic_ncols=True)
            for s in range(0, len(x), batch_size):
                idx = order[s:s + batch_size]
                xb, yb = x[idx].astype(dtype, copy=False), y[idx]
                if augment is not None:
                    xb = augment(xb, rng)
                factor = schedule_factor(schedule, step / total)
                if step < warmup_steps:
                    factor *= (step + 1) / warmup_steps
                rate = opt.lr * factor
                logits = net.forward(xb, training=True)
                loss, grad, hits = softmax_cross_entropy(logits, yb, label_smoothing)
                net.backward(grad)
                opt.step([(key, op.params[name], op.grads[name], name in op.decay)
                          for key, op, name in net.parameters()], rate)
                step += 1
                loss_sum += loss * len(idx)
                correct += hits
                seen += len(idx)
                if not math.isfinite(loss):
                    bar.close()
                    raise FloatingPointError(f"the loss is {loss} at epoch {epoch + 1}, step {step}: "
                                             "lower the learning rate")
                bar.update(len(idx))
                bar.set_postfix({"loss": f"{loss_sum / seen:.4f}", "acc": f"{correct / seen:.4f}",
                                 "samples/s": f"{seen / (time.perf_counter() - t0):.0f}"}, refresh=False)
            seconds = time.perf_counter() - t0
            net.push()   # block-circulant layers: packed spectra of the trained vectors
            logs = {"loss": loss_sum / seen, "accuracy": correct / seen, "lr": rate, "seconds": seconds,
                    "samples_per_second": seen / seconds}
            if validation is not None:
                logs["val_accuracy"] = evaluate(model, *validation, dtype=dtype)
                bar.set_postfix({"loss": f"{logs['loss']:.4f}", "acc": f"{logs['accuracy']:.4f}",
                                 "samples/s": f"{logs['samples_per_second']:.0f}",
                                 "val_acc": f"{logs['val_accuracy']:.4f}"})
            bar.close()
            for name, value in logs.items():
                history.setdefault(name, []).append(value)
            if checkpoint is not None:
                save_checkpoint(checkpoint, model, net, opt, rng, epoch + 1, step, history, settings)
            if callback is not None:
                callback(epoch, logs)
    finally:
        net.push()   # the layers hold the trained weights, also after an interruption
    return history

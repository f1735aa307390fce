"""Train a block-circulant CNN on Fashion-MNIST with PyTorch, export it with circnn.

    pip install "circnn[torch]"
    python examples/train_torch.py --epochs 2 --limit 6000          # a quick look (minutes)
    python examples/train_torch.py --epochs 8 --eval-every 100 --blocks dense,4,16,32 \
        --results benchmarks/accuracy.json                          # a benchmarks/README.md row (1 h on 1 busy core)

The network is circnn.torch layers and standard torch modules in one
nn.Sequential: a dense 3x3 convolution for the single input channel, then
3x3 convolutions whose channel matrices are block-circulant (k = --blocks),
each followed by BatchNorm and ReLU, max pools, global average pooling and a
dense classifier.  Training: AdamW with a one-cycle learning rate, label
smoothing, random 2-pixel shifts and left-right flips.  At the end
circnn.from_torch turns the trained module into a circnn.Model (BatchNorm is
folded at export), which is quantized to q15 and run through circnn's C
engine; the model is saved as model.circ and model.h in the --out folder.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

import circnn
from circnn.torch import BlockCirculantConv2d


def conv(cin, cout, k):
    if k is None:
        return nn.Conv2d(cin, cout, 3, padding=1)
    return BlockCirculantConv2d(cin, cout, 3, k, padding=1)


def network(channels=(32, 64, 128, 128), blocks=(None, 8, 16, 32), pools=2, classes=10, dropout=0.0):
    """conv-BN-ReLU for each of `channels` (k from `blocks`, None = dense), a
    2x2 max pool after the first `pools` of them (or, when `pools` is a
    sequence, after the convolutions it numbers from 1), global average
    pooling, dropout when `dropout` > 0 (training only: nothing to export)
    and a dense classifier."""
    after = set(range(1, pools + 1)) if isinstance(pools, int) else set(pools)
    body, cin = [], 1
    for i, (cout, k) in enumerate(zip(channels, blocks)):
        body += [conv(cin, cout, k), nn.BatchNorm2d(cout), nn.ReLU()]
        if i + 1 in after:
            body.append(nn.MaxPool2d(2))
        cin = cout
    head = [nn.Dropout(dropout)] if dropout > 0 else []
    return nn.Sequential(*body, nn.AdaptiveAvgPool2d(1), nn.Flatten(), *head, nn.Linear(cin, classes))


def stored_parameters(net):
    """Values circnn stores after folding BatchNorm: weights and biases of the
    convolutions and linear layers (a block-circulant layer stores p*q*k)."""
    weights = biases = 0
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, BlockCirculantConv2d)):
            weights += m.weight.numel()
            biases += m.bias.numel() if m.bias is not None else 0
    return weights, biases


def shift_flip(x, shift=2, flip=True):
    """Random shifts of up to `shift` pixels (zero fill) and (when `flip`) left-right flips, NCHW batch."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (shift, shift, shift, shift))
    dy = torch.randint(0, 2 * shift + 1, (n,))
    dx = torch.randint(0, 2 * shift + 1, (n,))
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None].expand(n, x.shape[1], h, w + 2 * shift)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :].expand(n, x.shape[1], h, w)
    out = out.gather(3, cols)
    if flip:
        flipped = torch.rand(n) < 0.5
        out[flipped] = out[flipped].flip(3)
    return out


def evaluate(net, x, y, batch=1000):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train(net, x, y, x_test, y_test, epochs, batch_size, lr, weight_decay, seed, log, eval_every=1, history=None,
          label_smoothing=0.1, shift=2, flip=True):
    torch.manual_seed(seed)
    decay = [p for n, p in net.named_parameters() if p.ndim > 1]
    rest = [p for n, p in net.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=lr)
    steps = epochs * (len(x) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    g = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        net.train()
        t0, total, seen = time.perf_counter(), 0.0, 0
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x) - batch_size + 1, batch_size):
            idx = order[i:i + batch_size]
            xb = shift_flip(x[idx], shift, flip)
            loss = loss_fn(net(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        if history is not None:
            history.append(total / seen)
        text = f"epoch {epoch + 1}/{epochs}: loss {total / seen:.4f}, {time.perf_counter() - t0:.0f} s"
        if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
            text += f", test {100 * evaluate(net, x_test, y_test):.2f} %"
        log(text)
    return evaluate(net, x_test, y_test)


def export(net, x_train, x_test, y_test, out, seed, log):
    """circnn.from_torch, float64 and q15 (C engine) accuracy, model.circ and model.h."""
    net.eval()
    model = circnn.from_torch(net, (1, 28, 28))
    float_acc = float(np.mean(model.predict(x_test) == y_test))
    pick = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:512])
    q = model.quantize(x_train[pick])
    q15 = np.argmax(circnn.Engine(q).run(x_test).reshape(len(x_test), -1), axis=1)
    q15_acc = float(np.mean(q15 == y_test))
    os.makedirs(out, exist_ok=True)
    q.save(os.path.join(out, "model.circ"))
    q.write_header(os.path.join(out, "model.h"))
    log(f"circnn model: float64 {100 * float_acc:.2f} %, q15 (C engine) {100 * q15_acc:.2f} %, "
        f"blob {len(q.blob)} bytes -> {out}/model.circ, {out}/model.h")
    return model, q, float_acc, q15_acc


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--channels", default="32,64,128,128")
    p.add_argument("--blocks", default="dense,4,16,32", help="k per convolution, dense for a dense one")
    p.add_argument("--pools", default="2", help="2x2 max pools after the first N convolutions, or after the "
                   "convolutions a comma list numbers from 1 (e.g. 2,3: the first pool after the second conv)")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout before the classifier (0: none)")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--shift", type=int, default=2, help="random shifts of up to N pixels (0: none)")
    p.add_argument("--no-flip", action="store_true", help="no random left-right flips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=1, help="test accuracy every N epochs")
    p.add_argument("--limit", type=int, default=None, help="first N training and test images")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a busy machine)")
    p.add_argument("--out", default="torch-cnn")
    p.add_argument("--checkpoint", help="skip training: load this state_dict and export")
    p.add_argument("--results", help="append a row to this accuracy JSON (benchmarks/accuracy.json)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    def log(text):
        print(text, flush=True)

    channels = tuple(int(c) for c in args.channels.split(","))
    blocks = tuple(None if b == "dense" else int(b) for b in args.blocks.split(","))
    torch.manual_seed(args.seed)
    pools = tuple(int(i) for i in args.pools.split(",")) if "," in args.pools else int(args.pools)
    net = network(channels, blocks, pools, dropout=args.dropout)
    weights, biases = stored_parameters(net)
    log(f"{net}\nstored parameters: {weights} weights + {biases} biases = {weights + biases} "
        f"({2 * (weights + biases)} bytes in q15)")
    (x_train, y_train), (x_test, y_test) = circnn.datasets.fashion_mnist(limit=args.limit)
    tx = torch.from_numpy(np.ascontiguousarray(x_train.transpose(0, 3, 1, 2)))
    ty = torch.from_numpy(y_train.astype(np.int64))
    vx = torch.from_numpy(np.ascontiguousarray(x_test.transpose(0, 3, 1, 2)))
    vy = torch.from_numpy(y_test.astype(np.int64))
    t0, history = time.perf_counter(), []
    if args.checkpoint:
        net.load_state_dict(torch.load(args.checkpoint))
        torch_acc = evaluate(net, vx, vy)
    else:
        torch_acc = train(net, tx, ty, vx, vy, args.epochs, args.batch_size, args.lr, args.weight_decay,
                          args.seed, log, args.eval_every, history,
                          args.label_smoothing, args.shift, not args.no_flip)
        os.makedirs(args.out, exist_ok=True)
        torch.save(net.state_dict(), os.path.join(args.out, "state_dict.pt"))
    seconds = time.perf_counter() - t0
    log(f"torch float32 test accuracy {100 * torch_acc:.2f} %")
    model, q, float_acc, q15_acc = export(net, x_train, x_test, y_test, args.out, args.seed, log)
    if args.results:
        rows = json.load(open(args.results)) if os.path.exists(args.results) else []
        mw = circnn.presets.weight_count(model)
        stored = [layer for layer in model.layers if "bias" in layer.params()]
        dense_weights = sum(layer.dense_parameter_count() - layer.bias.size for layer in stored)
        circ = [layer for layer in stored if hasattr(layer, "spectrum")]
        circ_weights = sum(layer.spectrum.size for layer in circ)
        circ_dense = sum(layer.dense_parameter_count() - layer.bias.size for layer in circ)
        rows.append({"arch": f"torch bc_cnn {args.channels} pools={args.pools}", "blocks": args.blocks,
                     "seed": args.seed, "epochs": args.epochs, "limit": args.limit,
                     "recipe": f"circnn.torch adamw onecycle lr {args.lr:g} wd {args.weight_decay:g} "
                               f"batch {args.batch_size} ls {args.label_smoothing:g} shift{args.shift}"
                               + ("" if args.no_flip else "+flip")
                               + (f" dropout {args.dropout:g}" if args.dropout else ""),
                     "float": float_acc, "q15": q15_acc, "params": model.parameter_count(),
                     "dense_params": model.dense_parameter_count(), "weights": mw,
                     "dense_weights": dense_weights, "circulant_compression": circ_dense / circ_weights,
                     "weight_bytes_q15": 2 * mw, "blob_bytes": len(q.blob),
                     "train_seconds": None if args.checkpoint else seconds,
                     "train_loss": history[-1] if history else None, "train_accuracy": None, "test_samples": len(x_test),
                     "train_samples": len(x_train)})
        with open(args.results, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()

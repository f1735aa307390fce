"""Training speed of block-circulant layers: the FFT path (docs/DESIGN.md's
frequency-domain forward and backward) against the dense-expansion path
(the circulant blocks written out as an explicit matrix) and against a dense
layer of the same shape (numpy matmul).

One step = forward + backward (input and weight gradients) of one layer on a
batch, float32, the median of --repeat timed runs after a warm-up.

    python benchmarks/bench_train.py               # both tables
    python benchmarks/bench_train.py --quick       # fewer shapes and repeats

Table 1: bc_dense against dense at n = 1024 and 4096, k = 16, 64, 256 (issue 4,
item 5).  Table 2: where the dense expansion stops paying, per layer shape
(the CNN presets' convolutions and the MLP's hidden layer), and the path
circnn.train_layers.auto_path picks.  Table 3 (--table frameworks): whole
networks, circnn's numpy trainer (circnn.train.fit) against the same network
in PyTorch with circnn.torch layers (needs torch), samples per second.
"""
import argparse
import os
import platform
import statistics
import time

import numpy as np

from circnn import layers as L
from circnn import train_layers as T


def step_ms(op, x, repeat):
    """Median milliseconds of forward + backward."""
    y = op.forward(x, training=True)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    op.backward(dy)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        op.forward(x, training=True)
        op.backward(dy)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def dense_table(batch, repeat, sizes, blocks):
    rng = np.random.default_rng(0)
    print(f"### bc_dense against dense: n x n layer, batch {batch}, forward + backward, ms per step\n")
    print("|    n |   k | dense (matmul) | bc FFT path | bc dense-expansion path | FFT speed-up over dense |")
    print("|-----:|----:|---------------:|------------:|------------------------:|------------------------:|")
    for n in sizes:
        x = rng.standard_normal((batch, n)).astype(np.float32)
        dense = step_ms(T.make_op(L.Dense(n, n, seed=rng), np.float32), x, repeat)
        for k in blocks:
            layer = L.BlockCirculantDense(n, n, k, seed=rng)
            fft = step_ms(T.make_op(layer, np.float32, "fft"), x, repeat)
            expanded = step_ms(T.make_op(layer, np.float32, "dense"), x, repeat)
            print(f"| {n:4d} | {k:3d} | {dense:14.2f} | {fft:11.2f} | {expanded:23.2f} | {dense / fft:22.1f}x |")
    print()


def crossover_table(batch, repeat, quick):
    rng = np.random.default_rng(0)
    shapes = [  # (name, layer factory taking k, input shape without the batch)
        ("bc_dense 784 -> 1024 (MLP)", lambda k: L.BlockCirculantDense(784, 1024, k, seed=rng), (784,)),
        ("bc_dense 1024 -> 1024 (MLP)", lambda k: L.BlockCirculantDense(1024, 1024, k, seed=rng), (1024,)),
        ("bc_conv2d 16 -> 32, 14x14 (CNN conv2)",
         lambda k: L.BlockCirculantConv2d(16, 32, 3, k, seed=rng), (14, 14, 16)),
        ("bc_conv2d 32 -> 64, 7x7 (CNN conv3)", lambda k: L.BlockCirculantConv2d(32, 64, 3, k, seed=rng), (7, 7, 32)),
        ("bc_conv2d 64 -> 128, 7x7 (wide CNN)",
         lambda k: L.BlockCirculantConv2d(64, 128, 3, k, seed=rng), (7, 7, 64)),
        ("bc_conv2d 128 -> 128, 3x3 (wide CNN)",
         lambda k: L.BlockCirculantConv2d(128, 128, 3, k, seed=rng), (3, 3, 128)),
    ]
    if quick:
        shapes = shapes[1:4]
    print(f"### FFT path against dense expansion, batch {batch}, forward + backward, ms per step\n")
    print("| layer | k | FFT path | dense expansion | faster | auto picks |")
    print("|---|---:|---:|---:|---|---|")
    for name, make, shape in shapes:
        x = rng.standard_normal((batch,) + shape).astype(np.float32)
        channels = shape[-1] if len(shape) == 3 else shape[0]
        for k in (2, 4, 8, 16, 32, 64, 128):
            if k > max(channels, 16) or (quick and k in (2, 128)):
                continue
            layer = make(k)
            fft = step_ms(T.make_op(layer, np.float32, "fft"), x, repeat)
            expanded = step_ms(T.make_op(layer, np.float32, "dense"), x, repeat)
            faster = "FFT" if fft < expanded else "dense"
            print(f"| {name} | {k} | {fft:.2f} | {expanded:.2f} | {faster} ({max(fft, expanded) / min(fft, expanded):.1f}x)"
                  f" | {T.auto_path(layer)} |")
    print()


def torch_twin(arch, k):
    """The preset network (circnn.presets.mlp / cnn at block size k) built from circnn.torch layers."""
    from torch import nn
    from circnn.torch import BlockCirculantConv2d, BlockCirculantLinear
    if arch == "mlp":
        return nn.Sequential(nn.Flatten(), BlockCirculantLinear(784, 1024, k), nn.ReLU(),
                             BlockCirculantLinear(1024, 1024, k), nn.ReLU(), nn.Linear(1024, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         BlockCirculantConv2d(16, 32, 3, k, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         BlockCirculantConv2d(32, 64, 3, k, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(7 * 7 * 64, 10))


def torch_samples_per_second(net, x, y, batch, threads):
    """Adam steps (forward, backward, update) over x, y in batches: samples per second
    of the timed pass after a one-batch warm-up."""
    import torch
    torch.set_num_threads(threads)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y.astype(np.int64))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(i):
        loss = loss_fn(net(xt[i:i + batch]), yt[i:i + batch])
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(0)
    t0 = time.perf_counter()
    for i in range(0, len(x) - batch + 1, batch):
        step(i)
    return (len(x) // batch) * batch / (time.perf_counter() - t0)


def frameworks_table(batch, samples, torch_threads):
    import torch
    from circnn import datasets, presets, train
    (x, y), _ = datasets.fashion_mnist(limit=max(samples.values()) + batch)
    print(f"### circnn's numpy trainer against circnn.torch (torch {torch.__version__}, {torch_threads} thread(s)),"
          f" Adam, batch {batch}, float32, samples per second of training\n")
    print("| network | k | samples | numpy trainer (circnn.train.fit) | circnn.torch | torch / numpy |")
    print("|---|---:|---:|---:|---:|---:|")
    for arch, k in (("mlp", 32), ("cnn", 8)):
        n = samples[arch]
        model = presets.build(arch, k, seed=0)
        train.fit(model, x[:batch], y[:batch], epochs=1, batch_size=batch, progress=False)     # warm-up
        t0 = time.perf_counter()
        train.fit(model, x[:n], y[:n], epochs=1, batch_size=batch, progress=False)
        numpy_rate = n / (time.perf_counter() - t0)
        torch.manual_seed(0)
        torch_rate = torch_samples_per_second(torch_twin(arch, k), x[:n], y[:n], batch, torch_threads)
        print(f"| {arch} ({model.parameter_count():,} parameters) | {k} | {n} | {numpy_rate:,.0f} | "
              f"{torch_rate:,.0f} | {torch_rate / numpy_rate:.1f}x |", flush=True)
    print()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="fewer shapes, 3 repeats")
    p.add_argument("--table", choices=("dense", "crossover", "both", "frameworks"), default="both")
    p.add_argument("--torch-threads", type=int, default=1, help="frameworks table: torch.set_num_threads")
    p.add_argument("--samples", type=int, default=4096, help="frameworks table: training images timed")
    args = p.parse_args()
    repeat = 3 if args.quick else args.repeat
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"pyfftw {'yes' if T.pyfftw is not None else 'no (numpy.fft)'}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"CIRCNN_FFT_THREADS={T._THREADS}\n")
    if args.table in ("dense", "both"):
        dense_table(args.batch, repeat, (1024, 4096), (16, 64, 256))
    if args.table in ("crossover", "both"):
        crossover_table(args.batch, repeat, args.quick)
    if args.table == "frameworks":
        frameworks_table(args.batch, {"mlp": args.samples, "cnn": args.samples}, args.torch_threads)


if __name__ == "__main__":
    main()

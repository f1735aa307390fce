#!/usr/bin/env python3
"""Host benchmark of the f32 block-circulant dense layer.

Run from the repository root, with circnn installed:

    python benchmarks/bench_host.py            # full run
    python benchmarks/bench_host.py --quick    # fewer repetitions

For batch 1 and 64, m = n in {1024, 4096} and k in {16, 64, 256}, it times,
side by side:
  (a) call   circnn_bc_dense_f32 called from Python through cffi, with the
             weights prepared once (one C call per batch row, the layer's
             contract), so the layer is measured, not the setup;
  (b) dense  numpy W @ x with the explicit dense float32 matrix;
  (c) fftw   the same block-circulant layer in numpy: rfft of the q input
             blocks (pyfftw builders, FFTW_MEASURE; numpy.fft if pyfftw is
             missing), einsum of the spectra, irfft;
  (c') mm    the same as (c) with the einsum written as one batched matmul
             over the frequencies (a faster numpy formulation, for reference);
  (d) C      the C kernel's own time, without Python, from the timing program
             benchmarks/bench_host_c.c (built here with meson into build/bench).
Everything runs single-threaded (the BLAS and FFTW thread counts are set to
one).  Times are the CPU time of the thread (so that time-sharing on a
loaded machine does not count; --wall for wall-clock time), medians of
repeated samples, in microseconds for the whole batch; (d), (a), (b), (c) and (c') are sampled in turn so that they see the
same machine load; the ratios are the medians over the rounds of each
round's ratio.  dense/call, fftw/call and mm/call compare the C layer with
numpy at equal footing (both called from Python); call/C is the Python
overhead.
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import time

# One thread everywhere: set before numpy loads its BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = (1024, 4096)
BLOCKS = (16, 64, 256)
BATCHES = (1, 64)


# ---------------------------------------------------------------------------
# The C timing program

def c_program(build_dir):
    """Path of bench_host_c, configured and (re)built with meson in build_dir."""
    meson = shutil.which("meson")
    if meson is None:
        sys.exit("bench_host.py: meson is needed to build benchmarks/bench_host_c.c "
                 "(pip install meson ninja)")
    if not os.path.isfile(os.path.join(build_dir, "build.ninja")):
        subprocess.run([meson, "setup", build_dir, "--buildtype=release", "-Dpython=disabled",
                        "-Dtests=false"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([meson, "compile", "-C", build_dir, "bench_host_c"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    exe = os.path.join(build_dir, "benchmarks", "bench_host_c")
    if not os.path.isfile(exe):
        sys.exit(f"bench_host.py: {exe} was not built")
    return exe


def run_c(exe, configs, reps, wall=False):
    """{(m, n, k, batch): median us} from one run of the C program."""
    args = [exe] + (["-w"] if wall else []) + [str(reps)]
    for m, n, k, batch in configs:
        args += [str(m), str(n), str(k), str(batch)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    times = {}
    for line in out.splitlines():
        f = line.split()
        times[tuple(int(v) for v in f[:4])] = float(f[4])
    return times


# ---------------------------------------------------------------------------
# The Python side

def make_fft(shape_in, k, inverse):
    """Planned real FFT along the last axis: returns (input array, call)."""
    try:
        import pyfftw
    except ImportError:
        pyfftw = None
    if pyfftw is None:
        if inverse:
            buf = np.zeros(shape_in, dtype=np.complex64)
            return buf, lambda: np.fft.irfft(buf, n=k, axis=-1)
        buf = np.zeros(shape_in, dtype=np.float32)
        return buf, lambda: np.fft.rfft(buf, axis=-1)
    dtype = "complex64" if inverse else "float32"
    buf = pyfftw.empty_aligned(shape_in, dtype=dtype)
    buf[...] = 0
    builder = pyfftw.builders.irfft if inverse else pyfftw.builders.rfft
    kwargs = {"n": k} if inverse else {}
    plan = builder(buf, axis=-1, planner_effort="FFTW_MEASURE", threads=1,
                   overwrite_input=inverse, **kwargs)
    return plan.input_array, plan


def fft_backend():
    try:
        import pyfftw
        return f"pyfftw {pyfftw.__version__} (FFTW_MEASURE)"
    except ImportError:
        return "numpy.fft (pyfftw is not installed)"


class Case:
    """One layer shape and batch, with everything prepared for timing."""

    def __init__(self, m, n, k, batch, rng):
        from circnn import circulant
        from circnn._native import ffi, lib
        self.m, self.n, self.k, self.batch = m, n, k, batch
        p, q = circulant.blocks(m, k), circulant.blocks(n, k)
        self.p, self.q = p, q
        w = rng.standard_normal((p, q, k)) / np.sqrt(n)
        self.x = rng.standard_normal((batch, n)).astype(np.float32)

        # (a) the C layer: packed weights and scratch prepared once.
        self.ffi, self.lib = ffi, lib
        self.float_array = ffi.typeof("float[]")
        self.layer_fn = lib.circnn_bc_dense_f32
        self.weight = np.ascontiguousarray(circulant.to_spectrum(w), dtype=np.float32)
        self.layer = ffi.new("circnn_bc_dense_f32_t *")
        self.layer.in_features, self.layer.out_features, self.layer.block_size = n, m, k
        self.layer.relu = 0
        self.layer.weight = ffi.from_buffer("float[]", self.weight)
        self.layer.bias = ffi.NULL
        nbytes = lib.circnn_bc_dense_f32_scratch_bytes(n, m, k)
        self.scratch = np.zeros(max(1, -(-nbytes // 8)), dtype=np.int64)
        self.scratch_ptr = ffi.from_buffer("char[]", self.scratch)
        self.y = np.empty((batch, m), dtype=np.float32)

        # (b) dense: W (m x n) float32; x as columns.
        self.dense = np.ascontiguousarray(circulant.dense_matrix(w, m, n), dtype=np.float32)
        self.x_cols = np.ascontiguousarray(self.x.T) if batch > 1 else self.x[0].copy()

        # (c) FFT implementation: spectra of the weights once, planned transforms.
        ws = np.fft.rfft(w, axis=-1)
        self.w_spec = ws.astype(np.complex64)                                  # (p, q, f)
        self.w_spec_fpq = np.ascontiguousarray(ws.transpose(2, 0, 1)).astype(np.complex64)
        self.fwd_in, self.fwd = make_fft((batch, q, k), k, inverse=False)
        self.inv_in, self.inv = make_fft((batch, p, k // 2 + 1), k, inverse=True)
        self.x_pad = np.zeros((batch, q * k), dtype=np.float32)
        self.reference = circulant.matvec(w, self.x.astype(np.float64), m)        # float64

    def call(self):
        """(a) the C layer from Python, one call per batch row: pointers to
        the input and output arrays taken on each call, as a caller would."""
        ffi, floats, layer_fn = self.ffi, self.float_array, self.layer_fn
        xp = ffi.from_buffer(floats, self.x)
        yp = ffi.from_buffer(floats, self.y)
        n, m = self.n, self.m
        for b in range(self.batch):
            layer_fn(self.layer, xp + b * n, yp + b * m, self.scratch_ptr)
        return self.y

    def dense_mv(self):
        """(b) numpy dense W @ x."""
        return self.dense @ self.x_cols

    def _spectra(self):
        self.fwd_in[...] = self.x.reshape(self.batch, self.q, self.k) if self.q * self.k == self.n \
            else self._padded()
        return self.fwd()                                                      # (B, q, f)

    def _padded(self):
        self.x_pad[:, :self.n] = self.x
        return self.x_pad.reshape(self.batch, self.q, self.k)

    def _finish(self, ys):
        self.inv_in[...] = ys
        return self.inv().reshape(self.batch, self.p * self.k)[:, :self.m]

    def fftw_einsum(self):
        """(c) rfft of the input blocks, einsum of the spectra, irfft."""
        xs = self._spectra()
        return self._finish(np.einsum("pqf,bqf->bpf", self.w_spec, xs))

    def fftw_matmul(self):
        """(c') the same with the einsum as one batched matmul over f."""
        xs = self._spectra()                                                   # (B, q, f)
        ys = np.matmul(self.w_spec_fpq, xs.transpose(2, 1, 0))                 # (f, p, B)
        return self._finish(ys.transpose(2, 1, 0))

    def check(self):
        """Largest error of each implementation relative to the float64 result."""
        ref = self.reference
        scale = np.abs(ref).max()
        dense = self.dense_mv()
        dense = dense.T if self.batch > 1 else dense[None, :]
        return {name: float(np.abs(np.asarray(got, dtype=np.float64) - ref).max() / scale)
                for name, got in (("call", self.call()), ("dense", dense),
                                  ("fftw", self.fftw_einsum()), ("mm", self.fftw_matmul()))}


def loops_for(fn, min_seconds, clock):
    """Number of calls of fn that last about min_seconds (at least one)."""
    fn()
    t0 = clock()
    fn()
    dt = clock() - t0
    return max(1, int(min_seconds / max(dt, 1e-9)) + 1)


def time_case(case, exe, reps, min_seconds, wall=False):
    """Times (us) of (d), (a), (b), (c), (c') in `reps` rounds: each round runs
    the C program once (the median of 3 of its own samples), then times each
    Python implementation once, so that all five see the same machine load.
    Returns the median time of each and the median over the rounds of each
    round's ratios (robust to a load that changes between rounds)."""
    fns = {"call": case.call, "dense": case.dense_mv, "fftw": case.fftw_einsum,
           "mm": case.fftw_matmul}
    clock = time.perf_counter if wall else time.thread_time
    loops = {name: loops_for(fn, min_seconds, clock) for name, fn in fns.items()}
    key = (case.m, case.n, case.k, case.batch)
    rounds = []
    for _ in range(reps):
        t = {"C": run_c(exe, [key], 3, wall)[key]}
        for name, fn in fns.items():
            t0 = clock()
            for _ in range(loops[name]):
                fn()
            t[name] = (clock() - t0) / loops[name] * 1e6
        rounds.append(t)
    times = {name: float(np.median([r[name] for r in rounds])) for name in rounds[0]}
    ratios = {f"{a}/{b}": float(np.median([r[a] / r[b] for r in rounds]))
              for a, b in (("dense", "call"), ("fftw", "call"), ("mm", "call"), ("call", "C"))}
    return times, ratios


# ---------------------------------------------------------------------------

def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (about a minute)")
    ap.add_argument("--reps", type=int, default=None, help="samples per measurement (default 15, quick 5)")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)),
                    help="comma-separated m = n values (default %(default)s)")
    ap.add_argument("--blocks", default=",".join(map(str, BLOCKS)),
                    help="comma-separated block sizes k (default %(default)s)")
    ap.add_argument("--batches", default=",".join(map(str, BATCHES)),
                    help="comma-separated batch sizes (default %(default)s)")
    ap.add_argument("--wall", action="store_true",
                    help="wall-clock times instead of the thread's CPU time")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "bench"),
                    help="meson build folder for the C timing program (default build/bench)")
    args = ap.parse_args()
    reps = args.reps or (5 if args.quick else 15)
    min_seconds = 0.002 if args.quick else 0.01

    exe = c_program(args.build_dir)
    import circnn
    rng = np.random.default_rng(2024)

    def ints(text):
        return [int(v) for v in text.split(",") if v.strip()]

    configs = [(s, s, k, b) for b in ints(args.batches) for s in ints(args.sizes)
               for k in ints(args.blocks)]
    print(f"circnn {circnn.__version__}, numpy {np.__version__}, {fft_backend()}")
    print(f"{cpu_name()}, {platform.system()} {platform.machine()}, Python {platform.python_version()}, "
          f"single thread, medians of {reps} samples, "
          f"{'wall-clock time' if args.wall else 'CPU time of the thread'}")
    print("times in us for the whole batch (medians); ratios: medians over the rounds of each round's ratio,")
    print("against the C layer called from Python (call); C is the kernel's own time (bench_host_c)")
    print()
    head = (f"{'batch':>5} {'m=n':>5} {'k':>4} | {'C':>9} {'call':>9} {'dense':>9} {'fftw':>9} {'mm':>9} | "
            f"{'dense/call':>10} {'fftw/call':>9} {'mm/call':>7} {'call/C':>6}")
    print(head)
    print("-" * len(head))
    worst = {}
    for m, n, k, batch in configs:
        case = Case(m, n, k, batch, rng)
        for name, err in case.check().items():
            worst[name] = max(worst.get(name, 0.0), err)
        t, r = time_case(case, exe, reps, min_seconds, args.wall)
        print(f"{batch:>5} {n:>5} {k:>4} | {t['C']:>9.1f} {t['call']:>9.1f} {t['dense']:>9.1f} "
              f"{t['fftw']:>9.1f} {t['mm']:>9.1f} | {r['dense/call']:>10.1f} "
              f"{r['fftw/call']:>9.1f} {r['mm/call']:>7.1f} {r['call/C']:>6.2f}", flush=True)
        del case
    print()
    print("largest error against float64 (relative to max |y|): " +
          ", ".join(f"{name} {err:.1e}" for name, err in worst.items()))


if __name__ == "__main__":
    main()

"""Seconds per epoch at batch size 10: minidl against the same model in PyTorch (CPU).

    python benchmarks/bench_hw7.py                       # 2(a) and 3(a), 3 epochs each, 1 thread
    python benchmarks/bench_hw7.py --epochs 5 --threads 2
    python benchmarks/bench_hw7.py --configs configs/hw7/2a_sgd.yaml

For each training config (default: Problem 2(a), MLP [784, 30, 10], and
Problem 3(a), eight sigmoid hidden layers of 30) it trains --epochs full
epochs over the 60,000 MNIST training images in each framework and reports
the median wall-clock and CPU seconds per epoch, and the ratio torch / minidl
(above 1: minidl is faster).  One epoch is 6,000 steps of: gather a shuffled
batch of 10, forward, softmax cross-entropy, backward, SGD step (Nesterov
momentum 0.8, weight decay 1e-5, on the biases too when the config sets
Train.decay_biases, as the HW7 configs do, in both).

The torch loop is the fastest idiomatic one: the whole dataset is one tensor
and each batch is a single fancy index (a ``DataLoader`` would only add
per-batch overhead).  NumPy's BLAS and torch use the same number of threads
(--threads, default 1), set before either library loads.  At batch size 10
the matrices are tiny, so the time is per-step overhead in both frameworks,
not arithmetic.  torch is optional: without it only minidl is timed.  The
MNIST files come from $MINIDL_DATA, else ../shared/data/mnist.  Nothing here
asserts on speed: the machine is shared; read the table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIGS = ("configs/hw7/2a_sgd.yaml", "configs/hw7/3a_deep_sigmoid.yaml")
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS), help="training configs to time")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per framework; the median is shown")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads for both (default 1)")
    args = parser.parse_args()
    if args.epochs < 1 or args.threads < 1:
        parser.error("--epochs and --threads must be at least 1")
    return args


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:                           # before NumPy loads: pin its BLAS threads
    os.environ.update({k: str(ARGS.threads) for k in THREAD_VARS})

import numpy as np  # noqa: E402

sys.path.insert(0, str(REPO))      # run from anywhere without installing minidl

from minidl.runs.config import apply_overrides, load_yaml  # noqa: E402
from minidl.data import load_mnist  # noqa: E402
from minidl.losses import SoftmaxCrossEntropy  # noqa: E402
from minidl.runs.job_config import build_model, build_optimizer, resolve  # noqa: E402
from minidl.training import Trainer  # noqa: E402


def data_dir() -> Path:
    folder = Path(os.environ.get("MINIDL_DATA") or REPO.parent / "shared" / "data" / "mnist")
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        sys.exit(f"bench_hw7: MNIST files not found in {folder}; set MINIDL_DATA")
    return folder


def time_epochs(run_epoch, epochs: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``epochs`` calls of ``run_epoch()``."""
    wall, cpu = [], []
    for _ in range(epochs):
        w0, c0 = time.perf_counter(), time.process_time()
        run_epoch()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def minidl_epoch(cfg: dict, X: np.ndarray, y: np.ndarray):
    seeds = np.random.SeedSequence(cfg["Train"]["seed"]).spawn(2)
    model = build_model(cfg, np.random.default_rng(seeds[0]))
    trainer = Trainer(model, SoftmaxCrossEntropy(), build_optimizer(cfg, model.parameters()),
                      batch_size=cfg["Train"]["batch_size"], rng=np.random.default_rng(seeds[1]))
    return lambda: trainer.fit(X, y, epochs=1)


def torch_epoch(cfg: dict, X: np.ndarray, y: np.ndarray, threads: int):
    """The same network, init, loss and optimizer in PyTorch; returns a one-epoch callable."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(cfg["Train"]["seed"])
    m, t = cfg["Model"], cfg["Train"]
    act = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[m["activation"]]
    layers = []
    for i, (d_in, d_out) in enumerate(zip(m["sizes"][:-1], m["sizes"][1:])):
        linear = torch.nn.Linear(d_in, d_out)
        torch.nn.init.xavier_normal_(linear.weight)
        torch.nn.init.zeros_(linear.bias)
        layers += [linear] + ([act()] if i < len(m["sizes"]) - 2 else [])
    model = torch.nn.Sequential(*layers)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    bias_decay = t["reg"] if t["decay_biases"] else 0.0
    opt = torch.optim.SGD([{"params": weights, "weight_decay": t["reg"]}, {"params": biases, "weight_decay": bias_decay}],
                          lr=t["learning_rate"], momentum=t["momentum"], nesterov=t["nesterov"])
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    bs, n = t["batch_size"], len(X)

    def epoch():
        order = torch.randperm(n)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            loss = loss_fn(model(Xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return epoch


def main(args: argparse.Namespace) -> int:
    X, y = load_mnist("train", data_dir())
    X = np.ascontiguousarray(X, dtype=np.float32)
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    print(f"{len(X):,} images, batch size from each config, median of {args.epochs} epochs, "
          f"{args.threads} thread(s) for NumPy and torch; numpy {np.__version__}, "
          f"torch {torch_version or 'not installed'}")
    header = f"{'config':<28} {'minidl s/epoch':>15} {'torch s/epoch':>14} {'torch/minidl':>13}   (CPU s/epoch)"
    print(header)
    print("-" * len(header))
    for path in args.configs:
        cfg = resolve(apply_overrides(load_yaml(path), []), where=path)
        if cfg["Model"]["type"] != "MLP" or cfg["Train"]["optimizer"] != "sgd":
            sys.exit(f"bench_hw7: {path}: only MLP configs trained with sgd are mirrored in torch")
        ours = time_epochs(minidl_epoch(cfg, X, y), args.epochs)
        line = f"{Path(path).stem:<28} {ours[0]:>15.2f}"
        if torch_version is None:
            print(f"{line} {'-':>14} {'-':>13}   (minidl {ours[1]:.2f})")
            continue
        theirs = time_epochs(torch_epoch(cfg, X, y, args.threads), args.epochs)
        print(f"{line} {theirs[0]:>14.2f} {theirs[0] / ours[0]:>12.2f}x   "
              f"(minidl {ours[1]:.2f}, torch {theirs[1]:.2f}: {theirs[1] / ours[1]:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))

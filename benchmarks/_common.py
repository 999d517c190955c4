"""What the training benchmarks share: thread settings, the configs, the data, FLOP counts.

``set_threads`` must run before NumPy (or torch) is imported: OpenBLAS, MKL and
OpenMP read their thread counts once, when the library loads.  That is why
``bench_train.py`` runs every implementation in its own worker process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
N_EXAMPLES = 60000


def set_threads(n: int) -> None:
    """Pin every BLAS / OpenMP library to ``n`` threads.  Call before importing numpy."""
    if "numpy" in sys.modules:
        raise RuntimeError("set_threads must run before numpy is imported")
    for var in THREAD_VARS:
        os.environ[var] = str(n)


@dataclass(frozen=True)
class Config:
    """One benchmark network: ``sizes`` of an MLP, its activation, the batch size, the optimizer.

    ``task``: 'mnist' (softmax cross-entropy on the 60,000 training images) or 'sinc'
    (the MLDS function fit: MSE on ``SINC_POINTS`` points of sin(5 pi x) / (5 pi x),
    full batch; there a round of n "examples" is n / 10 steps, so an "epoch" is 6,000 steps).
    """
    name: str
    sizes: tuple[int, ...]
    activation: str
    batch_size: int
    optimizer: str = "sgd"           # 'sgd' (lr 0.1) or 'adam' (lr 1e-3)
    task: str = "mnist"

    @property
    def lr(self) -> float:
        return 0.1 if self.optimizer == "sgd" else 1e-3

    def steps(self, n: int) -> int:
        """Training steps in a round of ``n`` examples."""
        return n // 10 if self.task == "sinc" else -(-n // self.batch_size)

    def describe(self) -> str:
        hidden = self.sizes[1:-1]
        if len(hidden) > 2 and len(set(hidden)) == 1:
            middle = f"({hidden[0]}x{len(hidden)})"
        else:
            middle = "-".join(map(str, hidden))
        batch = "full batch" if self.task == "sinc" else f"batch {self.batch_size}"
        extra = ", Adam" if self.optimizer == "adam" else ""
        return f"{self.sizes[0]}-{middle}-{self.sizes[-1]} {self.activation}, {batch}{extra}"

    def epoch_flops(self, n: int = N_EXAMPLES) -> float:
        """Matrix-multiply FLOPs of one epoch of training over ``n`` examples.

        Each Linear(d_in -> d_out) costs 2 n d_in d_out for ``x @ W``, the same
        again for ``dW = x.T @ dout``, and again for ``dx = dout @ W.T`` - except
        the first layer, whose dx nobody needs.  Element-wise work is ignored:
        this is the floor that a perfect BLAS at its measured peak would reach.
        """
        total = 0.0
        rows = self.steps(n) * self.batch_size if self.task == "sinc" else n
        for i, (d_in, d_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            total += (2 if i == 0 else 3) * 2.0 * rows * d_in * d_out
        return total


@dataclass(frozen=True)
class CnnConfig:
    """The CNN of issue 17: conv 5x5 (1 -> 16, padding 2), ReLU, max-pool 2, conv 5x5 (16 -> 32), ReLU,
    max-pool 2, Flatten, Linear(32*5*5 -> 10); batch 64, SGD with momentum 0.9."""
    name: str = "CNN"
    batch_size: int = 64
    task: str = "mnist"
    momentum: float = 0.9
    # (in channels, out channels, kernel, output side) of the two convolutions, and the Linear
    convs: tuple = ((1, 16, 5, 28), (16, 32, 5, 10))
    linear: tuple = (32 * 5 * 5, 10)

    def describe(self) -> str:
        return f"CNN conv16-conv32 5x5, batch {self.batch_size}"

    def epoch_flops(self, n: int = N_EXAMPLES) -> float:
        """Matrix-multiply FLOPs of an epoch: each convolution is a matmul of its im2col
        columns (forward, dW, and dx except for the first), then the Linear layer."""
        total = 0.0
        for i, (c_in, c_out, k, side) in enumerate(self.convs):
            total += (2 if i == 0 else 3) * 2.0 * n * side * side * c_in * k * k * c_out
        return total + 3 * 2.0 * n * self.linear[0] * self.linear[1]


SINC_POINTS = 2000

CONFIGS = {
    "A": Config("A", (784, 128, 10), "sigmoid", 64),
    "A-adam": Config("A-adam", (784, 128, 10), "sigmoid", 64, "adam"),
    "B": Config("B", (784, 30, 10), "sigmoid", 10),
    "B-adam": Config("B-adam", (784, 30, 10), "sigmoid", 10, "adam"),
    "C": Config("C", (784,) + (30,) * 8 + (10,), "sigmoid", 10),
    "D": Config("D", (784, 512, 256, 10), "relu", 256),
    "F": Config("F", (1, 5, 10, 10, 10, 10, 10, 5, 1), "tanh", SINC_POINTS, "adam", "sinc"),
    "CNN": CnnConfig(),
}


def sinc_data(dtype):
    """The MLDS fit's data: x evenly on [-1, 1], y = sin(5 pi x) / (5 pi x); each (SINC_POINTS, 1)."""
    import numpy as np
    x = np.linspace(-1.0, 1.0, SINC_POINTS).reshape(-1, 1)
    return x.astype(dtype), np.sinc(5 * x).astype(dtype), "the MLDS sinc fit (generated)"


def find_mnist() -> Path | None:
    """$MINIDL_DATA or ../shared/data/mnist, whichever holds the training IDX files."""
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    for candidate in (os.environ.get("MINIDL_DATA"), REPO.parent / "shared" / "data" / "mnist"):
        if candidate and all((Path(candidate) / name).is_file() for name in names):
            return Path(candidate)
    return None


def load_data(dtype):
    """The 60,000 MNIST training images as ``(X (60000, 784) dtype, y (60000,) int64, source)``.

    Without the real files, synthetic data of the same shape and range:
    speed does not depend on the pixel values (no data-dependent branches).
    """
    import numpy as np
    folder = find_mnist()
    if folder is not None:
        sys.path.insert(0, str(REPO))
        from minidl.data import load_mnist
        X, y = load_mnist("train", folder)
        source = f"real MNIST ({folder})"
    else:
        rng = np.random.default_rng(0)
        X = rng.integers(0, 256, size=(N_EXAMPLES, 784)).astype(np.float32) / np.float32(255)
        y = rng.integers(0, 10, size=N_EXAMPLES)
        source = "synthetic (MNIST not found; same shape, uniform pixels)"
    return np.ascontiguousarray(X, dtype=dtype), y.astype(np.int64), source


def torch_epoch(torch, model, opt, batch_size: int, shape=None):
    """``epoch(X, y, rng)`` for a PyTorch ``model``: one shuffled epoch with ``opt`` and cross-entropy,
    the fastest idiomatic loop (the whole set one tensor, each batch one fancy index).  ``shape``
    views each row as an image, e.g. (1, 28, 28).  Returns the epoch's mean loss and accuracy."""
    cross_entropy = torch.nn.functional.cross_entropy
    tensors = {}

    def epoch(X, y, rng):
        if tensors.get("n") != len(X):                   # torch.from_numpy shares memory: no copy
            Xt = torch.from_numpy(X)
            tensors.update(n=len(X), X=Xt.view(-1, *shape) if shape else Xt, y=torch.from_numpy(y))
        Xt, yt = tensors["X"], tensors["y"]
        order = torch.from_numpy(rng.permutation(len(X)))
        total, correct = 0.0, 0
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = Xt[idx], yt[idx]
            out = model(xb)
            loss = cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            correct += int((out.argmax(dim=1) == yb).sum())
        return {"loss": total / len(X), "acc": correct / len(X)}
    return epoch


def torch_full_batch(torch, model, opt):
    """``epoch(X, y, steps)``: ``steps`` full-batch steps of ``opt`` on the MSE, as the MLDS fit runs."""
    mse = torch.nn.functional.mse_loss

    def epoch(X, y, steps):
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        for _ in range(steps):
            loss = mse(model(Xt), yt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return {"loss": loss.item(), "acc": 0.0}
    return epoch


# ---- worker processes: each implementation in its own process, its threads set before it loads --------

def serve(name: str, threads: int, make_worker, answer) -> None:
    """The worker side of a benchmark: set the threads, build ``make_worker()`` (an ImportError is sent
    back as the worker's error), send ``{"ready": worker.info}``, then answer each JSON command on
    stdin with ``answer(worker, command)``, one JSON line each, until stdin closes."""
    set_threads(threads)                 # before numpy / torch load their thread pools
    try:
        worker = make_worker()
    except ImportError as exc:
        print(json.dumps({"error": f"{name} unavailable: {exc}"}), flush=True)
        return
    print(json.dumps({"ready": worker.info}), flush=True)
    for line in sys.stdin:
        print(json.dumps(answer(worker, json.loads(line))), flush=True)


class Client:
    """The parent's side: runs ``script --worker NAME --threads T *extra`` and talks to it in JSON lines.
    ``error`` is set (and the process gone) when the worker could not start."""

    def __init__(self, script, name: str, threads: int, *extra: str):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, str(script), "--worker", name, "--threads", str(threads), *extra],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = json.loads(self.proc.stdout.readline() or '{"error": "worker died"}')
        self.error, self.info = first.get("error"), first.get("ready", {})
        if self.error:
            self.close()

    def ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker exited unexpectedly")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()

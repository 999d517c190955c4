"""What the training benchmarks share: thread settings, the configs, the data, FLOP counts.

``set_threads`` must run before NumPy (or torch) is imported: OpenBLAS, MKL and
OpenMP read their thread counts once, when the library loads.  That is why
``bench_train.py`` runs every implementation in its own worker process.
"""
from __future__ import annotations

import os
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
    """One benchmark network: ``sizes`` of an MLP, its activation, the batch size."""
    name: str
    sizes: tuple[int, ...]
    activation: str
    batch_size: int

    def describe(self) -> str:
        hidden = self.sizes[1:-1]
        if len(hidden) > 2 and len(set(hidden)) == 1:
            middle = f"({hidden[0]}x{len(hidden)})"
        else:
            middle = "-".join(map(str, hidden))
        return f"{self.sizes[0]}-{middle}-{self.sizes[-1]} {self.activation}, batch {self.batch_size}"

    def epoch_flops(self, n: int = N_EXAMPLES) -> float:
        """Matrix-multiply FLOPs of one epoch of training over ``n`` examples.

        Each Linear(d_in -> d_out) costs 2 n d_in d_out for ``x @ W``, the same
        again for ``dW = x.T @ dout``, and again for ``dx = dout @ W.T`` - except
        the first layer, whose dx nobody needs.  Element-wise work is ignored:
        this is the floor that a perfect BLAS at its measured peak would reach.
        """
        total = 0.0
        for i, (d_in, d_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            total += (2 if i == 0 else 3) * 2.0 * n * d_in * d_out
        return total


@dataclass(frozen=True)
class CnnConfig:
    """The CNN of issue 17: conv 5x5 (1 -> 16, padding 2), ReLU, max-pool 2, conv 5x5 (16 -> 32), ReLU,
    max-pool 2, Flatten, Linear(32*5*5 -> 10); batch 64, SGD with momentum 0.9."""
    name: str = "CNN"
    batch_size: int = 64
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


CONFIGS = {
    "A": Config("A", (784, 128, 10), "sigmoid", 64),
    "B": Config("B", (784, 30, 10), "sigmoid", 10),
    "C": Config("C", (784,) + (30,) * 8 + (10,), "sigmoid", 10),
    "D": Config("D", (784, 512, 256, 10), "relu", 256),
    "CNN": CnnConfig(),
}


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

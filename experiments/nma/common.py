"""Shared setup of the Neuromatch Academy optimization studies (DL W1D5, Tutorial 1).

Every ``experiments/nma_*.py`` study uses the tutorial's common setup:

- MNIST pixels in [0, 1], then normalised with the *training set's* mean and
  standard deviation (one scalar each, over all pixels: 0.1307 and 0.3081);
- the model ``MLP(784, hidden_dims, 10)``: Linear layers with ReLU between them,
  then a log-softmax, trained with the negative log-likelihood (``NLLLoss``).
  ``LogSoftmax`` + ``NLLLoss`` is exactly ``SoftmaxCrossEntropy``; we keep the
  tutorial's split so the model outputs log-probabilities as its ``nn.Module`` does;
- PyTorch's default ``nn.Linear`` initialisation: weights U(+-1/sqrt(fan_in))
  (kaiming_uniform with a = sqrt(5)) and biases U(+-1/sqrt(fan_in)).  minidl's
  Linear starts biases at 0, so ``build_model`` redraws them;
- seed 2021; most sections train on a *working set* of 500 training images
  drawn at random **with replacement** (so it holds a few duplicates).

Each study has one YAML config with the sections ``Data``, ``Study`` (the
study's own keys) and ``Output``; ``start_run`` parses the command line,
applies ``--set`` overrides, validates everything before any work starts and
creates the run folder.
"""
from __future__ import annotations

import os

import sys

# One BLAS thread.  On this shared 2-core machine (load average 10-20) a 2-thread OpenBLAS spends
# most of its time waiting for a core: a 20-example step took 67 ms instead of 1 ms.  This only
# works if it runs before NumPy is first imported, so every nma_* module imports this module
# before NumPy; an explicit OPENBLAS_NUM_THREADS in the environment wins.  When NumPy is already
# loaded (e.g. under pytest) it would change nothing here, so the environment is left alone.
if "numpy" not in sys.modules:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from minidl.runs.cli import OUTPUT_SCHEMA  # noqa: E402
from minidl.runs.config import ConfigError, Key, apply_overrides, load_yaml, positive_int, validate  # noqa: E402
from minidl.layers import Linear, LogSoftmax, Sequential  # noqa: E402
from minidl.models import MLP  # noqa: E402
from minidl.runs.folder import create_run_dir, write_config  # noqa: E402

__all__ = ["SEED", "DATA_SCHEMA", "OUTPUT_SCHEMA", "hidden_dims", "load_normalized_mnist", "working_set",
           "build_model", "perturb", "num_parameters", "full_batch_steps", "optimizer_specs",
           "make_optimizer", "start_run", "cli"]

SEED = 2021

# Kaiming-uniform with a = sqrt(5) (leaky-ReLU gain sqrt(2 / (1 + a^2)) = sqrt(1/3)) has the bound
# sqrt(1/3) * sqrt(3 / fan_in) = 1 / sqrt(fan_in): PyTorch's default nn.Linear weight init.
TORCH_LINEAR_INIT = {"name": "kaiming_uniform", "a": math.sqrt(5.0)}


def hidden_dims(value) -> str | None:
    """Config check: a list of positive layer widths (may be empty: a linear model)."""
    ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    return None if ok else "a list of positive integers, e.g. [100, 100] ([] for a linear model)"


DATA_SCHEMA = {
    "dir": Key(str, None, doc="MNIST folder; null: $MINIDL_DATA, else data/"),
    "working_set": Key(int, 500, positive_int, doc="training images drawn with replacement"),
    "seed": Key(int, SEED, doc="seed of the working set, the initialisation and the batches"),
}


# ---------------------------------------------------------------------------
# data and model
# ---------------------------------------------------------------------------

def load_normalized_mnist(data_dir=None, splits=("train",)) -> dict:
    """MNIST normalised with the training set's pixel mean and standard deviation.

    Returns ``{split: (X (N, 784) float32, y (N,) int64)}`` for each requested split,
    plus ``"stats": (mean, std)`` (floats, computed on the 60,000 training images).
    The arrays are cached per data folder and shared between calls: treat them as read-only.
    """
    cached = _normalized_mnist(None if data_dir is None else str(data_dir))
    return {"stats": cached["stats"], **{split: cached[split] for split in splits}}


@functools.lru_cache(maxsize=1)
def _normalized_mnist(data_dir) -> dict:
    from minidl.data import load_mnist
    X, y = load_mnist("train", data_dir)
    mean, std = float(X.mean(dtype=np.float64)), float(X.std(dtype=np.float64))
    out = {"stats": (mean, std)}
    for split in ("train", "test"):
        Xs, ys = (X, y) if split == "train" else load_mnist(split, data_dir)
        Xs = (Xs - np.float32(mean)) / np.float32(std)      # a new float32 array
        Xs.flags.writeable = False
        out[split] = (Xs, ys)
    return out


def working_set(X: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator):
    """``n`` examples drawn uniformly **with replacement** (the tutorial's ``np.random.choice``).

    X: (N, D), y: (N,)  ->  (n, D), (n,) copies, and the (n,) indices used.
    """
    idx = rng.choice(len(X), size=n, replace=True)
    return X[idx], y[idx], idx


def build_model(hidden, rng: np.random.Generator, dtype=np.float32) -> Sequential:
    """The tutorial's ``MLP(784, hidden, 10)``: Linear/ReLU stack, then LogSoftmax.

    Weights and biases follow PyTorch's nn.Linear default: U(+-1/sqrt(fan_in)).
    ``hidden = []`` gives the linear model (one Linear 784 -> 10).
    Shapes: x (N, 784) -> log-probabilities (N, 10).
    """
    mlp = MLP([784, *hidden, 10], activation="relu", init=TORCH_LINEAR_INIT, rng=rng, dtype=dtype)
    for layer in mlp.linear_layers():
        bound = 1.0 / math.sqrt(layer.in_features)
        layer.b.data[...] = rng.uniform(-bound, bound, size=layer.b.data.shape)
    model = Sequential(*mlp.layers, LogSoftmax())
    model.hidden = list(hidden)
    return model


def linear_layers(model) -> list[Linear]:
    return [layer for layer in model.layers if isinstance(layer, Linear)]


def perturb(model, noise: float, rng: np.random.Generator) -> None:
    """Add ``noise * N(0, 1)`` to every parameter, in place (the tutorial's ``random_update``)."""
    for p in model.parameters():
        p.data += (noise * rng.standard_normal(p.data.shape)).astype(p.data.dtype)


def num_parameters(model) -> int:
    return int(sum(p.data.size for p in model.parameters()))


def full_batch_steps(trainer, X: np.ndarray, y: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` full-batch steps with a ``Trainer`` (batch_size >= len(X), rng None).

    Each ``train_epoch`` over (X, y) is then one step.  Returns the (steps,) losses,
    each measured on the batch *before* its step (as the tutorial records them).
    """
    if trainer.batch_size < len(X) or trainer.rng is not None:
        raise ValueError("full_batch_steps needs a Trainer with batch_size >= len(X) and rng=None")
    return np.array([trainer.train_epoch(X, y)["loss"] for _ in range(steps)])


def optimizer_specs(value) -> str | None:
    """Config check: ``{label: {type: sgd|adam|rmsprop|adagrad, lr: ..., <options>}}``.

    Each entry is built once on a dummy parameter, so a misspelt option fails now, by name.
    """
    from minidl.optim import OPTIMIZERS
    from minidl.parameter import Parameter
    if not isinstance(value, dict) or not value:
        return "a mapping label -> {type: sgd, lr: 1.0e-3, ...}"
    for label, spec in value.items():
        if not isinstance(spec, dict) or spec.get("type") not in OPTIMIZERS or "lr" not in spec:
            return (f"a mapping label -> {{type, lr, options}}; entry {label!r} needs type in "
                    f"{sorted(OPTIMIZERS)} and lr")
        try:
            make_optimizer(spec, [Parameter(np.zeros(1))])
        except (TypeError, ValueError) as exc:
            return f"valid optimizer options; entry {label!r}: {exc}"
    return None


def make_optimizer(spec: dict, params):
    """``{type: sgd, lr: 0.1, momentum: 0.9}`` -> ``SGD(params, lr=0.1, momentum=0.9)``."""
    from minidl.optim import OPTIMIZERS
    options = {k: (tuple(v) if isinstance(v, list) else v) for k, v in spec.items() if k != "type"}
    return OPTIMIZERS[spec["type"]](params, **options)


# ---------------------------------------------------------------------------
# command line and run folder
# ---------------------------------------------------------------------------

def start_run(argv, study_schema: dict, prog: str, description: str, default_config: str, check=None):
    """Parse ``CONFIG [--set K=V ...]``, validate, create the run folder and write config.yaml.

    ``check(cfg, where)`` may raise ConfigError for what the schema cannot see (values that
    depend on each other).  Returns ``(cfg, run_dir)``.  Raises ConfigError (naming file and
    key) before any work.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("config", nargs="?", default=default_config, help=f"YAML config (default {default_config})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set Study.steps=20 (repeatable)")
    args = parser.parse_args(argv)
    raw = apply_overrides(load_yaml(args.config), args.set)
    cfg = validate(raw, {"Data": DATA_SCHEMA, "Study": study_schema, "Output": OUTPUT_SCHEMA}, args.config)
    if check is not None:
        check(cfg, args.config)
    run_dir = create_run_dir(cfg["Output"]["dir"], cfg["Output"]["name"] or Path(args.config).stem)
    write_config(run_dir, cfg)
    return cfg, run_dir


def cli(main) -> None:
    """Run ``main()``; a bad config or missing data becomes a one-line message and exit code 2."""
    from minidl.data import DataError
    try:
        main()
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)

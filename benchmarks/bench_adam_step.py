"""An Adam training step against an SGD training step, paired, in one process.

    python benchmarks/bench_adam_step.py                 # config B, 1 BLAS thread, 15 rounds
    python benchmarks/bench_adam_step.py --config A --threads 2

Two copies of the same network train side by side on the same batches of real MNIST (or
synthetic data of the same shape): one with SGD (lr 0.1), one with Adam (lr 1e-3), both through
``Trainer.step`` (forward, loss, backward, update), exactly as every experiment trains.  They take
turns in rounds of ``--steps`` steps, and the ratio Adam / SGD is taken per round, so a burst of
load on the shared machine hits both alike; the median over the rounds is printed, and the same
for the hand-fused flat loop (``flat_numpy.train_epoch`` against ``train_epoch_adam``).
Nothing here asserts on speed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import CONFIGS, set_threads  # noqa: E402


def minidl_runner(cfg, optimizer: str, seed: int = 0):
    """``run(X, y)``: Trainer.step over every batch of (X, y), in order, with SGD or Adam."""
    import numpy as np

    from minidl.losses import SoftmaxCrossEntropy
    from minidl.models import MLP
    from minidl.optim import SGD, Adam
    from minidl.training import Trainer
    model = MLP(cfg.sizes, activation=cfg.activation, rng=seed, dtype=np.float32)
    opt = SGD(model, lr=0.1) if optimizer == "sgd" else Adam(model, lr=1e-3)
    trainer = Trainer(model, SoftmaxCrossEntropy(), opt, batch_size=cfg.batch_size)

    def run(X, y):
        for start in range(0, len(X), cfg.batch_size):
            trainer.step(X[start:start + cfg.batch_size], y[start:start + cfg.batch_size])
    return run


def flat_runner(cfg, optimizer: str, seed: int = 0):
    """The same with the hand-fused loop of ``flat_numpy`` (in order, no shuffle)."""
    import numpy as np

    import flat_numpy
    params = flat_numpy.init_params(cfg.sizes, np.random.default_rng(seed))
    state = flat_numpy.adam_state(params)
    if optimizer == "sgd":
        return lambda X, y: flat_numpy.train_epoch(X, y, params, 0.1, cfg.batch_size, activation=cfg.activation)
    return lambda X, y: flat_numpy.train_epoch_adam(X, y, params, state, 1e-3, cfg.batch_size,
                                                    activation=cfg.activation)


def paired(runners: dict, X, y, rounds: int) -> dict:
    """Per round, each runner on the same (X, y) in turn (who goes first alternates); the
    seconds per step of each, and the median over rounds of adam / sgd."""
    times = {name: [] for name in runners}
    for r in range(rounds):
        order = list(runners.items())
        for name, run in (order if r % 2 == 0 else order[::-1]):
            start = time.process_time()
            run(X, y)
            times[name].append(time.process_time() - start)
    ratio = statistics.median(a / s for a, s in zip(times["adam"], times["sgd"]))
    return {"ratio": ratio, **{name: statistics.median(t) for name, t in times.items()}}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=["A", "B", "C", "D"], default="B")
    p.add_argument("--threads", type=int, choices=(1, 2), default=1)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--steps", type=int, default=1000, help="training steps per round (default 1000)")
    args = p.parse_args(argv)
    set_threads(args.threads)
    from _common import load_data
    import numpy as np
    cfg = CONFIGS[args.config]
    X, y, source = load_data(np.float32)
    n = args.steps * cfg.batch_size
    X, y = X[:n], y[:n]
    print(f"config {args.config}: {cfg.describe()}; {args.threads} thread(s); {args.rounds} rounds of "
          f"{args.steps} steps; data: {source}")
    for label, make in (("minidl", minidl_runner), ("flat", flat_runner)):
        runners = {"sgd": make(cfg, "sgd"), "adam": make(cfg, "adam")}
        for run in runners.values():           # warm-up
            run(X[:cfg.batch_size * 50], y[:cfg.batch_size * 50])
        got = paired(runners, X, y, args.rounds)
        print(f"  {label:<7} SGD {got['sgd'] / args.steps * 1e6:7.1f} us/step   Adam {got['adam'] / args.steps * 1e6:7.1f} "
              f"us/step   Adam / SGD, paired median: {got['ratio']:.2f}")


if __name__ == "__main__":
    main()

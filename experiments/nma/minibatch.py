"""Section 6, full gradients are expensive: mini-batches, what a step costs and what a second of training buys.

(a) Seconds per forward + backward pass against the batch size N (1 .. 50,000
    training images) for MLPs with hidden layers [1], [100] and [50, 50]: the
    median of 5 timed runs after one untimed warm-up (``minidl.util.timing``).
(b) SGD (lr 5e-3) on MLP [100, 100] over the full 60,000-image training set,
    with batch sizes 20, 250 and 1000, each for a wall-clock budget of 10 s;
    the loss reached within 2.5, 5 and 10 s is read off the same run.  The loss
    is measured on a fixed sample of training images with the clock paused, so
    evaluation costs no training time.

Both are measurements of minidl itself on this machine: a speed profile of a
pure-NumPy framework, not of PyTorch.  On a shared machine the timings are
noisy; summary.json records CPU time next to wall time, so the reader can see
how much of the wall time the process actually got.

    python -m experiments.nma.minibatch configs/nma/minibatch.yaml

Writes config.yaml, timing.png, loss_vs_time.png, summary.json.
"""
from __future__ import annotations

import os
import time

import numpy as np

from experiments.nma import BLAS_THREADS, DATA_SCHEMA  # noqa: F401  (BLAS_THREADS: see the package)
from minidl.runs.cli import main
from minidl.runs.config import Key, hidden_widths, positive, positive_int
from minidl.util.threads import blas_thread_count


def _shapes(value) -> str | None:
    ok = isinstance(value, list) and value and all(hidden_widths(v) is None for v in value)
    return None if ok else "a list of hidden-width lists, e.g. [[1], [100], [50, 50]]"


def _positive_ints(value) -> str | None:
    ok = isinstance(value, list) and value and all(positive_int(v) is None for v in value)
    return None if ok else "a non-empty list of integers > 0"


def _positive_numbers(value) -> str | None:
    ok = isinstance(value, list) and value and all(positive(v) is None for v in value)
    return None if ok else "a non-empty list of numbers > 0"


STUDY_SCHEMA = {
    "timing": {
        "hidden": Key(list, [[1], [100], [50, 50]], _shapes),
        "batch_sizes": Key(list, [1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000, 50000], _positive_ints),
        "repeats": Key(int, 5, positive_int, doc="timed runs per batch size (the median is reported)"),
        "clock": Key(str, "wall", choices=["wall", "cpu"], doc="wall: perf_counter; cpu: process_time"),
    },
    "budget": {
        "hidden": Key(list, [100, 100], hidden_widths),
        "batch_sizes": Key(list, [20, 250, 1000], _positive_ints),
        "lr": Key(float, 5e-3, positive),
        "seconds": Key(list, [2.5, 5.0, 10.0], _positive_numbers, doc="budgets; one run of the largest each"),
        "eval_examples": Key(int, 5000, positive_int, doc="fixed training images the loss is measured on"),
        "eval_every": Key(float, 0.25, positive, doc="seconds of training between loss measurements"),
        "chunk_examples": Key(int, 5000, positive_int, doc="examples per Trainer call between clock checks"),
        "clock": Key(str, "wall", choices=["wall", "cpu"], doc="what the budget counts: wall or CPU seconds"),
    },
}
SCHEMA = {"Data": DATA_SCHEMA, "Study": STUDY_SCHEMA}


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


class Budget:
    """A ``Trainer.fit`` callback: stop once ``budget`` seconds of training have passed, and
    measure the loss on (X_eval, y_eval) every ``eval_every`` training seconds, with the
    clock stopped.  ``clock`` ('wall' or 'cpu') is what the budget counts; both are kept.

    After training: ``seconds``, ``losses``, ``steps`` (K,) lists, entry 0 before training.
    """

    def __init__(self, X_eval, y_eval, budget: float, eval_every: float, clock: str = "wall"):
        self.X_eval, self.y_eval, self.budget, self.eval_every, self.clock = X_eval, y_eval, budget, eval_every, clock
        self.wall = self.cpu = 0.0

    def begin(self, trainer) -> None:
        self.seconds, self.losses, self.steps = [0.0], [trainer.evaluate(self.X_eval, self.y_eval)["loss"]], [0]
        self.next_eval = self.eval_every
        self._start_clocks()

    def _start_clocks(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def end_round(self, trainer, row: dict) -> str | None:
        self.wall += time.perf_counter() - self.wall0
        self.cpu += time.process_time() - self.cpu0
        trained = self.wall if self.clock == "wall" else self.cpu
        if trained >= self.next_eval or trained >= self.budget:
            self.seconds.append(trained)
            self.losses.append(trainer.evaluate(self.X_eval, self.y_eval)["loss"])
            self.steps.append(trainer.steps)
            self.next_eval = trained + self.eval_every
        self._start_clocks()
        return "budget spent" if trained >= self.budget else None


def random_batches(n: int, batch_size: int, chunk: int, rng: np.random.Generator):
    """Endless mini-batches of indices drawn uniformly with replacement, ``chunk`` batches per draw."""
    while True:
        idx = rng.integers(0, n, size=chunk * batch_size)
        yield from idx.reshape(chunk, batch_size)


def budget_run(model, X, y, X_eval, y_eval, batch_size: int, lr: float, budget: float, rng,
               eval_every: float = 0.25, chunk_examples: int = 5000, clock: str = "wall") -> dict:
    """Train ``model`` by SGD on random mini-batches of (X, y) until ``budget`` training seconds pass.

    Batches are drawn uniformly (``rng.integers``), a chunk of about ``chunk_examples``
    examples at a time; the clock is read between chunks (``Budget``).
    ``clock="cpu"`` counts this process's CPU seconds instead of wall seconds, which a
    loaded machine distorts less.

    Returns ``{"seconds": (K,), "loss": (K,), "steps": (K,), "wall_seconds": float,
    "cpu_seconds": float}``; "seconds" is on the chosen clock; row 0 is the loss before training.
    """
    from minidl.losses import NLLLoss
    from minidl.optim import SGD
    from minidl.training import Trainer
    trainer = Trainer(model, NLLLoss(), SGD(model.parameters(), lr=lr), batch_size=batch_size, rng=None)
    chunk = max(1, chunk_examples // batch_size)
    spent = Budget(X_eval, y_eval, budget, eval_every, clock)
    trainer.fit(X, y, batches=random_batches(len(X), batch_size, chunk, rng), eval_every=chunk, callbacks=[spent])
    return {"seconds": np.array(spent.seconds), "loss": np.array(spent.losses), "steps": np.array(spent.steps),
            "wall_seconds": spent.wall, "cpu_seconds": spent.cpu}


def loss_within(result: dict, budget: float) -> tuple[float, int]:
    """(loss, steps) at the last measurement made within ``budget`` training seconds."""
    i = int(np.flatnonzero(result["seconds"] <= budget)[-1])
    return float(result["loss"][i]), int(result["steps"][i])


def run(cfg: dict, run_dir, log=print) -> dict:
    """(a) the cost of a step against the batch size, (b) the loss within each time budget."""
    from minidl.data import load_normalized_mnist
    seed = cfg["Data"]["seed"]
    X, y = load_normalized_mnist(cfg["Data"]["dir"])["train"]
    rng = np.random.default_rng(seed)
    sizes, timing = step_costs(cfg["Study"]["timing"], X, y, rng, run_dir, log)
    budget_out = loss_against_time(cfg["Study"]["budget"], X, y, rng, seed, run_dir, log)
    bud = cfg["Study"]["budget"]
    return {"study": "NMA W1D5 section 6: mini-batches", "seed": seed, "timing_batch_sizes": sizes,
            "timing": timing, "budget": {"hidden": bud["hidden"], "lr": bud["lr"], "runs": budget_out},
            "blas_threads": blas_thread_count(), "load_average": os.getloadavg(),
            "note": "timings on a shared machine; cpu_seconds / wall_seconds shows how much "
                    "CPU the process got (at most 1 with one BLAS thread)"}


def step_costs(tim: dict, X, y, rng, run_dir, log) -> tuple[list, dict]:
    """(a) seconds per forward + backward pass against the batch size; timing.png."""
    from minidl import plots
    from minidl.losses import NLLLoss
    from minidl.models import NeuromatchMLP
    from minidl.plots.nma import plot_timing
    from minidl.util.timing import time_forward_backward
    sizes = [n for n in tim["batch_sizes"] if n <= len(X)]
    medians, spread, timing = {}, {}, {}
    for hidden in tim["hidden"]:
        model = NeuromatchMLP(hidden, rng)
        med, runs = time_forward_backward(model, NLLLoss(), X, y, sizes, repeats=tim["repeats"],
                                          clock=CLOCKS[tim["clock"]])
        label = f"MLP {hidden}"
        medians[label], spread[label] = med, (runs.min(axis=1), runs.max(axis=1))
        timing[label] = {"median_s": med.tolist(), "mean_s": runs.mean(axis=1).tolist(),
                         "min_s": runs.min(axis=1).tolist(), "max_s": runs.max(axis=1).tolist(),
                         "median_us_per_example": (1e6 * med / np.array(sizes)).tolist()}
    fig = plot_timing(sizes, medians, f"minidl forward + backward on MNIST (float32, {blas_thread_count()} BLAS thread(s))\n"
                      f"median of {tim['repeats']} runs, {tim['clock']} clock; band: fastest to slowest run",
                      spread=spread)
    plots.save(fig, run_dir / "timing.png")
    log("median seconds per forward + backward:")
    log("N".rjust(8) + "".join(f"{k:>16s}" for k in timing))
    for i, n in enumerate(sizes):
        log(f"{n:8d}" + "".join(f"{t['median_s'][i]:16.2e}" for t in timing.values()))
    return sizes, timing


def loss_against_time(bud: dict, X, y, rng, seed: int, run_dir, log) -> dict:
    """(b) the loss reached within each budget, per batch size, from one start; loss_vs_time.png."""
    from minidl import plots
    from minidl.models import NeuromatchMLP
    from minidl.plots.nma import plot_loss_vs_time
    eval_idx = rng.choice(len(X), size=min(bud["eval_examples"], len(X)), replace=False)
    X_eval, y_eval = X[eval_idx], y[eval_idx]
    base = NeuromatchMLP(bud["hidden"], rng)
    state = base.state_dict()
    curves, out = {}, {}
    for bs in bud["batch_sizes"]:
        base.load_state_dict(state)                       # the same start for every batch size
        result = budget_run(base, X, y, X_eval, y_eval, bs, bud["lr"], max(bud["seconds"]),
                            np.random.default_rng(seed), bud["eval_every"], bud["chunk_examples"], bud["clock"])
        curves[f"batch {bs}"] = (result["seconds"], result["loss"])
        reached = {f"{b:g}s": dict(zip(("loss", "steps"), loss_within(result, b))) for b in bud["seconds"]}
        r = out[str(bs)] = {"within_budget": reached, "wall_seconds": result["wall_seconds"],
                            "cpu_seconds": result["cpu_seconds"], "steps": int(result["steps"][-1]),
                            "ms_per_step": 1e3 * float(result["seconds"][-1]) / int(result["steps"][-1])}
        log(f"batch {bs:>5d}: {r['ms_per_step']:.2f} ms/step, cpu/wall {r['cpu_seconds'] / r['wall_seconds']:.2f}; "
            "loss within " + ", ".join(f"{b}: {v['loss']:.3f} ({v['steps']} steps)" for b, v in reached.items()))
    fig = plot_loss_vs_time(curves, bud["seconds"], f"SGD lr {bud['lr']:g} on MLP {bud['hidden']}, all {len(X):,} "
                            f"training images\nloss on {len(X_eval):,} fixed training images; dotted: budgets "
                            f"{', '.join(f'{b:g}' for b in bud['seconds'])} s",
                            clock="wall clock" if bud["clock"] == "wall" else "CPU time")
    plots.save(fig, run_dir / "loss_vs_time.png")
    return out


if __name__ == "__main__":
    raise SystemExit(main(__name__))

"""Seconds per training epoch: minidl vs a flat NumPy loop vs PyTorch, on configs A-D.

    python benchmarks/bench_train.py                       # 1 and then 2 BLAS threads, 5 epochs each
    python benchmarks/bench_train.py --threads 2 --repeats 3
    python benchmarks/bench_train.py --configs B C --no-torch

Configs (60,000 examples per epoch, plain SGD at lr 0.1, softmax cross-entropy):

    A  784-128-10 sigmoid, batch 64 (the course's TwoLayerNet)
    B  784-30-10 sigmoid, batch 10
    C  784-(30x8)-10 sigmoid, batch 10
    D  784-512-256-10 ReLU, batch 256
    A64  config A in float64 (everything else runs in float32)
    A-adam, B-adam  A and B with Adam (lr 1e-3)
    F  the MLDS function fit: 1-5-(10x5)-5-1 tanh, full-batch Adam on 2,000 sinc points,
       MSE; its "epoch" is 6,000 steps
    CNN  conv 5x5 1->16 (padding 2), max-pool, conv 5x5 16->32, max-pool, Linear 800->10;
         batch 64, SGD momentum 0.9 (benchmarks/cnn_impls.py; minidl and torch only)

Each implementation runs in its own worker process, started with the BLAS /
OpenMP thread variables already set (``--threads``; torch also gets
``torch.set_num_threads``).  Workers load the data once and keep their models;
the parent asks them for one round of ``--chunk`` examples at a time,
round-robin, so a burst of load on this shared machine hits all three alike.
Per config: a warm-up of ``--warmup`` examples, then ``--repeats`` timed epochs
of 60,000 / chunk rounds each.  The table shows medians of the epoch times; the
paired ratios are medians over the rounds of one implementation's time divided
by another's for the same round, the steadiest numbers on a shared machine.  The "bound" is the epoch's matrix-multiply FLOPs divided by the best
large-matmul rate (GFLOP/s) the NumPy worker measured during the same run.

The implementations:

    minidl  MLP + SoftmaxCrossEntropy + SGD driven by minidl.training.Trainer
    flat    benchmarks/flat_numpy.py, one hand-fused function (the floor)
    torch   nn.Sequential + F.cross_entropy + torch.optim.SGD, index slicing
            (skipped with a note when torch is not importable)

All three shuffle with ``np.random.default_rng(seed).permutation`` each epoch
and report the epoch's mean loss and accuracy.  Nothing asserts on speed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))       # minidl, without installing it

from _common import CONFIGS, N_EXAMPLES, Client, serve, torch_epoch, torch_full_batch  # noqa: E402
from _report import report, summary  # noqa: E402

IMPLS = ("minidl", "flat", "torch")
SEED = 0


# =========================================================================
# worker side: one process per implementation, commands on stdin
# =========================================================================
class Worker:
    """Holds the data and one model per (config, dtype); times epochs on request."""

    def __init__(self, impl: str, threads: int):
        import numpy as np
        self.np, self.impl, self.threads = np, impl, threads
        self.data = {}                  # dtype name -> (X, y, source); one dtype kept at a time
        self.models = {}                # (config, dtype) -> per-implementation state
        if impl == "torch":
            import torch
            torch.set_num_threads(threads)
            self.torch = torch

    def get_data(self, dtype: str):
        if dtype not in self.data:
            from _common import load_data
            self.data.clear()
            self.models = {k: v for k, v in self.models.items() if k[1] == dtype}
            self.data[dtype] = load_data(getattr(self.np, dtype))
        return self.data[dtype]

    @property
    def info(self) -> dict:
        np = self.np
        out = {"numpy": np.__version__, "python": sys.version.split()[0]}
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            out["blas"] = f"{blas.get('name')} {blas.get('version')}"
        except Exception:       # older numpy: show_config has no mode
            out["blas"] = "unknown"
        if self.impl == "torch":
            out["torch"] = self.torch.__version__
            out["torch_threads"] = self.torch.get_num_threads()
        return out

    def peak(self, dtype: str, size: int = 2048, repeats: int = 5) -> dict:
        """Best GFLOP/s of a (size x size) @ (size x size) matmul."""
        np = self.np
        rng = np.random.default_rng(1)
        a = rng.standard_normal((size, size)).astype(dtype)
        b = rng.standard_normal((size, size)).astype(dtype)
        out = np.empty_like(a)
        np.matmul(a, b, out=out)        # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - start)
        return {"gflops": 2.0 * size ** 3 / best / 1e9}

    def epoch(self, config: str, dtype: str, n: int) -> dict:
        """Train one (possibly partial: the first ``n`` examples) epoch and time it; for the
        full-batch function fit, ``CONFIGS[config].steps(n)`` full-batch steps."""
        cfg = CONFIGS[config]
        if cfg.task == "sinc":
            from _common import sinc_data
            X, y, source = sinc_data(getattr(self.np, dtype))
            n = cfg.steps(n)             # the epoch functions of this task take a step count
        else:
            X, y, source = self.get_data(dtype)
            X, y = X[:n], y[:n]
        key = (config, dtype)
        if key not in self.models:
            self.models[key] = getattr(self, f"build_{self.impl}")(CONFIGS[config], dtype)
        run = self.models[key]
        order_rng = run["rng"]
        start, cpu = time.perf_counter(), time.process_time()
        result = run["epoch"](X, y, order_rng) if cfg.task != "sinc" else run["epoch"](X, y, n)
        import resource
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                "loss": result["loss"], "acc": result["acc"], "data": source,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    # ---- the three implementations ----------------------------------------
    def build_minidl(self, cfg, dtype):
        if cfg.name == "CNN":
            import cnn_impls
            return cnn_impls.build_minidl(cfg, dtype, SEED)
        from minidl.losses import MSELoss, SoftmaxCrossEntropy
        from minidl.models import MLP
        from minidl.optim import SGD, Adam
        from minidl.training import Trainer
        np = self.np
        model = MLP(cfg.sizes, activation=cfg.activation, rng=SEED, dtype=getattr(np, dtype))
        rng = np.random.default_rng(SEED)
        opt = (SGD if cfg.optimizer == "sgd" else Adam)(model.parameters(), lr=cfg.lr)
        loss = MSELoss() if cfg.task == "sinc" else SoftmaxCrossEntropy()
        trainer = Trainer(model, loss, opt, batch_size=cfg.batch_size, rng=rng, classification=cfg.task != "sinc")

        def epoch(X, y, epochs):          # epochs: 1, or for the full-batch fit the step count
            history = trainer.fit(X, y, epochs=epochs if cfg.task == "sinc" else 1).history
            return {"loss": history[-1]["train_loss"], "acc": history[-1].get("train_acc", 0.0)}
        return {"rng": rng, "epoch": epoch}

    def build_flat(self, cfg, dtype):
        import flat_numpy
        np = self.np
        params = flat_numpy.init_params(cfg.sizes, np.random.default_rng(SEED), getattr(np, dtype))
        state = flat_numpy.adam_state(params)

        def epoch(X, y, rng):
            if cfg.optimizer == "sgd":
                return flat_numpy.train_epoch(X, y, params, cfg.lr, cfg.batch_size,
                                              order=rng.permutation(len(X)), activation=cfg.activation)
            if cfg.task == "sinc":       # rng is the step count: full-batch steps, in order
                return [flat_numpy.train_epoch_adam(X, y, params, state, cfg.lr, len(X), None, cfg.activation,
                                                    "mse") for _ in range(rng)][-1]
            return flat_numpy.train_epoch_adam(X, y, params, state, cfg.lr, cfg.batch_size,
                                               order=rng.permutation(len(X)), activation=cfg.activation)
        return {"rng": np.random.default_rng(SEED), "epoch": epoch}

    def build_torch(self, cfg, dtype):
        if cfg.name == "CNN":
            import cnn_impls
            return cnn_impls.build_torch(self.torch, cfg, dtype, SEED)
        torch, np = self.torch, self.np
        torch.manual_seed(SEED)
        tdtype = getattr(torch, dtype)
        act = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[cfg.activation]
        layers = []
        for i, (d_in, d_out) in enumerate(zip(cfg.sizes[:-1], cfg.sizes[1:])):
            layers.append(torch.nn.Linear(d_in, d_out, dtype=tdtype))
            if i < len(cfg.sizes) - 2:
                layers.append(act())
        model = torch.nn.Sequential(*layers)
        opt = (torch.optim.SGD if cfg.optimizer == "sgd" else torch.optim.Adam)(model.parameters(), lr=cfg.lr)
        if cfg.task == "sinc":
            return {"rng": None, "epoch": torch_full_batch(torch, model, opt)}
        return {"rng": np.random.default_rng(SEED), "epoch": torch_epoch(torch, model, opt, cfg.batch_size)}


def answer(worker, cmd: dict) -> dict:
    """One command from the parent: the matmul peak, or one round of training."""
    if cmd["op"] == "peak":
        return worker.peak(cmd["dtype"])
    return worker.epoch(cmd["config"], cmd["dtype"], cmd["n"])


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", choices=(1, 2), default=[1, 2],
                   help="BLAS / torch thread counts, each measured in turn (default: 1 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed epochs per implementation and config (>= 3)")
    p.add_argument("--warmup", type=int, default=6000, help="examples trained before timing (default 6000)")
    p.add_argument("--chunk", type=int, default=10000,
                   help="examples per interleaving round (default 10000: an epoch is 6 rounds)")
    p.add_argument("--configs", nargs="+", default=["A", "B", "C", "D", "A64", "A-adam", "B-adam", "F", "CNN"],
                   choices=["A", "B", "C", "D", "A64", "A-adam", "B-adam", "F", "CNN"])
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even when installed")
    p.add_argument("--json", type=Path, help="also write the raw times to this file")
    p.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 3 and not args.worker:
        p.error("--repeats must be at least 3 (the table shows medians)")
    if not 0 < args.chunk <= N_EXAMPLES and not args.worker:
        p.error(f"--chunk must be in [1, {N_EXAMPLES}]")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        return serve(args.worker, args.threads[0], lambda: Worker(args.worker, args.threads[0]), answer)
    results = {}
    for threads in args.threads:
        results[threads] = report(args, **measure(args, threads))
    if len(results) > 1:
        summary(args, results)
    if args.json:
        args.json.write_text(json.dumps({str(t): rows for t, rows in results.items()}, indent=1))


def measure(args, threads: int) -> dict:
    """Start one worker per implementation with ``threads`` threads, and time every config in rounds."""
    impls = [i for i in IMPLS if not (i == "torch" and args.no_torch)]
    clients, notes = {}, []
    for impl in impls:
        client = Client(__file__, impl, threads)
        if client.error:
            notes.append(f"{impl} skipped: {client.error}")
        else:
            clients[impl] = client
    flat = clients["flat"]
    info = dict(flat.info, **(clients["torch"].info if "torch" in clients else {}))
    print(f"\n### threads {threads}; {os.cpu_count()} cores; numpy {info['numpy']} ({info['blas']}); "
          f"torch {info.get('torch', 'not installed')}; load average {os.getloadavg()[0]:.2f} at start")
    times, cpu = {}, {}    # (config, impl) -> [wall seconds per epoch, ...], [CPU seconds, ...]
    round_times = {}       # config -> [{impl: seconds of that round's chunk}, ...]
    peaks, peak_mb = {"float32": [], "float64": []}, {}
    chunks, wall_start, data = N_EXAMPLES // args.chunk, time.perf_counter(), {}
    for name in args.configs:
        config, dtype = (name[:-2], "float64") if name.endswith("64") else (name, "float32")
        peaks[dtype].append(flat.ask(op="peak", dtype=dtype)["gflops"])
        runners = {i: c for i, c in clients.items() if not (config == "CNN" and i == "flat")}
        for impl, client in runners.items():                     # warm-up, untimed
            client.ask(op="epoch", config=config, dtype=dtype, n=args.warmup)
        for rep in range(args.repeats):
            epoch_wall, epoch_cpu = dict.fromkeys(runners, 0.0), dict.fromkeys(runners, 0.0)
            for _ in range(chunks):          # an epoch = `chunks` rounds; each round runs every implementation once
                order = list(runners.items())
                k = len(round_times.get(name, [])) % len(order)
                chunk = {}
                for impl, client in order[k:] + order[:k]:      # rotate who goes first
                    r = client.ask(op="epoch", config=config, dtype=dtype, n=args.chunk)
                    chunk[impl] = r["seconds"]
                    epoch_wall[impl] += r["seconds"]
                    epoch_cpu[impl] += r["cpu"]
                    data[CONFIGS[config].task] = r["data"]
                    peak_mb[(name, impl)] = r["peak_mb"]
                round_times.setdefault(name, []).append(chunk)
            for impl in runners:
                times.setdefault((name, impl), []).append(epoch_wall[impl] * N_EXAMPLES / (chunks * args.chunk))
                cpu.setdefault((name, impl), []).append(epoch_cpu[impl] * N_EXAMPLES / (chunks * args.chunk))
        print(f"  {name} done ({time.perf_counter() - wall_start:.0f} s)", file=sys.stderr)
    for client in clients.values():
        client.close()
    return dict(impls=list(clients), times=times, cpu=cpu, round_times=round_times,
                peaks={k: max(v) for k, v in peaks.items() if v}, peak_mb=peak_mb, data=data, notes=notes)


if __name__ == "__main__":
    main()

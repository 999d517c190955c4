"""Seconds per training epoch: minidl vs a flat NumPy loop vs PyTorch, on configs A-D.

    python benchmarks/bench_train.py                       # 2 BLAS threads, 5 epochs each
    python benchmarks/bench_train.py --threads 1 --repeats 3
    python benchmarks/bench_train.py --configs B C --no-torch

Configs (60,000 examples per epoch, plain SGD, softmax cross-entropy):

    A  784-128-10 sigmoid, batch 64 (the course's TwoLayerNet)
    B  784-30-10 sigmoid, batch 10
    C  784-(30x8)-10 sigmoid, batch 10
    D  784-512-256-10 ReLU, batch 256
    A64  config A in float64 (everything else runs in float32)
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
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))       # minidl, without installing it

from _common import CONFIGS, N_EXAMPLES, set_threads, torch_epoch  # noqa: E402

IMPLS = ("minidl", "flat", "torch")
LR = 0.1
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
        """Train one (possibly partial: the first ``n`` examples) epoch and time it."""
        X, y, source = self.get_data(dtype)
        key = (config, dtype)
        if key not in self.models:
            self.models[key] = getattr(self, f"build_{self.impl}")(CONFIGS[config], dtype)
        run = self.models[key]
        order_rng = run["rng"]
        start, cpu = time.perf_counter(), time.process_time()
        result = run["epoch"](X[:n], y[:n], order_rng)
        import resource
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                "loss": result["loss"], "acc": result["acc"], "data": source,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    # ---- the three implementations ----------------------------------------
    def build_minidl(self, cfg, dtype):
        if cfg.name == "CNN":
            import cnn_impls
            return cnn_impls.build_minidl(cfg, dtype, SEED)
        from minidl.losses import SoftmaxCrossEntropy
        from minidl.models import MLP
        from minidl.optim import SGD
        from minidl.training import Trainer
        np = self.np
        model = MLP(cfg.sizes, activation=cfg.activation, rng=SEED, dtype=getattr(np, dtype))
        rng = np.random.default_rng(SEED)
        trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=LR),
                          batch_size=cfg.batch_size, rng=rng)
        def epoch(X, y, _rng):
            row = trainer.fit(X, y, epochs=1).history[0]
            return {"loss": row["train_loss"], "acc": row["train_acc"]}
        return {"rng": rng, "epoch": epoch}

    def build_flat(self, cfg, dtype):
        import flat_numpy
        np = self.np
        params = flat_numpy.init_params(cfg.sizes, np.random.default_rng(SEED), getattr(np, dtype))

        def epoch(X, y, rng):
            return flat_numpy.train_epoch(X, y, params, LR, cfg.batch_size,
                                          order=rng.permutation(len(X)), activation=cfg.activation)
        return {"rng": np.random.default_rng(SEED), "epoch": epoch}

    def build_torch(self, cfg, dtype):
        if cfg.name == "CNN":
            import cnn_impls
            return cnn_impls.build_torch(self.torch, cfg, dtype, SEED)
        torch, np = self.torch, self.np
        torch.manual_seed(SEED)
        tdtype = getattr(torch, dtype)
        act = torch.nn.Sigmoid if cfg.activation == "sigmoid" else torch.nn.ReLU
        layers = []
        for i, (d_in, d_out) in enumerate(zip(cfg.sizes[:-1], cfg.sizes[1:])):
            layers.append(torch.nn.Linear(d_in, d_out, dtype=tdtype))
            if i < len(cfg.sizes) - 2:
                layers.append(act())
        model = torch.nn.Sequential(*layers)
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        return {"rng": np.random.default_rng(SEED), "epoch": torch_epoch(torch, model, opt, cfg.batch_size)}


def worker_main(impl: str, threads: int) -> None:
    set_threads(threads)                 # before numpy / torch load their thread pools
    try:
        worker = Worker(impl, threads)
    except ImportError as exc:
        print(json.dumps({"error": f"{impl} unavailable: {exc}"}), flush=True)
        return
    print(json.dumps({"ready": worker.info()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "peak":
            reply = worker.peak(cmd["dtype"])
        else:
            reply = worker.epoch(cmd["config"], cmd["dtype"], cmd["n"])
        print(json.dumps(reply), flush=True)


# =========================================================================
# parent side: start the workers, interleave, print the table
# =========================================================================
class Client:
    def __init__(self, impl: str, threads: int):
        self.impl = impl
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", impl, "--threads", str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = json.loads(self.proc.stdout.readline() or '{"error": "worker died"}')
        self.error = first.get("error")
        self.info = first.get("ready", {})

    def ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.impl} worker exited unexpectedly")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, choices=(1, 2), default=2, help="BLAS / torch threads (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed epochs per implementation and config (>= 3)")
    p.add_argument("--warmup", type=int, default=6000, help="examples trained before timing (default 6000)")
    p.add_argument("--chunk", type=int, default=10000,
                   help="examples per interleaving round (default 10000: an epoch is 6 rounds)")
    p.add_argument("--configs", nargs="+", default=["A", "B", "C", "D", "A64", "CNN"],
                   choices=["A", "B", "C", "D", "A64", "CNN"])
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even when installed")
    p.add_argument("--json", type=Path, help="also write the raw times to this file")
    p.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 3 and not args.worker:
        p.error("--repeats must be at least 3 (the table shows medians)")
    if not 0 < args.chunk <= N_EXAMPLES and not args.worker:
        p.error(f"--chunk must be in [1, {N_EXAMPLES}]")
    return args


def fmt_ratio(a, b) -> str:
    return f"{a / b:6.2f}" if a and b else "     -"


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.threads)
    impls = [i for i in IMPLS if not (i == "torch" and args.no_torch)]
    clients, notes = {}, []
    for impl in impls:
        client = Client(impl, args.threads)
        if client.error:
            notes.append(f"{impl} skipped: {client.error}")
            client.close()
        else:
            clients[impl] = client
    flat = clients["flat"]
    info = dict(flat.info, **(clients["torch"].info if "torch" in clients else {}))
    print(f"threads {args.threads}; {os.cpu_count()} cores; numpy {info['numpy']} ({info['blas']}); "
          f"torch {info.get('torch', 'not installed')}; load average {os.getloadavg()[0]:.2f} at start")

    times, cpu = {}, {}    # (config, impl) -> [wall seconds per epoch, ...], [CPU seconds, ...]
    round_times = {}       # config -> [{impl: seconds of that round's chunk}, ...]
    peaks = {"float32": [], "float64": []}
    data_source = None
    peak_mb = {}           # (config, impl) -> the worker's peak resident memory (MB) after the config
    chunks = N_EXAMPLES // args.chunk
    wall_start = time.perf_counter()
    for name in args.configs:
        config, dtype = (name[:-2], "float64") if name.endswith("64") else (name, "float32")
        peaks[dtype].append(flat.ask(op="peak", dtype=dtype)["gflops"])
        runners = {i: c for i, c in clients.items() if not (config == "CNN" and i == "flat")}
        for impl, client in runners.items():                     # warm-up, untimed
            client.ask(op="epoch", config=config, dtype=dtype, n=args.warmup)
        rounds = 0
        for rep in range(args.repeats):
            epoch_wall = dict.fromkeys(runners, 0.0)
            epoch_cpu = dict.fromkeys(runners, 0.0)
            for _ in range(chunks):          # an epoch = `chunks` rounds; each round runs every implementation once
                order = list(runners.items())
                order = order[rounds % len(order):] + order[:rounds % len(order)]      # rotate who goes first
                rounds += 1
                chunk = {}
                for impl, client in order:
                    r = client.ask(op="epoch", config=config, dtype=dtype, n=args.chunk)
                    chunk[impl] = r["seconds"]
                    epoch_wall[impl] += r["seconds"]
                    epoch_cpu[impl] += r["cpu"]
                    data_source = r["data"]
                    peak_mb[(name, impl)] = r["peak_mb"]
                round_times.setdefault(name, []).append(chunk)
            for impl in runners:
                times.setdefault((name, impl), []).append(epoch_wall[impl] * N_EXAMPLES / (chunks * args.chunk))
                cpu.setdefault((name, impl), []).append(epoch_cpu[impl] * N_EXAMPLES / (chunks * args.chunk))
        print(f"  {name} done ({time.perf_counter() - wall_start:.0f} s)", file=sys.stderr)
    peaks = {k: max(v) for k, v in peaks.items() if v}
    for client in clients.values():
        client.close()
    report(args, list(clients), times, cpu, round_times, peaks, peak_mb, data_source, notes, info)


def report(args, impls, times, cpu, round_times, peaks, peak_mb, data_source, notes, info) -> None:
    """The table of epoch times, the CPU times, the paired ratios and the CNN's peak memory."""
    print(f"data: {data_source}; median of {args.repeats} epochs of {N_EXAMPLES} examples "
          f"after a {args.warmup}-example warm-up; load average {os.getloadavg()[0]:.2f} at end")
    print("matmul peak (2048^3, best of the run): " +
          ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items()))
    for note in notes:
        print("note:", note)
    head = (f"{'config':<38} {'minidl s':>8} {'flat s':>7} {'torch s':>7} {'bound s':>7}  "
            f"{'minidl/s':>8} {'flat/s':>7} {'torch/s':>7}  {'m/torch':>7} {'m/flat':>6} {'m/bound':>7}")
    print(head)
    print("-" * len(head))
    rows = {}
    for name in args.configs:
        config, dtype = (name[:-2], "float64") if name.endswith("64") else (name, "float32")
        cfg = CONFIGS[config]
        med = {i: statistics.median(times[(name, i)]) for i in impls if (name, i) in times}
        bound = cfg.epoch_flops() / (peaks[dtype] * 1e9)
        rows[name] = dict(median=med, bound=bound, seconds={i: times[(name, i)] for i in med},
                          rounds=round_times[name])
        label = f"{name}: {cfg.describe()}" + (" f64" if dtype == "float64" else "")
        sec = lambda i: f"{med[i]:.3f}" if i in med else "-"            # noqa: E731
        rate = lambda i: f"{N_EXAMPLES / med[i] / 1e3:.0f}k" if i in med else "-"   # noqa: E731
        m = med["minidl"]
        print(f"{label:<38} {sec('minidl'):>8} {sec('flat'):>7} {sec('torch'):>7} {bound:>7.3f}  "
              f"{rate('minidl'):>8} {rate('flat'):>7} {rate('torch'):>7}  "
              f"{fmt_ratio(m, med.get('torch')):>7} {fmt_ratio(m, med.get('flat')):>6} {fmt_ratio(m, bound):>7}")
    if "A" in rows and "A64" in rows:
        a32, a64 = rows["A"]["median"], rows["A64"]["median"]
        print("float64 / float32 on A: " + ", ".join(f"{i} {a64[i] / a32[i]:.2f}" for i in a32))
    print("samples/s in thousands of examples per second; ratios < 1 mean minidl is faster")
    # CPU time of the worker process: steadier than wall time when other jobs share the cores
    # (with 2 threads it adds up both threads, so compare it only between implementations)
    print("\nCPU seconds per epoch (median; less sensitive to other load):")
    for name in args.configs:
        med = {i: statistics.median(cpu[(name, i)]) for i in impls if (name, i) in cpu}
        rows[name]["cpu_median"] = med
        print(f"  {name:<4} " + "  ".join(f"{i} {v:.3f}" for i, v in med.items()) +
              "".join(f"   minidl/{o} {med['minidl'] / med[o]:.2f}" for o in ("flat", "torch") if o in med))
    # the same ratios from paired rounds: each round runs the same chunk in every implementation
    # back to back, so both sides of a ratio see the same machine; the median over rounds
    # is the steadiest number this benchmark gives on a shared machine
    print(f"\nPaired ratios (median over {len(next(iter(round_times.values())))} rounds of {args.chunk} examples; "
          "each round runs every implementation back to back):")
    for name in args.configs:
        rounds = round_times[name]
        paired = {f"minidl/{other}": statistics.median(r["minidl"] / r[other] for r in rounds)
                  for other in impls if other != "minidl" and other in rounds[0]}
        rows[name]["paired"] = paired
        print(f"  {name:<4} " + "   ".join(f"{k} {v:.2f}" for k, v in paired.items()))
    if "CNN" in args.configs:
        print("\nPeak resident memory of each worker after the CNN's epochs (MB; the dataset, 188 MB in "
              "float32, included): " + ", ".join(f"{i} {peak_mb[('CNN', i)]:.0f}" for i in impls
                                                if ("CNN", i) in peak_mb))
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "info": info, "peaks": peaks,
                                         "data": data_source, "rows": rows, "peak_mb": {
                                             f"{k[0]}/{k[1]}": v for k, v in peak_mb.items()}}, indent=1))


if __name__ == "__main__":
    main()

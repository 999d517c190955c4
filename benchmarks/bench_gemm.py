"""The GEMMs of one training step of configs A and D at 1 and 2 BLAS threads: NumPy variants and torch.

    python benchmarks/bench_gemm.py                          # A and D, 30 rounds (4-6 minutes)
    python benchmarks/bench_gemm.py --configs D --rounds 10 --no-torch --json gemm.json

Issue 21, "Threads".  A Linear(d_in -> d_out) at batch n runs three float32 GEMMs a step: ``x @ W``,
``dW = x.T @ dout``, ``dx = dout @ W.T`` (not in the first layer).  Each is timed as minidl writes it
(minidl/layers/linear.py), in NumPy variants, and in torch; the ``step`` rows run a step's GEMMs in a row,
and minidl's whole training step.  Four workers, (numpy | torch) x (1 | 2 threads), start with the thread
variables set before NumPy or torch loads; the parent asks each for one round in turn, rotating the order,
and pauses 0.15 s after a 2-thread worker (OpenBLAS's idle thread spins ~0.1 s).  A round makes ``--passes``
shuffled passes over each GEMM's variants, each timing a block of calls of ~1 ms; round 0 warms up.
Columns: "vs today", median of a variant's time over today's form in the same pass (torch: over NumPy's,
same round and threads); "2t/1t", median over rounds of the round's 2-thread over 1-thread median; "mean",
the ratio of means (what an epoch adds up); "p10", of 10th percentiles (a quiet moment); "cpu/wall", the
2-thread process's CPU time over wall time.  Nothing asserts on speed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import CONFIGS, Client, serve  # noqa: E402

BLOCK_S = 1e-3                 # time blocks of calls of about this many seconds
OPENBLAS_MIN_MNK = 65536 * 4   # OpenBLAS interface/gemm.c: 1 thread when m*n*k <= SMP_THRESHOLD_MIN * 4


def step_gemms(cfg):
    """A step's GEMMs in the order training runs them: ``(name, kind, n, d_in, d_out)``."""
    layers = list(zip(cfg.sizes[:-1], cfg.sizes[1:]))
    gemms = [(f"L{i + 1} fwd", "fwd", cfg.batch_size, *dims) for i, dims in enumerate(layers)]
    for i in reversed(range(len(layers))):
        gemms += [(f"L{i + 1} {kind}", kind, cfg.batch_size, *layers[i]) for kind in ("dW", "dx")[:1 + (i > 0)]]
    return gemms


def numpy_variants(np, kind, n, d_in, d_out, blas):
    """name -> a call computing this GEMM; the first is minidl's form today."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d_in), dtype=np.float32)
    W = rng.standard_normal((d_in, d_out), dtype=np.float32)
    g = rng.standard_normal((n, d_out), dtype=np.float32)            # dout
    Wt, xF, h, mm = np.ascontiguousarray(W.T), np.asfortranarray(x), n // 2, np.matmul
    if kind == "fwd":
        y = np.empty((n, d_out), np.float32)
        v = {"today: x @ W": lambda: x @ W,
             "out=": lambda: mm(x, W, out=y),
             "W stored (d_out,d_in): x @ Wt.T": lambda: x @ Wt.T,
             "x Fortran-ordered": lambda: xF @ W,
             "2 half batches": lambda: (mm(x[:h], W, out=y[:h]), mm(x[h:], W, out=y[h:]))}
    elif kind == "dW":
        gW, tmp = np.empty((d_in, d_out), np.float32), np.empty((d_in, d_out), np.float32)
        gWF = np.empty((d_in, d_out), np.float32, order="F")
        v = {"today: x.T @ dout, out= C": lambda: mm(x.T, g, out=gW),
             "allocate": lambda: x.T @ g,
             "(dout.T @ x).T": lambda: (g.T @ x).T,
             "out= Fortran (= W stored (d_out,d_in))": lambda: mm(x.T, g, out=gWF),
             "x Fortran-ordered": lambda: mm(xF.T, g, out=gW),
             "sum of 2 half batches": lambda: np.add(mm(x[:h].T, g[:h], out=gW), mm(x[h:].T, g[h:], out=tmp),
                                                     out=gW)}
    else:
        dx = np.empty((n, d_in), np.float32)
        v = {"today: dout @ W.T": lambda: g @ W.T,
             "out=": lambda: mm(g, W.T, out=dx),
             "W stored (d_out,d_in): dout @ Wt": lambda: g @ Wt,
             "2 half batches": lambda: (mm(g[:h], W.T, out=dx[:h]), mm(g[h:], W.T, out=dx[h:]))}
    today, threads = next(iter(v.values())), blas.num_threads     # below: threadpoolctl's limit, minus its bookkeeping
    v["this call at 1 thread"] = lambda: (blas.set_num_threads(1), today(), blas.set_num_threads(threads))
    return v


def torch_variants(torch, kind, n, d_in, d_out):
    """The torch forms: what nn.Linear (weight (d_out, d_in)) and its autograd run, then minidl's."""
    gen = torch.Generator().manual_seed(0)
    x, W, g = (torch.randn(s, generator=gen) for s in ((n, d_in), (d_in, d_out), (n, d_out)))
    Wt, linear = W.T.contiguous(), torch.nn.functional.linear
    if kind == "fwd":
        return {"torch F.linear(x, Wt)": lambda: linear(x, Wt), "torch x @ W": lambda: x @ W}
    if kind == "dW":
        return {"torch dout.T @ x (autograd)": lambda: g.T @ x, "torch x.T @ dout": lambda: x.T @ g}
    return {"torch dout @ Wt (autograd)": lambda: g @ Wt, "torch dout @ W.T": lambda: g @ W.T}


def steps(gemms, lib, np=None, cfg=None):
    """The step rows: one form of every GEMM of the step, in order (``gemms``: case -> variants)."""
    if lib == "torch":
        pick = {"torch nn.Linear forms": lambda names: names[0], "torch minidl forms": lambda names: names[1]}
    else:
        pick = {"today": lambda names: names[0],
                "W stored (d_out,d_in)": lambda names: next(k for k in names if "W stored" in k)}
    rows = {step: [v[choose(list(v))] for v in gemms.values()] for step, choose in pick.items()}
    rows = {step: (lambda calls=calls: [f() for f in calls]) for step, calls in rows.items()}
    if lib == "numpy":                     # minidl's whole step (forward, loss, backward, SGD), as Trainer runs it
        sys.path.insert(0, str(HERE.parent))
        from minidl.losses import SoftmaxCrossEntropy
        from minidl.models import MLP
        from minidl.optim import SGD
        rng = np.random.default_rng(0)
        model, loss = MLP(list(cfg.sizes), activation=cfg.activation, rng=rng), SoftmaxCrossEntropy()
        opt, X = SGD(model.parameters(), lr=0.01), rng.random((cfg.batch_size, cfg.sizes[0]), dtype=np.float32)
        y = rng.integers(0, cfg.sizes[-1], cfg.batch_size)
        rows["minidl's whole training step"] = lambda: (loss.forward(model.forward(X), y),
                                                        model.backward(loss.backward(), input_grad=False),
                                                        opt.step())
    return rows


class Worker:
    """One library at one thread count: builds every case's variants; times one round on request."""

    def __init__(self, lib: str, configs):
        import numpy as np
        self.rng, self.inner, self.cases, self.info = np.random.default_rng(1), {}, {}, {"numpy": np.__version__}
        if lib == "torch":
            import torch
            torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
            self.info.update(torch=torch.__version__, threads=torch.get_num_threads())
            build = lambda kind, *dims: torch_variants(torch, kind, *dims)      # noqa: E731
        else:
            from threadpoolctl import ThreadpoolController
            blas = ThreadpoolController().select(internal_api="openblas").lib_controllers[0]
            self.info.update(blas=f"OpenBLAS {blas.version} {blas.architecture}", threads=blas.num_threads)
            build = lambda kind, *dims: numpy_variants(np, kind, *dims, blas)   # noqa: E731
        for c in configs:
            gemms = {f"{c} {name}": build(kind, *dims) for name, kind, *dims in step_gemms(CONFIGS[c])}
            self.cases.update(gemms)
            self.cases[f"{c} step"] = steps(gemms, lib, np, CONFIGS[c])

    @staticmethod
    def block(f, inner):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(inner):
            f()
        return (time.perf_counter() - t0) / inner, (time.process_time() - c0) / inner

    def round(self, passes: int) -> dict:
        """{case: {variant: [(wall s, cpu s) per call, one per pass]}}."""
        out = {}
        for key, variants in self.cases.items():
            names = list(variants)
            if key not in self.inner:                  # calibrate once, on today's form
                variants[names[0]]()
                self.inner[key] = max(1, round(BLOCK_S / max(self.block(variants[names[0]], 3)[0], 1e-7)))
            out[key] = {name: [] for name in names}
            for _ in range(passes):
                self.rng.shuffle(names)
                for name in names:
                    out[key][name].append(self.block(variants[name], self.inner[key]))
        return out


def report(runs, infos, configs, notes) -> None:
    """One table per config: each GEMM's variants, then the steps, at 1 and 2 threads."""
    med = statistics.median

    def walls(lib, t, key, name, r=None):            # per-call wall seconds, one per block: one round or all
        return [w for rd in (runs[(lib, t)] if r is None else [runs[(lib, t)][r]]) for w, _ in rd[key][name]]

    def per_round(f, a, b):
        return med([f(r) for r in range(min(len(runs[a]), len(runs[b])))])

    def row(lib, key, name, today):
        cells, have = [], [t for t in (1, 2) if (lib, t) in runs]
        for t in have:
            if lib == "numpy":                         # paired within each pass
                vs = med([a / b for a, b in zip(walls(lib, t, key, name), walls(lib, t, key, today))])
            else:                                      # paired within each round, against NumPy today
                vs = per_round(lambda r: med(walls(lib, t, key, name, r)) / med(walls("numpy", t, key, today, r)),
                               (lib, t), ("numpy", t))
            cells += [f"{med(walls(lib, t, key, name)) * 1e6:.0f}", f"{vs:.2f}"]
        if have == [1, 2]:
            one, two = walls(lib, 1, key, name), walls(lib, 2, key, name)
            r21 = per_round(lambda r: med(walls(lib, 2, key, name, r)) / med(walls(lib, 1, key, name, r)),
                            (lib, 1), (lib, 2))
            cpu = sum(c for rd in runs[(lib, 2)] for _, c in rd[key][name]) / sum(two)
            p10 = sorted(two)[len(two) // 10] / sorted(one)[len(one) // 10]
            cells += [f"**{r21:.2f}**", f"{sum(two) / len(two) / (sum(one) / len(one)):.2f}", f"{p10:.2f}",
                      f"{cpu:.2f}"]
        return f"| {name} | " + " | ".join(cells + ["-"] * (8 - len(cells))) + " |"

    for (lib, t), rounds in runs.items():             # how much of a CPU each worker got while it ran
        blocks = [x for rd in rounds for case in rd.values() for b in case.values() for x in b]
        cpu, wall = sum(c for _, c in blocks), sum(w for w, _ in blocks)
        notes.append(f"{lib} {t} thread(s): {infos[(lib, t)]}; CPU time / wall time {cpu / wall:.2f}")
    print(f"\n{os.cpu_count()} cores" + "".join(f"\nnote: {n}" for n in notes))
    for c in configs:
        print(f"\n### {c}: {CONFIGS[c].describe()}\n\n| variant | 1t µs | 1t vs today | 2t µs | 2t vs today "
              "| 2t/1t | 2t/1t mean | 2t/1t p10 | 2t cpu/wall |\n" + "| --- " * 9 + "|")
        for name, kind, n, d_in, d_out in step_gemms(CONFIGS[c]) + [("step", "step", 0, 0, 0)]:
            if kind == "step":
                print("| **step: the GEMMs above in a row** |" + " |" * 8)
            else:     # NumPy hands C-ordered operands to cblas as row-major, so OpenBLAS sees the transposed
                m, nn = {"fwd": (d_out, n), "dW": (d_out, d_in), "dx": (d_in, n)}[kind]   # problem: m = the
                k = n * d_in * d_out // (m * nn)                                            # output's columns
                threads = "threaded" if m * nn * k > OPENBLAS_MIN_MNK else "1 thread"
                print(f"| **{name}** {n}x{d_in}x{d_out} (OpenBLAS m,n,k {m},{nn},{k}: {threads}) |" + " |" * 8)
            key = f"{c} {name}"
            today = next(iter(runs[("numpy", 1)][0][key]))
            for lib in ("numpy", "torch"):
                some = runs.get((lib, 1)) or runs.get((lib, 2))
                for variant in (some[0][key] if some else []):
                    print(row(lib, key, variant, today))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=["A", "D"], choices=["A", "B", "C", "D"])
    p.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default 30)")
    p.add_argument("--passes", type=int, default=5, help="passes over the variants per round (default 5)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even when installed")
    p.add_argument("--json", type=Path, help="also write the raw times to this file")
    p.add_argument("--worker", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return serve(args.worker, args.threads, lambda: Worker(args.worker, args.configs),
                     lambda worker, cmd: worker.round(cmd["passes"]))
    workers, infos, notes = {}, {}, []
    for lib, t in [("numpy", 1), ("numpy", 2)] + ([] if args.no_torch else [("torch", 1), ("torch", 2)]):
        client = Client(__file__, lib, t, "--configs", *args.configs)
        if client.error:
            notes.append(f"{lib} skipped: {client.error}")
        else:
            workers[(lib, t)], infos[(lib, t)] = client, client.info
    runs, loads, order, t0 = {k: [] for k in workers}, [], list(workers), time.perf_counter()
    for r in range(args.rounds + 1):
        for key in order[r % len(order):] + order[:r % len(order)]:
            result = workers[key].ask(passes=args.passes)
            if r:
                runs[key].append(result)
            if key[1] == 2:
                time.sleep(0.15)
        loads.append(os.getloadavg()[0])
        print(f"  round {r} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    for client in workers.values():
        client.close()                                 # closes stdin: the worker's loop ends
    if args.json:
        args.json.write_text(json.dumps({"infos": {f"{k[0]} {k[1]}": v for k, v in infos.items()},
                                         "runs": {f"{k[0]} {k[1]}": v for k, v in runs.items()}}))
    notes.append(f"load average (1 min) over the rounds: median {statistics.median(loads):.2f}, "
                 f"range {min(loads):.2f}-{max(loads):.2f}")
    report(runs, infos, args.configs, notes)


if __name__ == "__main__":
    main()

"""The tables that ``bench_train.py`` prints: one per thread count, then the targets across both."""
from __future__ import annotations

import os
import statistics

from _common import CONFIGS, N_EXAMPLES


def fmt_ratio(a, b) -> str:
    return f"{a / b:6.2f}" if a and b else "     -"


def _split(name: str):
    return (name[:-2], "float64") if name.endswith("64") else (name, "float32")


def report(args, impls, times, cpu, round_times, peaks, peak_mb, data, notes) -> dict:
    """Print the table of epoch times, the CPU times, the paired ratios and the CNN's peak memory;
    return ``{config: row}`` (medians, paired ratios, the raw seconds) for the summary and ``--json``."""
    print(f"data: {'; '.join(data.values())}; median of {args.repeats} epochs of {N_EXAMPLES} examples "
          f"after a {args.warmup}-example warm-up; load average {os.getloadavg()[0]:.2f} at end")
    print("matmul peak (2048^3, best of the run): " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items()))
    for note in notes:
        print("note:", note)
    head = (f"{'config':<44} {'minidl s':>8} {'flat s':>7} {'torch s':>7} {'bound s':>7}  "
            f"{'minidl/s':>8} {'flat/s':>7} {'torch/s':>7}  {'m/torch':>7} {'m/flat':>6} {'m/bound':>7}")
    print(head)
    print("-" * len(head))
    rows = {}
    for name in args.configs:
        config, dtype = _split(name)
        cfg = CONFIGS[config]
        med = {i: statistics.median(times[(name, i)]) for i in impls if (name, i) in times}
        bound = cfg.epoch_flops() / (peaks[dtype] * 1e9)
        label = f"{name}: {cfg.describe()}" + (" f64" if dtype == "float64" else "")
        sec = lambda i: f"{med[i]:.3f}" if i in med else "-"            # noqa: E731
        rate = lambda i: f"{N_EXAMPLES / med[i] / 1e3:.0f}k" if i in med else "-"   # noqa: E731
        m = med["minidl"]
        print(f"{label:<44} {sec('minidl'):>8} {sec('flat'):>7} {sec('torch'):>7} {bound:>7.3f}  "
              f"{rate('minidl'):>8} {rate('flat'):>7} {rate('torch'):>7}  "
              f"{fmt_ratio(m, med.get('torch')):>7} {fmt_ratio(m, med.get('flat')):>6} {fmt_ratio(m, bound):>7}")
        rounds = round_times[name]
        paired = {other: statistics.median(r["minidl"] / r[other] for r in rounds)
                  for other in impls if other != "minidl" and other in rounds[0]}
        rows[name] = dict(median=med, bound=bound, paired=paired, seconds={i: times[(name, i)] for i in med},
                          cpu_median={i: statistics.median(cpu[(name, i)]) for i in med})
    if "A" in rows and "A64" in rows:
        a32, a64 = rows["A"]["median"], rows["A64"]["median"]
        print("float64 / float32 on A: " + ", ".join(f"{i} {a64[i] / a32[i]:.2f}" for i in a32))
    print("samples/s in thousands of examples per second (F: steps per second x 10); "
          "ratios < 1 mean minidl is faster")
    # CPU time of the worker: steadier than wall time when other jobs share the cores (with 2
    # threads it adds up both threads, so compare it only between implementations)
    print("\nCPU seconds per epoch (median; less sensitive to other load):")
    for name, row in rows.items():
        med = row["cpu_median"]
        print(f"  {name:<6} " + "  ".join(f"{i} {v:.3f}" for i, v in med.items()) +
              "".join(f"   minidl/{o} {med['minidl'] / med[o]:.2f}" for o in ("flat", "torch") if o in med))
    # each round runs the same chunk in every implementation back to back, so both sides of a
    # ratio see the same machine: the median over rounds is the steadiest number here
    print(f"\nPaired ratios (median over {len(next(iter(round_times.values())))} rounds of {args.chunk} "
          "examples; each round runs every implementation back to back):")
    for name, row in rows.items():
        print(f"  {name:<6} " + "   ".join(f"minidl/{k} {v:.2f}" for k, v in row["paired"].items()))
    if "CNN" in args.configs:
        print("\nPeak resident memory of each worker after the CNN's epochs (MB; the dataset, 188 MB in "
              "float32, included): " + ", ".join(f"{i} {peak_mb[('CNN', i)]:.0f}" for i in impls
                                                if ("CNN", i) in peak_mb))
    return rows


def summary(args, rows_by_threads: dict) -> None:
    """The targets at every thread count measured: the paired ratios side by side."""
    threads = sorted(rows_by_threads)
    print("\n### Summary: paired ratios (median over rounds) at " + " and ".join(f"{t} thread{'s' * (t > 1)}"
                                                                              for t in threads))
    print(f"{'config':<8} " + " ".join(f"{'m/flat ' + str(t):>9} {'m/torch ' + str(t):>10}" for t in threads))
    for name in args.configs:
        cells = []
        for t in threads:
            paired = rows_by_threads[t].get(name, {}).get("paired", {})
            cells.append(f"{paired['flat']:>9.2f}" if "flat" in paired else f"{'-':>9}")
            cells.append(f"{paired['torch']:>10.2f}" if "torch" in paired else f"{'-':>10}")
        print(f"{name:<8} " + " ".join(cells))
    print("(Adam against SGD per step: benchmarks/bench_adam_step.py pairs them in one process; the epochs\n"
          " above ran minutes apart, so their ratio would mix in the machine's load.)")

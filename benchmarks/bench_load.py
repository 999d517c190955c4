"""How long does loading MNIST take?  Naive CSV loop vs load_csv vs cache vs IDX.

    python benchmarks/bench_load.py                  # all 60,000 training rows
    python benchmarks/bench_load.py --rows 10000     # a first-N-rows slice
    python benchmarks/bench_load.py --repeats 5 --naive-rows 6000

It writes the training set (or its first --rows rows) as a course-format
CSV into a temporary directory, then times, on that same file:

- naive:        the per-pixel Python loop ``[int(px) / 255 for px in line.split(",")]``.
                It is slow, so by default it runs once on the first --naive-rows
                rows and the time is scaled up linearly to --rows (printed as such).
- first parse:  ``load_csv(path, cache=False)``, the vectorised parser.
- cached:       ``load_csv(path)`` reading the ``.cache.npz`` written by a warm-up call.
- IDX gz:       ``load_idx`` on the original gzip files (always all 60,000 rows).

Times are medians of --repeats runs, as wall-clock and as this process's
CPU time (other jobs on a shared machine inflate the first, much less the
second).  The naive time includes turning its lists into arrays, so all
rows end with the same (N, 784) float32 + (N,) int64 result.  The real files
come from $MINIDL_DATA, else ../shared/data/mnist next to the repository.
Nothing here asserts on speed: machines differ; read the table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))      # run from anywhere without installing minidl

from minidl.data import load_csv, load_idx, write_csv  # noqa: E402
from minidl.data.idx import read_idx_pair  # noqa: E402

TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60000, help="CSV rows to time (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per method; the median is shown")
    parser.add_argument("--naive-rows", type=int, default=6000,
                        help="rows the naive loop really parses, scaled up to --rows "
                             "(use the same value as --rows to time it in full)")
    return parser.parse_args()


def data_dir() -> Path:
    folder = Path(os.environ.get("MINIDL_DATA") or REPO.parent / "shared" / "data" / "mnist")
    if not all((folder / name).is_file() for name in TRAIN):
        sys.exit(f"bench_load: MNIST .gz files not found in {folder}; set MINIDL_DATA")
    return folder


def naive_load(path: Path, max_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The loop the course started from: one Python int() per pixel."""
    X, y = [], []
    with open(path) as f:
        for line, _ in zip(f, range(max_rows)):
            fields = line.split(",")
            y.append(int(fields[0]))
            X.append([int(px) / 255 for px in fields[1:]])
    return np.array(X, dtype=np.float32), np.array(y, dtype=np.int64)


def median_time(fn, repeats: int) -> tuple[float, float]:
    """Median (wall-clock seconds, CPU seconds of this process) over ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    args = parse_args()
    folder = data_dir()
    images, labels = folder / TRAIN[0], folder / TRAIN[1]
    pixels, targets = read_idx_pair(images, labels)
    rows = min(args.rows, len(targets))
    naive_rows = min(args.naive_rows, rows)

    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        csv = Path(tmp) / "mnist_train.csv"
        start = time.perf_counter()
        write_csv(csv, pixels[:rows], targets[:rows])
        write_s = time.perf_counter() - start
        size_mb = csv.stat().st_size / 2**20
        print(f"CSV: {rows} rows, {size_mb:.1f} MB, written by write_csv in {write_s:.2f} s "
              f"(median of {args.repeats} runs below)\n")

        scale = rows / naive_rows
        naive_s = tuple(t * scale for t in median_time(lambda: naive_load(csv, naive_rows), 1))
        first_s = median_time(lambda: load_csv(csv, cache=False), args.repeats)
        load_csv(csv)                                    # warm-up: writes the cache
        cached_s = median_time(lambda: load_csv(csv), args.repeats)
        idx_s = median_time(lambda: load_idx(images, labels), args.repeats)

    naive_note = "" if naive_rows == rows else f"  (1 run on {naive_rows} rows, x{rows / naive_rows:.1f})"
    table = [
        ("naive Python loop", rows, naive_s, naive_note),
        ("load_csv first parse", rows, first_s, ""),
        ("load_csv cached reload", rows, cached_s, ""),
        ("load_idx (.gz)", len(targets), idx_s, ""),
    ]
    print(f"{'method':<24} {'rows':>7} {'wall s':>8} {'cpu s':>8} {'rows/s (wall)':>14}")
    for name, n, (wall, cpu), note in table:
        print(f"{name:<24} {n:>7} {wall:>8.3f} {cpu:>8.3f} {n / wall:>14,.0f}{note}")
    print("\nratios (wall; cpu - the CPU-time ratio is steadier on a busy machine)")
    for label, a, b in (("naive / first parse", naive_s, first_s),
                        ("first parse / cached", first_s, cached_s),
                        ("naive / cached", naive_s, cached_s)):
        print(f"  {label:<22}: {a[0] / b[0]:7.1f}x; {a[1] / b[1]:7.1f}x")
    print("  (the issue asks for naive / first parse >= 8x)")


if __name__ == "__main__":
    main()

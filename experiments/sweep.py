"""Run a grid of training jobs in parallel and compare them.

    python -m experiments.sweep configs/sweeps/twolayer_lr.yaml
    python -m experiments.sweep configs/sweeps/twolayer_reg.yaml --workers 2
    python -m experiments.sweep configs/sweeps/twolayer_lr.yaml --executor dask                 # LocalCluster
    python -m experiments.sweep configs/sweeps/twolayer_lr.yaml --executor dask --scheduler tcp://HOST:8786

Writes runs/sweep-<name>/ with one run folder per point, results.csv and
comparison.png.  Re-running the same sweep skips the points already done.
"""
from __future__ import annotations

import argparse
import sys

from minidl.runs.executors import ExecutorError
from minidl.runs.sweep_runner import load_sweep, run_sweep


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", help="sweep YAML, e.g. configs/sweeps/twolayer_lr.yaml")
    parser.add_argument("--executor", choices=("local", "dask"), default=None,
                        help="where the points run: local, a pool of processes (the default), or dask, a Dask "
                             "cluster (needs pip install -e '.[dist]')")
    parser.add_argument("--scheduler", metavar="tcp://HOST:8786", default=None,
                        help="address of a running `dask scheduler` (implies --executor dask); without it, "
                             "--executor dask starts a LocalCluster on this machine")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes, each pinned to one BLAS thread (default: the sweep file's, else "
                             "all cores); sizes the local pool or the LocalCluster")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the base config for every point (repeatable)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.scheduler and args.executor == "local":
        parser.error("--scheduler needs --executor dask")
    if args.scheduler and args.workers is not None:
        parser.error("--workers sizes a cluster started here; with --scheduler, the cluster's own workers run")
    executor = args.executor or ("dask" if args.scheduler else "local")
    try:
        sweep = load_sweep(args.sweep, args.set)
        _, rows = run_sweep(sweep, workers=args.workers, executor=executor, scheduler=args.scheduler)
    except (ValueError, ExecutorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in rows if r["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

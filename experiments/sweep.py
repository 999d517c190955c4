"""Run a grid of training jobs in parallel and compare them.

    python -m experiments.sweep configs/sweeps/twolayer_lr.yaml
    python -m experiments.sweep configs/sweeps/twolayer_reg.yaml --workers 2

Writes runs/sweep-<name>/ with one run folder per point, results.csv and
comparison.png.  Re-running the same sweep skips the points already done.
"""
from __future__ import annotations

import argparse
import sys

from minidl.config import ConfigError
from minidl.sweep import load_sweep, run_sweep


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", help="sweep YAML, e.g. configs/sweeps/twolayer_lr.yaml")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes, each pinned to one BLAS thread (default: the sweep file's, else all cores)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the base config for every point (repeatable)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        sweep = load_sweep(args.sweep, args.set)
        _, rows = run_sweep(sweep, workers=args.workers)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in rows if r["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

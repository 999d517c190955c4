"""Run a grid of training jobs in parallel and compare them.

    python -m experiments.sweep configs/sweeps/twolayer_lr.yaml
    python -m experiments.sweep configs/sweeps/twolayer_reg.yaml --workers 2
    python -m experiments.sweep configs/sweeps/twolayer_lr.yaml --set Sweep.set.Train.epochs=2
    python -m experiments.sweep configs/sweeps/twolayer_lr.yaml --executor dask                 # LocalCluster
    python -m experiments.sweep configs/sweeps/twolayer_lr.yaml --scheduler tls://HOST:8786      # a running cluster

Writes runs/sweep-<name>/ with one run folder per point, results.csv,
comparison.png and summary.json.  Re-running the same sweep skips the points
already done.  ``--workers`` is the number of worker processes, each pinned to
one BLAS thread (default: all cores); ``--executor dask`` needs
``pip install -e '.[dist]'``; a ``tls://`` scheduler, certificates in Dask's
configuration (docs/dask.md).  Exit status 1 if a point failed.
"""
from minidl.runs.cli import main
from minidl.runs.sweep_runner import FLAGS, SCHEMA, check, data_sections, run, run_folder

__all__ = ["SCHEMA", "FLAGS", "check", "data_sections", "run", "run_folder"]

if __name__ == "__main__":
    raise SystemExit(main(__name__))

"""The one entry point: the main job, sweeps and every study start here.

    python -m experiments.train configs/config_exp.yaml --set Train.learning_rate=0.05
    python -m experiments.mlds.random_labels configs/mlds/random_labels.yaml
    python -m experiments.train --resume runs/config_exp-20261122-130515

A study is a module that holds only what differs from the others:

    SCHEMA                  its config sections (``minidl.runs.config.Key``s); an Output
                            section ``{dir, name}`` is added when it has none
    run(cfg, run_dir)       does the work and returns the summary, written as summary.json

and, where it needs them:

    check(cfg, where)       what the schema cannot see (keys that depend on each other,
                            files a key names); may rewrite paths relative to the config file
    resume(run_dir, cfg)    continues an interrupted run: ``--resume RUN_DIR``
    replot(run_dir)         redraws the figures of a finished run: ``--replot RUN_DIR``
    FLAGS                   ``{"--workers": "Sweep.workers"}``: options that set a config key
    run_folder(cfg, stem)   where the run goes; default ``Output.dir/<Output.name or stem>-<time>``
    BLAS_THREADS            run with at most this many BLAS threads (``minidl.util.threads``)

Its command line is then one line: ``if __name__ == "__main__": raise SystemExit(main(__name__))``.

Every command parses ``CONFIG`` and repeatable ``--set KEY=VALUE``, validates the
whole config before the run folder exists (so a bad config leaves nothing
behind), writes the resolved ``config.yaml``, runs, and writes ``summary.json``.
A bad config, bad data or a bad run folder (any ValueError) is one line on
stderr and exit status 2.  Exit status otherwise: 0 when the run ends normally,
1 when it diverged or failed, 128 + the signal number when Ctrl-C or SIGTERM
interrupted it (130, 143).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import time
from pathlib import Path
from types import ModuleType

from minidl.runs.config import ConfigError, Key, apply_overrides, load_yaml, validate
from minidl.data import find_data
from minidl.runs.folder import create_run_dir, interrupted_summary, lock_run_folder, write_config, write_summary
from minidl.training.signals import Interrupted, SignalGuard, phase
from minidl.util.fileio import WriteError
from minidl.util.threads import blas_thread_limit

__all__ = ["OUTPUT_SCHEMA", "schema_of", "resolve_config", "load_config", "run_study", "resume_study", "main",
           "exit_status"]

# every run's Output section: runs/<name or config stem>-<time>/
OUTPUT_SCHEMA = {"dir": Key(str, "runs", doc="parent folder of the run folder"),
                 "name": Key((str, type(None)), None, doc="run folder prefix; null: the config file's stem")}


def _study(study) -> ModuleType:
    """A study module, from the module itself or its name (``experiments.mlds.random_labels``)."""
    return importlib.import_module(study) if isinstance(study, str) else study


def schema_of(study) -> dict:
    """The study's full schema: its SCHEMA, with the standard Output section if it has none."""
    study = _study(study)
    return {**study.SCHEMA, "Output": study.SCHEMA.get("Output", OUTPUT_SCHEMA)}


def resolve_config(study, cfg: dict, where: str = "config") -> dict:
    """Validate a config dict against the study's schema, fill the defaults, run its check.

    Returns the resolved config; raises ConfigError naming ``where`` and the key.
    """
    study = _study(study)
    cfg = validate(cfg, schema_of(study), where)
    if hasattr(study, "check"):
        study.check(cfg, where)
    return cfg


def load_config(study, path, overrides=()) -> dict:
    """Read ``path``, apply ``--set`` overrides, and ``resolve_config``: ConfigError before any work."""
    # an override can clash with the file (--set Train.epochs=2 on "Train: 5"): name both
    return resolve_config(study, apply_overrides(load_yaml(path), overrides, source=f"{path}: --set"), str(path))


def data_sections(study, cfg: dict) -> list[dict]:
    """The MNIST ``Data`` sections a run reads: the study's ``data_sections(cfg)``, else the
    config's ``Data`` section if it has a ``dir`` key, and the grid studies' ``Training.Data``."""
    if hasattr(study, "data_sections"):
        return list(study.data_sections(cfg))
    sections = [cfg["Data"]] if isinstance(cfg.get("Data"), dict) and "dir" in cfg["Data"] else []
    if isinstance(cfg.get("Training"), dict):
        sections.append(cfg["Training"].get("Data") or {})
    return sections


def _find_data(study, cfg: dict, where: str) -> None:
    phase("finding the data")
    for section in data_sections(study, cfg):
        find_data(section, where)


def run_study(study, config, overrides=(), log=print) -> tuple[Path, dict]:
    """Validate, find the data, make the run folder, write config.yaml, run, write summary.json.

    ``config`` is the path of a YAML file, or a config dict.  Returns ``(run folder, summary)``.
    Ctrl-C or SIGTERM at any moment after the folder exists still ends with summary.json.
    """
    study = _study(study)
    with SignalGuard(log):
        phase("checking the config")
        if isinstance(config, dict):
            where, stem = "config dict", study.__name__.rsplit(".", 1)[-1]
            cfg = resolve_config(study, apply_overrides(config, overrides), where)
        else:
            where, stem = str(config), Path(config).stem
            cfg = load_config(study, config, overrides)
        _find_data(study, cfg, where)
        if hasattr(study, "run_folder"):
            run_dir = study.run_folder(cfg, stem)
        else:
            run_dir = create_run_dir(cfg["Output"]["dir"], cfg["Output"]["name"] or stem)
        return run_dir, _run_in(study, run_dir, lambda: study.run(cfg, run_dir, log=log), cfg)


def resume_study(study, run_dir, config=None, overrides=(), log=print) -> tuple[Path, dict]:
    """Continue the run in ``run_dir`` with its own config.yaml (or ``config``) and ``overrides``."""
    study = _study(study)
    run_dir = Path(run_dir)
    saved = run_dir / "config.yaml"
    with SignalGuard(log):
        if not saved.is_file():
            raise ConfigError(f"{run_dir}: not a run folder (no config.yaml); expected e.g. runs/config_exp-<timestamp>")
        cfg = load_config(study, config or saved, overrides)
        return run_dir, _run_in(study, run_dir, lambda: study.resume(run_dir, cfg, log=log))


def _run_in(study, run_dir: Path, work, cfg: dict | None = None) -> dict:
    """Lock ``run_dir``, write config.yaml (if ``cfg``), do ``work()``, write summary.json.

    An interruption ends with an ``interrupted`` summary; a failed write (disk full)
    with a ``failed`` one where it can still be written, and the WriteError.
    """
    started = time.perf_counter()
    with lock_run_folder(run_dir):
        try:
            if cfg is not None:
                write_config(run_dir, cfg)
            with blas_thread_limit(getattr(study, "BLAS_THREADS", None)):
                summary = work()
        except Interrupted as exc:
            summary = interrupted_summary(run_dir, exc)
        except WriteError as exc:
            with contextlib.suppress(WriteError):
                write_summary(run_dir, {"status": "failed", "error": str(exc)}, started)
            raise
        guard = SignalGuard.active
        with guard.hold() if guard else contextlib.nullcontext():
            phase("writing the summary")
            summary = write_summary(run_dir, summary, started)
            if guard and guard.signum and not summary.get("signal"):     # it came during the last steps
                summary = write_summary(run_dir, {**summary, "signal": signal.Signals(guard.signum).name})
    return summary


def exit_status(summary: dict) -> int:
    """0 for a run that ended normally, 1 diverged or failed, 128 + signal number when a signal came."""
    status = summary.get("status")
    if summary.get("signal"):
        return 128 + int(signal.Signals[summary["signal"]])
    return 1 if status in ("diverged", "failed") else 0


def _parser(study: ModuleType) -> argparse.ArgumentParser:
    name = study.__spec__.name if study.__spec__ else study.__name__
    parser = argparse.ArgumentParser(prog=f"python -m {name}", description=study.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    optional = hasattr(study, "resume") or hasattr(study, "replot")
    parser.add_argument("config", nargs="?" if optional else None, help="the YAML config of the run")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set Train.epochs=3 (repeatable)")
    for flag, key in getattr(study, "FLAGS", {}).items():
        parser.add_argument(flag, dest=key, default=None, metavar="VALUE", help=f"the same as --set {key}=VALUE")
    if hasattr(study, "resume"):
        parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last "
                            "completed epoch (only the number of epochs may change)")
    if hasattr(study, "replot"):
        parser.add_argument("--replot", metavar="RUN_DIR", help="only redraw the figures of the run in RUN_DIR")
    return parser


def _command(study: ModuleType, argv) -> int:
    parser = _parser(study)
    args = parser.parse_args(argv)
    flags = vars(args)
    overrides = [f"{key}={flags[key]}" for key in getattr(study, "FLAGS", {}).values() if flags[key] is not None]
    overrides += args.set
    if getattr(args, "replot", None):
        print(f"wrote {study.replot(Path(args.replot))}")
        return 0
    if getattr(args, "resume", None):
        run_dir, summary = resume_study(study, args.resume, args.config, overrides)
    elif args.config is None:
        parser.error("give a config file" + (", or --resume RUN_DIR" if hasattr(study, "resume") else ""))
    else:
        run_dir, summary = run_study(study, args.config, overrides)
    status = exit_status(summary)
    if summary.get("status") == "interrupted":
        hint = f" Resume with: {parser.prog} --resume {run_dir}" if hasattr(study, "resume") else ""
        print(f"{summary.get('message', 'interrupted')}; the run folder keeps what was finished: {run_dir}.{hint}",
              file=sys.stderr)
    else:
        print(f"run folder: {run_dir}")
    return status


def main(study, argv=None) -> int:
    """The command line of ``study`` (a module, or its name; ``"__main__"`` when run with ``python -m``).

    ``argv`` defaults to ``sys.argv[1:]``.  Returns the exit status.
    """
    if study == "__main__":
        study = sys.modules["__main__"]
    try:
        return _command(_study(study), argv)
    except ValueError as exc:          # ConfigError, DataError, CheckpointError, WriteError are all ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:         # before the run folder existed: nothing to keep
        print(f"{exc}; nothing was written", file=sys.stderr)
        return 128 + (exc.signum or signal.SIGINT)

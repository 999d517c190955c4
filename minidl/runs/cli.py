"""The command line every study shares: ``python -m experiments.<study> CONFIG [--set K=V ...]``.

    def main(argv=None):
        return run_study(argv, "experiments.mlds.weight_pca", __doc__, SCHEMA, run)

    if __name__ == "__main__":
        cli(main)

``run_study`` parses the arguments, validates the config against the study's
schema (a ConfigError names the file and key before any work), creates the run
folder, writes the resolved config.yaml and calls ``run(cfg, run_dir)``.
``cli`` turns a bad config or missing data into one line and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minidl.runs.config import Key, apply_overrides, load_yaml, validate
from minidl.runs.folder import create_run_dir, write_config

__all__ = ["OUTPUT_SCHEMA", "load_study_config", "study_parser", "run_study", "cli"]

# every study's Output section: runs/<name or config stem>-<time>/
OUTPUT_SCHEMA = {"dir": Key(str, "runs", doc="parent folder of the run folder"),
                 "name": Key((str, type(None)), None, doc="run folder prefix; null: the config file's stem")}


def load_study_config(path, overrides, schema: dict, check=None) -> dict:
    """Read ``path``, apply ``--set`` overrides and validate against ``schema``.

    ``check(cfg, where)`` may raise ConfigError for what a schema cannot see
    (e.g. a main-job config nested in the study's).
    """
    cfg = validate(apply_overrides(load_yaml(path), overrides), schema, str(path))
    if check is not None:
        check(cfg, str(path))
    return cfg


def study_parser(module: str, doc: str | None) -> argparse.ArgumentParser:
    """``CONFIG`` and repeatable ``--set KEY=VALUE``; a study may add its own options."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=(doc or "").split("\n")[0])
    parser.add_argument("config", help=f"YAML config, e.g. configs/mlds/{module.rsplit('.', 1)[-1]}.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value (repeatable)")
    return parser


def run_study(argv, module: str, doc: str | None, schema: dict, run, parser=None, check=None) -> Path:
    """Parse, validate (and ``check``), make the run folder, write config.yaml, then ``run(cfg, run_dir)``."""
    args = (parser or study_parser(module, doc)).parse_args(argv)
    cfg = load_study_config(args.config, args.set, schema, check)
    run_dir = create_run_dir(cfg["Output"]["dir"], cfg["Output"]["name"] or Path(args.config).stem)
    write_config(run_dir, cfg)
    run(cfg, run_dir)
    return run_dir


def cli(main) -> None:
    """Run ``main()``; a ValueError (ConfigError, DataError, ...) becomes one line and exit status 2."""
    try:
        main()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)

"""YAML configs: loading, ``--set`` overrides, and schema validation.

A schema is a nested dict: ``{section: {key: Key(...)}}``.  ``validate``
checks a loaded config against it *before* any work starts and fills in the
defaults.  Every error is a ``ConfigError`` (a ValueError) that names the
file, the dotted key and the offending value, and suggests the closest valid
key for a typo::

    configs/x.yaml: unknown key Train.learnig_rate (did you mean learning_rate?)
"""
from __future__ import annotations

import copy
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["ConfigError", "Key", "REQUIRED", "load_yaml", "apply_overrides", "validate", "get_dotted",
           "is_number", "positive", "non_negative", "fraction", "positive_int", "betas_pair", "optional_positive_int",
           "layer_sizes", "hidden_widths", "optimizer_spec", "optimizer_specs", "as_overrides", "dotted_keys"]


class ConfigError(ValueError):
    """A config file, key or value is wrong.  The message says which and what was expected."""


REQUIRED = object()


@dataclass
class Key:
    """One config key.

    types:   accepted Python types (int values are accepted where float is).
    default: value used when the key is absent; ``REQUIRED`` makes it mandatory.
    check:   optional ``f(value) -> str | None`` returning what was expected when the value is bad.
    choices: optional list of allowed values.
    """
    types: tuple | type
    default: Any = None
    check: Callable[[Any], str | None] | None = None
    choices: list | None = None
    doc: str = ""

    def __post_init__(self):
        if not isinstance(self.types, tuple):
            self.types = (self.types,)


# ---- value checks: each returns None when the value is fine, else what was expected ----

def is_number(value) -> bool:
    """A finite int or float (booleans are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def positive(value) -> str | None:
    return None if is_number(value) and value > 0 else "a number > 0"


def non_negative(value) -> str | None:
    return None if is_number(value) and value >= 0 else "a number >= 0"


def fraction(value) -> str | None:
    return None if is_number(value) and 0 <= value < 1 else "a number in [0, 1)"


def positive_int(value) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return None if ok else "an integer > 0"


def betas_pair(value) -> str | None:
    ok = isinstance(value, list) and len(value) == 2 and all(fraction(v) is None for v in value)
    return None if ok else "a pair [beta1, beta2] with each in [0, 1)"


def optional_positive_int(value) -> str | None:
    return None if value is None or positive_int(value) is None else "null or an integer > 0"


def layer_sizes(value) -> str | None:
    """At least two positive layer sizes, input and output included, e.g. [784, 128, 10]."""
    ok = isinstance(value, list) and len(value) >= 2 and all(positive_int(v) is None for v in value)
    return None if ok else "a list of at least two positive integers, e.g. [784, 128, 10]"


def hidden_widths(value) -> str | None:
    """Positive hidden-layer widths; may be empty (a linear model)."""
    ok = isinstance(value, list) and all(positive_int(v) is None for v in value)
    return None if ok else "a list of positive integers, e.g. [100, 100] ([] for a linear model)"


def optimizer_spec(value) -> str | None:
    """``{type: sgd | adam | rmsprop | adagrad, lr: ..., <options>}``, built once on a probe
    parameter, so that a misspelt option is named now (``minidl.optim.build_optimizer``)."""
    import numpy as np

    from minidl.optim import build_optimizer
    from minidl.parameter import Parameter
    if not isinstance(value, dict) or "lr" not in value:
        return "a mapping {type: sgd | adam | rmsprop | adagrad, lr: ..., <options>}"
    try:
        build_optimizer(value, [Parameter(np.zeros(1))])
    except ValueError as exc:
        return f"a valid optimizer ({exc})"
    return None


def optimizer_specs(value) -> str | None:
    """``{label: optimizer spec, ...}``, at least one."""
    if not isinstance(value, dict) or not value:
        return "a mapping label -> {type: sgd, lr: 1.0e-3, ...}"
    for label, spec in value.items():
        problem = optimizer_spec(spec)
        if problem:
            return f"{problem} for {label!r}"
    return None


def _type_names(types) -> str:
    names = {int: "an integer", float: "a number", bool: "true/false", str: "a string",
             list: "a list", dict: "a mapping", type(None): "null"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping from ``path``; ConfigError for a missing file or bad YAML."""
    import yaml
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level; got {type(data).__name__}")
    return data


def get_dotted(cfg: dict, dotted: str, default=None):
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def apply_overrides(cfg: dict, overrides, source: str = "--set") -> dict:
    """Return a copy of ``cfg`` with ``["Section.key=value", ...]`` applied.

    Values are parsed as YAML, so ``0.05`` is a float, ``true`` a bool and
    ``[784, 30, 10]`` a list.  Unknown keys are left for ``validate`` to report.
    """
    import yaml
    cfg = copy.deepcopy(cfg)
    for item in overrides or ():
        if "=" not in item:
            raise ConfigError(f"{source} {item!r}: expected KEY=VALUE, e.g. Train.learning_rate=0.05")
        dotted, _, raw = item.partition("=")
        parts = dotted.strip().split(".")
        if not all(parts):
            raise ConfigError(f"{source} {item!r}: bad key {dotted!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        node = cfg
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"{source} {item!r}: {part} is not a section")
            node = child
        node[parts[-1]] = value
    return cfg


def as_overrides(mapping: dict) -> list[str]:
    """``{'Train.epochs': 2, 'Model.sizes': [784, 10]}`` -> ``['Train.epochs=2', 'Model.sizes=[784, 10]']``."""
    import json
    return [f"{k}={json.dumps(v) if isinstance(v, (list, dict, type(None))) else v}" for k, v in mapping.items()]


def dotted_keys(mapping: dict | None) -> dict:
    """``{Train: {epochs: 2}, 'Model.sizes': [...]}`` -> ``{'Train.epochs': 2, 'Model.sizes': [...]}``.

    Overrides of another config, given in a config (``Sweep.set``, ``Study.set``):
    ``--set Sweep.set.Train.epochs=2`` arrives nested, a file writes dotted keys.
    """
    out = {}
    for key, value in (mapping or {}).items():
        if "." not in str(key) and isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def validate(cfg: dict, schema: dict, where: str = "config") -> dict:
    """Check ``cfg`` against ``schema`` and return a new dict with defaults filled in.

    ``where`` (usually the file name) starts every error message.
    """
    if not isinstance(cfg, dict):
        raise ConfigError(f"{where}: expected a mapping; got {type(cfg).__name__}")
    return _validate_section(cfg, schema, where, prefix="")


def _validate_section(cfg: dict, schema: dict, where: str, prefix: str) -> dict:
    out = {}
    for key in cfg:
        if key not in schema:
            kind = "section" if not prefix else "key"
            raise ConfigError(f"{where}: unknown {kind} {prefix}{key}{_suggest(str(key), schema)}; "
                              f"valid {kind}s here: {', '.join(schema)}")
    for key, spec in schema.items():
        name = f"{prefix}{key}"
        if isinstance(spec, dict):                       # a nested section
            value = cfg.get(key) or {}
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {name} must be a section (a mapping of keys); got {value!r}")
            out[key] = _validate_section(value, spec, where, prefix=f"{name}.")
            continue
        if key not in cfg or cfg[key] is None and spec.default is not REQUIRED and type(None) not in spec.types:
            if spec.default is REQUIRED:
                raise ConfigError(f"{where}: missing required key {name}")
            out[key] = copy.deepcopy(spec.default)
            continue
        out[key] = _check_value(cfg[key], spec, where, name)
    return out


def _check_value(value, spec: Key, where: str, name: str):
    types = spec.types
    if isinstance(value, str) and float in types and str not in types:
        # YAML 1.1 (PyYAML) reads 1e-4 (no dot) as a string; accept what is plainly a number
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) and bool not in types:
        ok = False
    elif isinstance(value, int) and not isinstance(value, bool) and float in types and int not in types:
        value, ok = float(value), True
    else:
        ok = isinstance(value, types)
    if not ok:
        raise ConfigError(f"{where}: {name} must be {_type_names(types)}; got {value!r}")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{where}: {name} must be one of {spec.choices}; got {value!r}"
                          f"{_suggest(str(value), map(str, spec.choices))}")
    if spec.check is not None:
        expected = spec.check(value)
        if expected:
            raise ConfigError(f"{where}: {name} must be {expected}; got {value!r}")
    return value

"""Bad run folders, fuzzed: whatever is missing or damaged in the folder given to ``--resume``,
the only error is a clear one.

A real run of one epoch (tiny synthetic CSV data, through the command's own
``run_study``) is made once; each example damages a copy and resumes it to two
epochs as ``python -m experiments.train --resume RUN_DIR --set Train.epochs=2``
does (``resume_study``).  Damage: a missing, empty, truncated or garbled file;
a config.yaml that is not YAML, not a mapping, or changed (another model shape,
optimizer, batch size, ...); metrics.csv rows garbled, missing, or past the
checkpoint; last.npz's resume state (epoch, best so far, RNG, scheduler,
config) of the wrong type or out of range; a checkpoint of another model.

Each resume either raises a ValueError (ConfigError, CheckpointError) whose
message names the run folder and one of its files, or - when the damage is
harmless (a deleted summary.json or curves.png, rows past the checkpoint, a
stray temporary file) - gives the run an undamaged resume gives: the same
epoch-2 metrics row, best epoch and test accuracy.  Two things a loader cannot
see are left out: numbers of the right type and range that are merely
different (another RNG state, another metrics value), and a checkpoint of
the same model with other values.
"""
import json
import math
import shutil
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from experiments import train
from fuzzcount import FUZZED, fuzz
from minidl.data import format_csv
from minidl.models import MLP
from minidl.optim import SGD
from minidl.runs.cli import main, resume_study, run_study
from minidl.training.checkpoint import save_checkpoint

RUN_FOLDER_FUZZ = fuzz(share=2, local=30)
READ = ("config.yaml", "metrics.csv", "last.npz", "best.npz")       # what a resume reads
FILES = (*READ, "summary.json", "curves.png")
CONFIG = {"Train": {"epochs": 1, "batch_size": 16, "learning_rate": 0.05, "optimizer": "sgd", "momentum": 0.9,
                    "scheduler": {"type": "step", "step_size": 1, "gamma": 0.7}, "seed": 3, "grad_stats": True},
          "Model": {"type": "MLP", "sizes": [784, 8, 10], "activation": "tanh"}}


def _write_csv(path: Path, n: int, seed: int) -> str:
    """``n`` course-format rows: each digit a noisy copy of its own random template."""
    rng = np.random.default_rng(seed)
    templates = np.random.default_rng(0).integers(0, 256, (10, 784))
    labels = rng.integers(0, 10, n)
    pixels = np.clip(templates[labels] + rng.integers(-60, 61, (n, 784)), 0, 255)
    path.write_bytes(format_csv(pixels.astype(np.uint8), labels))
    return str(path)


def _resume(run_dir: Path) -> dict:
    """Resume ``run_dir`` to epoch 2 as --resume does; returns the summary.  The figure is not drawn:
    it is drawn from the rows the test compares, and 1,000 figures would cost a minute."""
    with mock.patch("minidl.runs.job.plot_run"):
        return resume_study(train, run_dir, overrides=["Train.epochs=2"], log=lambda line: None)[1]


def _metrics(run_dir: Path) -> list[list[str]]:
    """metrics.csv's rows, without the wall-clock column."""
    rows = [line.split(",") for line in (run_dir / "metrics.csv").read_text().splitlines()]
    keep = [i for i, name in enumerate(rows[0]) if name != "seconds"]
    return [[row[i] for i in keep] for row in rows]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """``(run folder after one epoch, summary and metrics of an undamaged resume to epoch 2)``."""
    root = tmp_path_factory.mktemp("run-folder")
    cfg = {**CONFIG, "Data": {"train_csv": _write_csv(root / "train.csv", 80, seed=1),
                              "test_csv": _write_csv(root / "test.csv", 30, seed=2), "val_fraction": 0.25},
           "Output": {"dir": str(root / "runs"), "name": "tiny"}}
    run_dir, summary = run_study(train, cfg, log=lambda line: None)
    assert summary["status"] == "completed" and summary["epochs_completed"] == 1
    reference = shutil.copytree(run_dir, root / "reference")
    return run_dir, _resume(reference), _metrics(reference)


# ---- damage to any file ------------------------------------------------------------------------

def _flip(data: bytes, draw) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    return data


def _insert(data: bytes, draw) -> bytes:
    i = draw(st.integers(0, len(data)))
    junk = draw(st.sampled_from([b"\x00", b"\xff\xfe", b",", b"\n", b"\r", b"\x0c", b"nan", b"'"]))
    return data[:i] + junk + data[i:]


BYTES = {"empty": lambda data, draw: b"",
         "truncated": lambda data, draw: data[:draw(st.integers(0, len(data) - 1))],
         "flipped bytes": _flip,
         "inserted junk": _insert}


def _damage_a_file(run: Path, draw) -> Path:
    path = run / draw(st.sampled_from(READ) | st.sampled_from(FILES), label="file")      # mostly what is read
    how = draw(st.sampled_from(["missing", "a folder", *sorted(BYTES)]), label="damage")
    if how == "missing":
        path.unlink()
    elif how == "a folder":
        assume(path.name in READ)       # summary.json and curves.png are written: an OSError, as any output
        path.unlink()
        path.mkdir()
    else:
        path.write_bytes(BYTES[how](path.read_bytes(), draw))
    return run


def _other_folder(run: Path, draw) -> Path:
    how = draw(st.sampled_from(["a file", "missing", "empty", "stray temp file"]), label="folder")
    if how == "stray temp file":            # what a killed atomic write leaves: harmless
        (run / ".last.npz.x1y2.tmp").write_bytes(b"PK\x03\x04 half a checkpoint")
        return run
    if how == "empty":
        shutil.rmtree(run)
        run.mkdir()
        return run
    return run / "config.yaml" if how == "a file" else run / "no-such-run"


@RUN_FOLDER_FUZZ
@given(data=st.data())
def test_a_missing_or_garbled_file_gives_a_valueerror_naming_it(base, tmp_path_factory, data):
    run = shutil.copytree(base[0], tmp_path_factory.mktemp("damaged") / "run")
    damage = data.draw(st.sampled_from([_damage_a_file, _other_folder]), label="what")
    target = damage(run, data.draw)
    FUZZED["run folder"] += 1
    _resume_like_undamaged_or_refuse(run, target, base)


def _resume_like_undamaged_or_refuse(run: Path, target: Path, base) -> None:
    """Resuming ``target`` raises a ValueError naming ``run`` and one of its files, or gives the
    summary and the epoch-2 metrics row of the undamaged resume."""
    _, reference, reference_rows = base
    try:
        summary = _resume(target)
    except ValueError as exc:
        message = str(exc)
        assert str(run) in message and any(name in message for name in FILES), message
        return
    assert summary["status"] == "completed" and summary["epochs_completed"] == 2, summary
    for key in ("best_epoch", "best_val_acc", "test_acc", "test_loss"):
        assert summary[key] == reference[key], key
    rows = _metrics(run)
    assert len(rows) == 3 and rows[0] == reference_rows[0] and rows[2] == reference_rows[2], rows


# ---- damage that needs to know the files ---------------------------------------------------------

CONFIG_TEXTS = ["Train: [1, 2", "Train:\n  batch_size: 16\n Model: x\n", "- Train\n- Model\n", "42\n", "just words\n",
                "null\n", "{}\n", "Train: 5\nModel: 6\n", "\t\x00\n", "Train: !!python/object:os.system ls\n"]
CONFIG_CHANGES = {            # the last four may change on resume: harmless
    "Model.sizes": [[784, 16, 10], [784, 8, 8, 10], [784, 10], [784, 8, 11]], "Model.type": ["TwoLayerNet"],
    "Model.activation": ["relu"], "Model.bias": [False], "Train.optimizer": ["adam", "rmsprop", "adagrad"],
    "Train.momentum": [0.0, 0.5], "Train.batch_size": [8], "Train.learning_rate": [0.1, -1.0],
    "Train.scheduler": [None, {"type": "exponential", "gamma": 0.5}], "Train.dtype": ["float64"],
    "Train.seed": [4], "Train.grad_stats": [False], "Data.val_fraction": [0.5], "Data.subset": [30],
    "Train.learnig_rate": [0.1], "Train.epochs": [5], "Train.debug": [True], "Output.name": ["renamed"],
    "Output.dir": ["elsewhere"]}


def _damage_config(run: Path, draw) -> None:
    path = run / "config.yaml"
    if draw(st.booleans(), label="not a config"):
        path.write_text(draw(st.sampled_from(CONFIG_TEXTS), label="text"))
        return
    cfg = yaml.safe_load(path.read_text())
    key = draw(st.sampled_from(sorted(CONFIG_CHANGES)), label="key")
    section, name = key.split(".")
    cfg[section][name] = draw(st.sampled_from(CONFIG_CHANGES[key]), label="value")
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def _edit_row(cells: list, draw) -> list:
    i = draw(st.integers(0, len(cells) - 1), label="cell")
    how = draw(st.sampled_from(["not a number", "dropped", "extra", "epoch"]), label="edit")
    if how == "not a number":
        return cells[:i] + [draw(st.sampled_from(["", "x", "1.2.3", "--", "0x1f", "1,5"]))] + cells[i + 1:]
    if how == "dropped":
        return cells[:i] + cells[i + 1:]
    if how == "extra":
        return cells + ["0.5"]
    return [draw(st.sampled_from(["0", "2", "1.5", "-1"]))] + cells[1:]


def _damage_metrics(run: Path, draw) -> None:
    path = run / "metrics.csv"
    header, row = path.read_text().splitlines()
    how = draw(st.sampled_from(["rows past the checkpoint", "no final newline", "LF line endings", "row edited",
                                "header renamed", "row deleted", "BOM", "header quoted"]), label="metrics")
    if how == "rows past the checkpoint":       # a kill between the row and last.npz: dropped on resume
        extra = draw(st.lists(st.sampled_from([row, row.replace("1,", "2,", 1), "junk", "3,4", ""]), min_size=1,
                              max_size=3))
        text = f"{header}\r\n{row}\r\n" + "".join(line + "\r\n" for line in extra)
    elif how in ("no final newline", "LF line endings"):
        text = f"{header}\r\n{row}" if how == "no final newline" else f"{header}\n{row}\n"
    elif how == "row edited":
        text = f"{header}\r\n{','.join(_edit_row(row.split(','), draw))}\r\n"
    elif how == "header renamed":
        names = header.split(",")
        i = draw(st.integers(0, len(names) - 1), label="column")
        names[i] = draw(st.sampled_from(["train_lozs", "", "epoch", "val acc", "Epoch"]), label="name")
        text = ",".join(names) + f"\r\n{row}\r\n"
    else:
        text = {"row deleted": f"{header}\r\n", "BOM": f"\ufeff{header}\r\n{row}\r\n",
                "header quoted": '"' + header.replace(",", '","') + f'"\r\n{row}\r\n'}[how]
    path.write_bytes(text.encode("utf-8"))


META_KEYS = ["epoch", "best", "best.acc", "best.epoch", "rng", "rng.bit_generator", "rng.state", "rng.state.state",
             "rng.state.inc", "rng.has_uint32", "rng.uinteger", "scheduler", "scheduler.base_lr",
             "scheduler.last_epoch", "config", "config.Train", "config.Train.learning_rate", "config.Model.sizes"]
# of the wrong type or out of range (a merely different RNG state or accuracy is no damage a loader can see)
META_VALUES = [None, True, False, -1, 1.5, "1", [], {}, 2**200, math.nan, math.inf, -math.inf, "MT19937"]


def _damage_meta(run: Path, draw) -> None:
    path = run / "last.npz"
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["meta"].item())
    *parents, key = draw(st.sampled_from(META_KEYS), label="meta key").split(".")
    node = meta
    for parent in parents:
        node = node[parent]
    how = draw(st.sampled_from(["value", "deleted", "added"]), label="meta damage")
    if how == "deleted":
        del node[key]
    elif how == "added":
        node["extra"] = 1
    else:
        node[key] = draw(st.sampled_from(META_VALUES), label="value")
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def _other_model(run: Path, draw) -> None:
    sizes = draw(st.sampled_from([[784, 16, 10], [784, 8, 8, 10], [784, 10]]), label="sizes")
    model = MLP(sizes, rng=0)
    save_checkpoint(run / draw(st.sampled_from(["last.npz", "best.npz"]), label="file"), model,
                    SGD(model.parameters(), lr=0.05, momentum=0.9), meta={"epoch": 1})


SEMANTIC = {"config.yaml": _damage_config, "metrics.csv": _damage_metrics, "last.npz meta": _damage_meta,
            "another model's checkpoint": _other_model}


@RUN_FOLDER_FUZZ
@given(data=st.data())
def test_a_wrong_config_metrics_or_resume_state_gives_a_valueerror_naming_the_file(base, tmp_path_factory, data):
    run = shutil.copytree(base[0], tmp_path_factory.mktemp("damaged") / "run")
    SEMANTIC[data.draw(st.sampled_from(sorted(SEMANTIC)), label="what")](run, data.draw)
    FUZZED["run folder"] += 1
    _resume_like_undamaged_or_refuse(run, run, base)


def test_the_command_line_reports_a_damaged_run_folder_in_one_line(base, tmp_path, capsys):
    run = shutil.copytree(base[0], tmp_path / "run")
    (run / "metrics.csv").write_bytes(b"\xff\xfe garbage")
    assert main(train, ["--resume", str(run), "--set", "Train.epochs=2"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {run / 'metrics.csv'}: not UTF-8 text (byte 0)\n", err

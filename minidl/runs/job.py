"""A training job: a resolved config in, a run folder out.

``run_training(cfg, run_dir)`` is what ``python -m experiments.train`` and
every sweep point execute:

1. load MNIST (IDX files, or the course's CSV files) and split train/val/test;
2. build the model, optimizer and scheduler from the config;
3. train epoch by epoch with ``Trainer.fit``; after each epoch append a row to ``metrics.csv``,
   update ``best.npz`` (best evaluation accuracy) and ``last.npz`` (everything
   needed to resume: parameters, optimizer, scheduler and RNG state, epoch,
   best so far);
4. reload the best model, measure test accuracy, draw ``curves.png`` and
   return the summary (the caller writes it as ``summary.json``).

A run stops early, with its files consistent, in three ways, recorded as
``status`` in summary.json: ``diverged`` (a NaN/inf loss or parameter),
``interrupted`` (Ctrl-C or SIGTERM, at a batch boundary) or ``completed``.
``resume_training(run_dir)`` continues an interrupted (or finished) run from
its last completed epoch and gives the same metrics.csv, bit for bit, as a run
that was never interrupted (apart from the wall-clock ``seconds`` column).
It first checks the folder: last.npz (which records the config it was saved
under), best.npz, metrics.csv and config.yaml must exist and agree, and any
damage is a ValueError naming the file (``tests/test_fuzz_run_folder.py``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from minidl import data as mnist
from minidl.data.augment import Augment
from minidl.losses import SoftmaxCrossEntropy
from minidl.runs.config import ConfigError, load_yaml
from minidl.runs.folder import MetricsWriter, write_config
from minidl.runs.job_config import build_model, build_optimizer, build_scheduler, momentum_note, resolve
from minidl.training import Trainer
from minidl.training.callbacks import GradientStats, KeepBest, OnRound
from minidl.training.checkpoint import CheckpointError, restore, save_checkpoint
from minidl.runs.resume_checks import (RESUMABLE_KEYS, check_resume_meta, check_same_config, config_differences,
                                       truncate_metrics)
from minidl.training.signals import StopOnSignals, phase

__all__ = ["load_data", "run_training", "plot_run", "resume_training", "config_differences", "RESUMABLE_KEYS"]



def load_data(cfg: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{'train': (X, y), 'val': (X, y), 'test': (X, y)}`` as the ``Data`` section asks.

    The split is the course's: the first (1 - val_fraction) of the training
    file trains, the rest validates, unshuffled.  ``subset`` then keeps the
    first N training examples (or a random N with ``subset_seed``).
    """
    d = cfg["Data"]
    if d["train_csv"]:
        X, y = mnist.load_csv(d["train_csv"])
    else:
        X, y = mnist.load_mnist("train", d["dir"])
    if d["test_csv"]:
        X_test, y_test = mnist.load_csv(d["test_csv"])
    else:
        X_test, y_test = mnist.load_mnist("test", d["dir"])
    (X_tr, y_tr), (X_val, y_val) = mnist.train_val_split(X, y, d["val_fraction"])
    if d["subset"] is not None:
        rng = None if d["subset_seed"] is None else np.random.default_rng(d["subset_seed"])
        X_tr, y_tr = mnist.subset(X_tr, y_tr, d["subset"], rng=rng)
    splits = {"train": (X_tr, y_tr), "val": (X_val, y_val), "test": (X_test, y_test)}
    if d["normalize"]:
        mean, std = float(X_tr.mean()), float(X_tr.std())
        splits = {k: ((X - mean) / std, y) for k, (X, y) in splits.items()}
    dtype = np.dtype(cfg["Train"]["dtype"])
    shape = (-1, *cfg["Model"]["input_shape"]) if cfg["Model"]["type"] == "Sequential" else (-1, X.shape[1])
    return {k: (X.astype(dtype, copy=False).reshape(shape), y) for k, (X, y) in splits.items()}   # a view


def _log(message: str) -> None:
    print(message, flush=True)


class TrainingRun:
    """The state of one run: model, optimizer, scheduler, trainer, best-so-far, files."""

    def __init__(self, cfg: dict, run_dir: Path, data: dict, callbacks, log):
        self.cfg, self.run_dir, self.data, self.log = cfg, run_dir, data, log
        train = cfg["Train"]
        self.split = "val" if len(data["val"][0]) else "test"      # what each epoch is evaluated on
        self.callbacks = list(callbacks)
        if train["grad_stats"]:
            self.callbacks.append(GradientStats())
        init_seq, shuffle_seq, augment_seq = np.random.SeedSequence(train["seed"]).spawn(3)
        self.model = build_model(cfg, np.random.default_rng(init_seq))
        self.optimizer = build_optimizer(cfg, self.model.parameters())
        self.scheduler = build_scheduler(cfg, self.optimizer)
        augment = cfg["Data"]["augment"]
        self.trainer = Trainer(self.model, SoftmaxCrossEntropy(), self.optimizer, self.scheduler,
                               train["batch_size"], rng=np.random.default_rng(shuffle_seq),
                               log_every=100 if train["debug"] else 0, log=log,
                               augment=Augment(**augment) if augment else None,
                               augment_rng=np.random.default_rng(augment_seq),
                               eval_batch_size=500 if cfg["Model"]["type"] == "Sequential" else 4096)
        # with no validation split the model kept is the last epoch's: nothing is chosen on the test set
        self.best = KeepBest(f"{self.split}_acc", path=run_dir / "best.npz", last=self.split == "test")
        self.rows: list[dict] = []
        self.stopped_by: str | None = None      # signal name, when interrupted

    # ---- the resume checkpoint ---------------------------------------------
    def resume_meta(self) -> dict:
        """What ``last.npz`` records besides the arrays: epoch, best so far, the random streams (shuffling,
        augmentation, Dropout's masks), scheduler, and the config."""
        return {"epoch": self.trainer.epoch, "best": {"acc": self.best.value, "epoch": self.best.epoch},
                "rng": self.trainer.rng.bit_generator.state,
                "augment_rng": self.trainer.augment_rng.bit_generator.state,
                "layer_rngs": [g.bit_generator.state for g in _layer_generators(self.model)],
                "scheduler": self.scheduler.state_dict() if self.scheduler else None, "config": self.cfg}

    def save_last(self, trainer=None, row=None) -> None:
        """``last.npz``: everything needed to continue after the epoch just finished."""
        save_checkpoint(self.run_dir / "last.npz", self.model, self.optimizer, meta=self.resume_meta())

    def restore_last(self) -> None:
        """Continue from ``last.npz``, after checking it against best.npz, metrics.csv and the config:
        anything missing, damaged or inconsistent is a CheckpointError (a ValueError) naming the file."""
        path, best_path = self.run_dir / "last.npz", self.run_dir / "best.npz"
        if best_path.is_file():
            restore(best_path, self.model)      # a bad best.npz fails now, not after the epochs; last.npz overwrites it
        expected = self.resume_meta()
        meta = restore(path, self.model, self.optimizer)
        check_resume_meta(path, meta, expected)
        epoch, best = meta["epoch"], meta["best"]
        keeps_state = any(self.optimizer.state_shapes(p) for p in self.optimizer.params)
        if keeps_state and bool(self.optimizer.state) != (epoch > 0):
            raise CheckpointError(f"{path}: {'has' if self.optimizer.state else 'has no'} optimizer state "
                                  f"after epoch {epoch}")
        try:
            self.trainer.rng.bit_generator.state = meta["rng"]
            self.trainer.augment_rng.bit_generator.state = meta["augment_rng"]
            for generator, state in zip(_layer_generators(self.model), meta.get("layer_rngs", []), strict=True):
                generator.bit_generator.state = state
            if self.scheduler is not None:
                self.scheduler.load_state_dict(meta["scheduler"])
        except (TypeError, ValueError, OverflowError) as exc:      # NumPy checks the RNG state's numbers
            raise CheckpointError(f"{path}: bad RNG or scheduler state ({type(exc).__name__}: {exc})") from None
        if best["epoch"] and not best_path.is_file():
            raise CheckpointError(f"{best_path}: missing, but last.npz says epoch {best['epoch']} was the best so far")
        self.trainer.epoch, self.best.value, self.best.epoch = epoch, best["acc"], best["epoch"]
        self.rows = truncate_metrics(self.run_dir / "metrics.csv", epoch)

    # ---- training ------------------------------------------------------------
    def train(self) -> tuple[str, str]:
        """Run the remaining epochs with ``Trainer.fit``.  Returns (status, message)."""
        epochs, trainer = self.cfg["Train"]["epochs"], self.trainer
        metrics = MetricsWriter(self.run_dir / "metrics.csv", append=trainer.epoch > 0)
        callbacks = [*self.callbacks, StopOnSignals(self.log), metrics, self.best, OnRound(self.save_last),
                     OnRound(self._log_row)]
        result = trainer.fit(*self.data["train"], epochs=max(epochs - trainer.epoch, 0),
                             eval_sets={self.split: self.data[self.split]}, callbacks=callbacks, progress=True)
        self.rows.extend(result.history)
        self.stopped_by = result.signal
        return result.status, result.message

    def _log_row(self, trainer, row: dict) -> None:
        split = self.split
        self.log(f"epoch {row['epoch']:3d}/{self.cfg['Train']['epochs']}  train loss {row['train_loss']:.4f} "
                 f"acc {row['train_acc']:.4f}  {split} loss {row[f'{split}_loss']:.4f} acc {row[f'{split}_acc']:.4f}"
                 f"  lr {row['lr']:.3g}  {row['seconds']:.1f}s")

    def finish(self, status: str, message: str, plot: bool = True) -> dict:
        """Evaluate the kept model on the test set, draw the curves (if ``plot``); returns the summary.

        The kept model is the best validation epoch's, or with no validation split the last epoch's;
        ``model_epoch`` says which epoch ``test_acc`` belongs to.
        """
        summary = {"status": status, "seed": self.cfg["Train"]["seed"], "epochs_completed": len(self.rows),
                   "model_epoch": self.best.epoch}
        if self.split == "val":
            summary.update(best_epoch=self.best.epoch, best_val_acc=self.best.value if self.rows else None)
        else:
            summary["model"] = "the last epoch's (no validation split: nothing is chosen on the test set)"
        if message:
            summary["message"] = message
        if self.stopped_by:
            summary["signal"] = self.stopped_by
        if self.rows:
            phase("evaluating the test set")
            restore(self.run_dir / "best.npz", self.model)
            te = self.trainer.evaluate(*self.data["test"])
            summary.update(test_acc=te["acc"], test_loss=te["loss"])
            if plot:
                phase("drawing figures")
                plot_run(self.run_dir, self.cfg, self.rows)
            which = "the best model" if self.split == "val" else "the last epoch's model"
            self.log(f"test accuracy of {which} (epoch {self.best.epoch}): {te['acc']:.4f}")
        return summary


def _layer_generators(model) -> list[np.random.Generator]:
    """The Generators layers draw from while training (Dropout's masks), in layer order, at any depth:
    saved in last.npz so that a resumed run draws the masks an uninterrupted one would."""
    from minidl.layers import Dropout
    return [layer.rng for layer in model.walk() if isinstance(layer, Dropout)]


def run_training(cfg: dict, run_dir: str | Path, data=None, callbacks=(), log=_log, plot: bool = True) -> dict:
    """Train as ``cfg`` says, writing everything into ``run_dir``.  Returns the summary dict,
    which the caller writes as summary.json (``minidl.runs.folder.write_summary``).

    ``data`` may be passed in (as ``load_data`` returns it) to skip loading;
    ``callbacks`` are ``Trainer.fit`` callbacks, e.g. ones whose ``columns()`` join
    metrics.csv (``Train.grad_stats: true`` adds ``minidl.training.callbacks.GradientStats``).

    Each epoch is evaluated on the validation split, or, when ``Data.val_fraction``
    is 0 (train on all 60,000), on the test set: the columns are then named
    ``test_loss`` / ``test_acc`` and the best checkpoint is chosen on them, the
    protocol of assignments that report test accuracy per epoch.

    ``plot=False`` skips ``curves.png`` (a sweep draws it with ``plot_run`` on
    its client, not on the worker that trained).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_config(run_dir, cfg)
    phase("loading the data")
    run = TrainingRun(cfg, run_dir, data if data is not None else load_data(cfg), callbacks, log)
    n_train, n_eval = len(run.data["train"][0]), len(run.data[run.split][0])
    log(f"{run_dir.name}: {type(run.model).__name__} {run.model.num_parameters():,} parameters, "
        f"{n_train:,} train / {n_eval:,} {'validation' if run.split == 'val' else 'test'} examples, "
        f"{cfg['Train']['epochs']} epochs")
    _log_notes(cfg, log)
    status, message = run.train()
    if message:
        log(message)
    return run.finish(status, message, plot=plot)


def _log_notes(cfg: dict, log) -> None:
    """What the reader of the log should know about the setting: momentum on a course model."""
    note = momentum_note(cfg)
    if note:
        log(note)


def plot_run(run_dir: str | Path, cfg: dict, rows: list[dict]) -> Path:
    """Draw ``run_dir/curves.png`` from a run's metrics rows (as ``read_metrics`` returns them)."""
    from minidl import plots
    run_dir = Path(run_dir)
    return plots.save(plot_job(rows, cfg, run_dir.name), run_dir / "curves.png")


def plot_job(rows: list[dict], cfg: dict, name: str):
    """The curves figure of a main-job run: loss and accuracy per epoch, titled with its setting."""
    from minidl.plots.training import plot_history
    return plot_history(rows, title=f"{name}: {_describe(cfg)}")


def resume_training(run_dir: str | Path, cfg: dict | None = None, data=None, callbacks=(), log=_log) -> dict:
    """Continue the run in ``run_dir`` from its last completed epoch.  Returns the summary dict.

    ``cfg`` (a resolved config) may raise ``Train.epochs`` to train longer; any
    other difference from the run's own config.yaml is refused with a
    ConfigError that lists the differing keys.
    """
    run_dir = Path(run_dir)
    saved_path = run_dir / "config.yaml"
    if not (run_dir / "last.npz").is_file() or not saved_path.is_file():
        raise ConfigError(f"{run_dir}: nothing to resume (needs config.yaml and last.npz from a previous run)")
    saved = resolve(load_yaml(saved_path), where=str(saved_path))
    if cfg is not None:
        changed = config_differences(saved, cfg)
        if changed:
            raise ConfigError(f"cannot resume {run_dir} with a changed config; only {', '.join(RESUMABLE_KEYS)} "
                              f"may change. Differing keys: " + "; ".join(changed))
        saved["Train"]["epochs"], saved["Train"]["debug"] = cfg["Train"]["epochs"], cfg["Train"]["debug"]
    check_same_config(run_dir / "last.npz", saved)
    if cfg is not None:
        write_config(run_dir, saved)
    phase("loading the data")
    run = TrainingRun(saved, run_dir, data if data is not None else load_data(saved), callbacks, log)
    run.restore_last()
    log(f"{run_dir.name}: resuming after epoch {run.trainer.epoch} of {saved['Train']['epochs']}")
    _log_notes(saved, log)
    status, message = run.train()
    if message:
        log(message)
    return run.finish(status, message)


def _describe(cfg: dict) -> str:
    t, m = cfg["Train"], cfg["Model"]
    model = m["type"] if m["type"] != "MLP" else f"MLP {m['sizes']} {m['activation']}"
    if m["type"] == "TwoLayerNet":
        model += f" h={m['hidden_size']}"
    optimizer = f"{t['optimizer']} lr={t['learning_rate']:g}"
    if t["optimizer"] == "sgd":
        optimizer += f" momentum={t['momentum']:g}" + (" nesterov" if t["nesterov"] else "")
    return f"{model}, {optimizer} reg={t['reg']:g} batch={t['batch_size']}"

"""The training config: its schema, and builders from config to objects.

The CS 7643 keys work unchanged::

    Train: {batch_size, learning_rate, reg, epochs, momentum, debug}
    Model: {type: SoftmaxRegression | TwoLayerNet, hidden_size}

and these optional ones extend them::

    Train:  optimizer (sgd | adam | rmsprop | adagrad), nesterov, betas, eps, seed,
            scheduler ({type: step | exponential | cosine, ...}), dtype, grad_stats, decay_biases
    Model:  type: MLP with sizes, activation, init, bias;  relu (SoftmaxRegression);
            type: Sequential with input_shape and layers (minidl.runs.sequential_config)
    Data:   dir, train_csv, test_csv, val_fraction, subset, subset_seed, normalize,
            augment ({shift, rotate, scale}: minidl.data.augment)
    Output: dir, name

``reg`` is weight decay on weights only (the course's 0.5 * reg * ||W||^2);
``decay_biases: true`` puts it on the biases too, as torch.optim's weight_decay
does (HW7's PyTorch optimizers).
``momentum`` is honoured when the optimizer is sgd, also for the course models,
whose own SGD ignores it: ``momentum_note`` is the line a run prints then.
"""
from __future__ import annotations

import numpy as np

from minidl import init as initializers
from minidl import optim
from minidl.layers import ACTIVATIONS
from minidl.models import MLP, SoftmaxRegression, TwoLayerNet
from minidl.optim import OPTIMIZERS
from minidl.parameter import Parameter
from minidl.runs.config import (REQUIRED, ConfigError, Key, betas_pair, fraction, layer_sizes, non_negative,
                                optional_positive_int, positive, positive_int, validate)

__all__ = ["SCHEMA", "MODELS", "COURSE_MODELS", "check", "resolve", "momentum_note", "build_model",
           "optimizer_spec", "build_optimizer", "build_scheduler"]

MODELS = {"SoftmaxRegression": SoftmaxRegression, "TwoLayerNet": TwoLayerNet, "MLP": MLP, "Sequential": None}
COURSE_MODELS = ("SoftmaxRegression", "TwoLayerNet")     # CS 7643's networks, trained by its momentum-free SGD
INPUT_SIZE, NUM_CLASSES = 784, 10


def _init_spec(value):
    try:
        initializers.get(value)
    except ValueError as exc:
        return f"a valid init ({exc})"
    return None


SCHEMA = {
    "Train": {
        "batch_size": Key(int, 64, positive_int),
        "learning_rate": Key(float, 0.1, positive),
        "reg": Key(float, 0.0, non_negative, doc="weight decay on weights (not biases, unless decay_biases)"),
        "epochs": Key(int, 10, positive_int),
        "momentum": Key(float, 0.0, non_negative, doc="used when optimizer is sgd"),
        "debug": Key(bool, False, doc="print the running loss every 100 batches"),
        "optimizer": Key(str, "sgd", choices=sorted(OPTIMIZERS)),
        "nesterov": Key(bool, False),
        "betas": Key(list, None, betas_pair, doc="adam only"),
        "eps": Key(float, None, non_negative, doc="adam, rmsprop, adagrad"),
        "seed": Key(int, 1024, doc="shuffling and initialisation"),
        "scheduler": Key((dict, type(None)), None, doc="{type: step|exponential|cosine, <options>}"),
        "dtype": Key(str, "float32", choices=["float32", "float64"]),
        "grad_stats": Key(bool, False, doc="log per-layer gradient norms and the first/last ratio per epoch"),
        "decay_biases": Key(bool, False, doc="reg on biases too, as torch.optim's weight_decay (HW7's optimizers)"),
    },
    "Model": {
        "type": Key(str, REQUIRED, choices=sorted(MODELS)),
        "hidden_size": Key(int, 128, positive_int, doc="TwoLayerNet"),
        "relu": Key(bool, True, doc="SoftmaxRegression: ReLU on the scores (the course's design)"),
        "sizes": Key(list, None, layer_sizes, doc="MLP: [784, ..., 10]"),
        "activation": Key(str, "relu", choices=sorted(ACTIVATIONS), doc="MLP"),
        "init": Key((str, dict), "kaiming_uniform", _init_spec, doc="MLP"),
        "bias": Key(bool, True, doc="MLP"),
        "input_shape": Key(list, None, doc="Sequential: one example's shape, e.g. [1, 28, 28] or [784]"),
        "layers": Key(list, None, doc="Sequential: [Conv2d: {out_channels: 16, kernel_size: 5}, ReLU, ...]"),
    },
    "Data": {
        "dir": Key((str, type(None)), None, doc="MNIST folder; null: the data home, or ./data"),
        "train_csv": Key((str, type(None)), None, doc="course-format CSV instead of the IDX files"),
        "test_csv": Key((str, type(None)), None),
        "val_fraction": Key(float, 0.2, fraction,
                            doc="the last fraction of train is validation; 0: train on all, evaluate on test"),
        "subset": Key((int, type(None)), None, optional_positive_int, doc="train on the first N (or a random N)"),
        "subset_seed": Key((int, type(None)), None, doc="if set, the subset is random with this seed"),
        "normalize": Key(bool, False, doc="standardise inputs by the training-set mean and std"),
        "augment": Key((dict, type(None)), None, doc="{shift: pixels, rotate: degrees, scale: fraction}: "
                       "each training batch randomly distorted; null: none"),
    },
    "Output": {
        "dir": Key(str, "runs"),
        "name": Key((str, type(None)), None, doc="run folder prefix; default the config file's stem"),
    },
}

def check(cfg: dict, where: str = "config") -> None:
    """The checks that depend on several keys of a validated training config (ConfigError)."""
    model, train = cfg["Model"], cfg["Train"]
    if model["type"] == "MLP":
        if model["sizes"] is None:
            raise ConfigError(f"{where}: Model.sizes is required when Model.type is MLP, e.g. [784, 128, 10]")
        if model["sizes"][0] != INPUT_SIZE or model["sizes"][-1] != NUM_CLASSES:
            raise ConfigError(f"{where}: Model.sizes must start at {INPUT_SIZE} and end at {NUM_CLASSES} "
                              f"for MNIST; got {model['sizes']}")
    if model["type"] == "Sequential":
        _check_sequential(cfg, where)
    if cfg["Data"]["augment"] is not None:
        _check_augment(cfg["Data"]["augment"], where)
    if train["nesterov"] and (train["optimizer"] != "sgd" or train["momentum"] <= 0):
        raise ConfigError(f"{where}: Train.nesterov needs optimizer sgd and momentum > 0")
    if train["betas"] is not None and train["optimizer"] != "adam":
        raise ConfigError(f"{where}: Train.betas applies to optimizer adam only; got optimizer {train['optimizer']}")
    if train["scheduler"] is not None:
        try:          # build it once, on a probe parameter: a bad type or option is named now
            build_scheduler(cfg, build_optimizer(cfg, [Parameter(np.zeros(1))]))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: Train.scheduler: {exc}") from None


def _check_sequential(cfg: dict, where: str) -> None:
    """Input and layers given, the input one MNIST image, the output its 10 scores: build it once."""
    model = cfg["Model"]
    if model["input_shape"] is None or model["layers"] is None:
        raise ConfigError(f"{where}: Model.type Sequential needs Model.input_shape (e.g. [1, 28, 28]) and "
                          "Model.layers (a list of layers)")
    if not all(isinstance(d, int) and d > 0 for d in model["input_shape"]) or \
            int(np.prod(model["input_shape"])) != INPUT_SIZE:
        raise ConfigError(f"{where}: Model.input_shape must be positive sizes holding one MNIST image "
                          f"({INPUT_SIZE} pixels, e.g. [1, 28, 28] or [784]); got {model['input_shape']}")
    net = build_model(cfg, np.random.default_rng(0), where)
    out = net.eval().forward(np.zeros((1, *model["input_shape"]), np.dtype(cfg["Train"]["dtype"])))
    if out.shape != (1, NUM_CLASSES):
        raise ConfigError(f"{where}: Model.layers must end with {NUM_CLASSES} scores per image for MNIST; "
                          f"the last layer gives {out.shape[1:]}")


def _check_augment(options: dict, where: str) -> None:
    from minidl.data.augment import Augment
    try:
        Augment(**options)(np.zeros((1, INPUT_SIZE), np.float32), np.random.default_rng(0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: Data.augment takes shift (pixels), rotate (degrees) and scale "
                          f"(a fraction below 1); {exc}") from None


def resolve(cfg: dict, where: str = "config") -> dict:
    """Validate a training config and fill defaults (``validate``, then ``check``); returns it."""
    cfg = validate(cfg, SCHEMA, where)
    check(cfg, where)
    return cfg


def momentum_note(cfg: dict) -> str | None:
    """The line to print when a CS 7643 model trains with SGD and momentum != 0, else None.

    minidl applies the momentum (torch.optim.SGD's rule), but the course's
    ``SGD(learning_rate, reg)`` has none, so its published numbers need 0.0.
    """
    train = cfg["Train"]
    if cfg["Model"]["type"] not in COURSE_MODELS or train["optimizer"] != "sgd" or not train["momentum"]:
        return None
    return (f"note: Train.momentum {train['momentum']:g} is applied to {cfg['Model']['type']}; the course's SGD "
            f"ignores momentum, so momentum: 0.0 reproduces the course's numbers")


def build_model(cfg: dict, rng: np.random.Generator, where: str = "config"):
    """The network named by ``cfg['Model']``, in ``cfg['Train']['dtype']``."""
    m, dtype = cfg["Model"], np.dtype(cfg["Train"]["dtype"])
    if m["type"] == "Sequential":
        from minidl.runs.sequential_config import build_sequential
        return build_sequential(m, rng, dtype, where)
    if m["type"] == "SoftmaxRegression":
        return SoftmaxRegression(relu=m["relu"], dtype=dtype)
    if m["type"] == "TwoLayerNet":
        return TwoLayerNet(m["hidden_size"], dtype=dtype)
    return MLP(m["sizes"], activation=m["activation"], init=m["init"], bias=m["bias"], rng=rng, dtype=dtype)


def optimizer_spec(cfg: dict) -> dict:
    """The ``Train`` section as an optimizer spec for ``minidl.optim.build_optimizer``.

    ``reg`` becomes ``weight_decay`` (and ``decay_biases`` follows it, when true); momentum
    and Nesterov go to sgd, betas to adam, eps to every optimizer but sgd.
    """
    t = cfg["Train"]
    spec = {"type": t["optimizer"], "lr": t["learning_rate"], "weight_decay": t["reg"]}
    if t["decay_biases"]:
        spec["decay_biases"] = True
    if t["optimizer"] == "sgd":
        spec.update(momentum=t["momentum"], nesterov=t["nesterov"])
    if t["optimizer"] == "adam" and t["betas"] is not None:
        spec["betas"] = list(t["betas"])
    if t["eps"] is not None and t["optimizer"] != "sgd":
        spec["eps"] = t["eps"]
    return spec


def build_optimizer(cfg: dict, params):
    """The optimizer named by ``cfg['Train']``, over ``params``."""
    return optim.build_optimizer(optimizer_spec(cfg), params)


def build_scheduler(cfg: dict, optimizer):
    """The lr scheduler of ``cfg['Train']['scheduler']``, or None."""
    sched = cfg["Train"]["scheduler"]
    return None if sched is None else optim.build_scheduler(sched, optimizer)

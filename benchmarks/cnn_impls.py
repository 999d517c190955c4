"""The benchmark CNN (``_common.CnnConfig``) in minidl and in PyTorch, for ``bench_train.py``.

Each builder returns ``{"rng", "epoch"}`` as the MLP builders do: ``epoch(X, y, rng)``
trains one epoch over (N, 784) rows, viewed as (N, 1, 28, 28) images (no copy), and
returns its mean loss and accuracy.  Both frameworks use PyTorch's default
initialisation of the weights, SGD with momentum 0.9 at lr 0.01, and shuffle with the
same ``rng.permutation``.  There is no hand-fused NumPy CNN: the "flat" worker skips it.
"""
from __future__ import annotations

from _common import torch_epoch

LR = 0.01


def build_minidl(cfg, dtype, seed: int):
    import numpy as np

    from minidl.layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
    from minidl.layers.conv import TORCH_INIT
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.optim import SGD
    from minidl.training import Trainer
    dt, rng = getattr(np, dtype), np.random.default_rng(seed)
    (c0, c1, k, _), (c1_, c2, k2, _) = cfg.convs
    model = Sequential(Conv2d(c0, c1, k, padding=2, rng=rng, dtype=dt), ReLU(), MaxPool2d(2),
                       Conv2d(c1_, c2, k2, rng=rng, dtype=dt), ReLU(), MaxPool2d(2), Flatten(),
                       Linear(*cfg.linear, init=TORCH_INIT, rng=rng, dtype=dt))
    order = np.random.default_rng(seed)
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=LR, momentum=cfg.momentum),
                      batch_size=cfg.batch_size, rng=order)

    def epoch(X, y, _rng):
        row = trainer.fit(X.reshape(-1, 1, 28, 28), y, epochs=1).history[0]
        return {"loss": row["train_loss"], "acc": row["train_acc"]}
    return {"rng": order, "epoch": epoch}


def build_torch(torch, cfg, dtype, seed: int):
    import numpy as np
    torch.manual_seed(seed)
    tdtype = getattr(torch, dtype)
    (c0, c1, k, _), (c1_, c2, k2, _) = cfg.convs
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(c0, c1, k, padding=2, dtype=tdtype), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(c1_, c2, k2, dtype=tdtype), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(*cfg.linear, dtype=tdtype))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=cfg.momentum)
    return {"rng": np.random.default_rng(seed), "epoch": torch_epoch(torch, model, opt, cfg.batch_size, (1, 28, 28))}

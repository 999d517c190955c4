"""Training: the one loop, and what plugs into it.

- ``trainer``     ``Trainer``: mini-batch steps, evaluation, the epoch driver
- ``callbacks``   observers of a run: gradient statistics
- ``signals``     Ctrl-C / SIGTERM stop a run at a batch boundary
- ``checkpoint``  save and restore a model, its optimizer and the run's state
"""
from minidl.training.trainer import Diverged, Interrupted, Trainer, accuracy, evaluate

__all__ = ["Trainer", "Diverged", "Interrupted", "accuracy", "evaluate"]

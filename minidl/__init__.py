"""minidl: a deep-learning framework in pure NumPy, with analytic backward passes.

    import minidl
    from minidl.models import MLP
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.optim import SGD

Importing minidl is cheap and has no side effects: no seeding, no file
access, no matplotlib.  Submodules that do heavier work (data, training,
plots, ...) are imported when first used.
"""
from minidl import gradcheck, init, layers, losses, models, optim
from minidl.parameter import Parameter

__version__ = "0.1.0"
__all__ = ["Parameter", "layers", "losses", "init", "models", "optim", "gradcheck"]


def __getattr__(name):
    # lazy submodules: `minidl.data`, `minidl.training`, ... import on first use
    import importlib
    try:
        return importlib.import_module(f"minidl.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"minidl.{name}":
            raise
        raise AttributeError(f"module 'minidl' has no attribute {name!r}") from None

"""minidl: a deep-learning framework in pure NumPy, with analytic backward passes.

The map of the package, read from the top:

    the textbook: backpropagation lives here, and nothing else
        parameter   Parameter: an array, its gradient, and whether weight decay applies
        layers/     Linear and the activations: forward(x) -> y, backward(dout) -> dx
        losses      SoftmaxCrossEntropy, NLLLoss, MSELoss: forward(outputs, y), backward()
        init        weight initializers (torch's formulas)
        models      MLP, and the course networks reproduced exactly
        optim/      SGD, Adam, RMSprop, Adagrad and lr schedulers: step()
        gradcheck   finite-difference checks of every backward pass

    around it
        data/       MNIST: download, IDX and CSV readers, splits, mini-batches
        training/   the one training loop (Trainer.fit) and its callbacks, checkpoints
        runs/       config-driven runs: YAML + --set, run folders, the main job, sweeps,
                    the command line every study shares
        analysis/   the network as a point in parameter space: Hessians, PCA, sharpness, ...
        plots/      every figure
        toys/       2-D test surfaces, 1-D target functions, Newton's method
        util/       atomic file writes, progress display, timing, BLAS threads

    import numpy as np
    from minidl.models import MLP
    from minidl.losses import SoftmaxCrossEntropy
    from minidl.optim import SGD

From a notebook, the runs of the command line (``minidl.runs.api``)::

    run = minidl.train("configs/config_exp.yaml", **{"Train.epochs": 2})
    run.plot()
    minidl.run_study("nma/case_study", "configs/nma/case_study.yaml").show()
    minidl.sweep(...), minidl.load_run(run_dir)

Importing minidl is cheap and has no side effects: no seeding, no file access,
no matplotlib, not even NumPy.  Each part is imported when first used, e.g.
``minidl.layers`` or ``from minidl.training import Trainer``.
"""
import importlib

__version__ = "0.1.0"
__all__ = ["Parameter", "layers", "losses", "init", "models", "optim", "gradcheck",
           "train", "sweep", "run_study", "load_run", "Run"]

_API = ("train", "sweep", "run_study", "load_run", "Run")


def __getattr__(name):
    # lazy: ``minidl.layers``, ``minidl.data``, ... import on first use
    if name == "Parameter":
        from minidl.parameter import Parameter
        return Parameter
    if name in _API:
        from minidl.runs import api
        return getattr(api, name)
    try:
        return importlib.import_module(f"minidl.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"minidl.{name}":
            raise
        raise AttributeError(f"module 'minidl' has no attribute {name!r}") from None

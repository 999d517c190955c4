"""The Neuromatch Academy optimization tutorial (DL W1D5, Tutorial 1), one module per section.

    python -m experiments.nma.case_study configs/nma/case_study.yaml

The modules carry the tutorial's section numbers: ``case_study`` (2),
``random_search`` (3, high-dimensional search), ``conditioning`` (4, poor
conditioning), ``overparam`` (5, non-convexity), ``minibatch`` (6, full
gradients are expensive), ``adaptive`` (7, hyperparameter tuning) and ``full``
(9, the bonus: putting it all together).  The tutorial has no section 8.

Every section shares the tutorial's setup:

- MNIST pixels in [0, 1], then normalised with the *training set's* mean and
  standard deviation (one scalar each, over all pixels: 0.1307 and 0.3081),
  ``minidl.data.load_normalized_mnist``;
- the model ``MLP(784, hidden_dims, 10)`` with PyTorch's default ``nn.Linear``
  initialisation and a log-softmax output, trained with the negative
  log-likelihood: ``minidl.models.NeuromatchMLP`` and ``NLLLoss``;
- seed 2021; most sections train on a *working set* of 500 training images
  drawn at random **with replacement** (``minidl.data.sample_with_replacement``).

Each config has the sections ``Data`` (below), ``Study`` (the section's own
keys) and ``Output``.

One BLAS thread (``BLAS_THREADS``, which every section takes up): on a shared
2-core machine (load average 10-20) a 2-thread OpenBLAS spent most of its time
waiting for a core, and a 20-example step took 67 ms instead of 1 ms.  The
entry point runs each section under that limit (``minidl.util.threads``), from
the command line and from a notebook alike, so both give the same digits.  An
explicit OPENBLAS_NUM_THREADS in the environment wins.
"""
from minidl.runs.config import Key, positive_int

SEED = 2021
BLAS_THREADS = 1

DATA_SCHEMA = {
    "dir": Key((str, type(None)), None, doc="MNIST folder; null: the data home, or ./data"),
    "working_set": Key(int, 500, positive_int, doc="training images drawn with replacement"),
    "seed": Key(int, SEED, doc="seed of the working set, the initialisation and the batches"),
}

"""Loss functions: ``forward(outputs, targets) -> float``, ``backward() -> d outputs``.

A loss is the end of the chain: its ``backward`` takes no upstream gradient
(dL/dL = 1) and returns dL/d(outputs), which you feed to ``model.backward``.

Numerical stability: softmax and log-softmax subtract the row-wise max before
exponentiating (the log-sum-exp trick), so logits of +-1e4 give finite losses
and gradients with no RuntimeWarning.

The speed tricks of the per-step path (the label check, the gather and scatter
at the labels) sit in helpers at the end of this file, each beside the plain
expression it equals.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["softmax", "log_softmax", "check_labels", "SoftmaxCrossEntropy", "NLLLoss", "MSELoss"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax.  logits: (N, C) -> probabilities (N, C), rows sum to 1."""
    z = logits - logits.max(axis=1, keepdims=True)   # largest entry becomes 0: exp never overflows
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, ``z - logsumexp(z)``.  logits: (N, C) -> (N, C)."""
    z = logits - logits.max(axis=1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
    return z


def check_labels(targets, n: int, num_classes: int) -> np.ndarray:
    """Validate integer class labels for a batch of ``n`` rows and ``num_classes`` classes.

    Returns ``targets`` as an ndarray.  Raises ValueError naming the offending
    index for a wrong length, a non-integer label or a label outside [0, C).
    """
    y = targets if type(targets) is np.ndarray else np.asarray(targets)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},) to match the {n} rows of the outputs; got shape {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f":
            frac = np.flatnonzero(y != np.round(y))
            where = f"label at index {frac[0]} is {y[frac[0]]!r}" if frac.size else "all values are whole numbers"
            raise ValueError(f"labels must be integers; got dtype {y.dtype} ({where}); "
                             "convert with y.astype(np.int64)")
        raise ValueError(f"labels must be integers; got dtype {y.dtype}")
    if n and _largest_label(y) >= num_classes:
        bad = int(np.flatnonzero((y < 0) | (y >= num_classes))[0])
        raise ValueError(f"labels must be in [0, {num_classes}); got {y[bad]} at index {bad}")
    return y


def _check_logits(logits, who: str) -> np.ndarray:
    z = logits if type(logits) is np.ndarray else np.asarray(logits)
    if z.ndim != 2 or z.dtype.kind != "f" or z.shape[1] == 0:
        raise ValueError(f"{who} expects float outputs of shape (N, C); got {z.dtype} array of shape {z.shape}")
    if z.shape[0] == 0:
        raise ValueError(f"{who} got an empty batch (shape {z.shape}); a mean over no examples is undefined")
    return z


class SoftmaxCrossEntropy:
    """Softmax followed by the negative log-likelihood, averaged over the batch.

        L = -(1/N) sum_n log softmax(z_n)[y_n]

    Shapes: logits z (N, C) float; targets y (N,) int in [0, C).
    Backward: dL/dz = (softmax(z) - onehot(y)) / N.
    """

    def __init__(self):
        self._cache = None

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        """Inputs:  logits: (N, C) float array z, one row of class scores per example.
                 targets: (N,) int array y, labels in [0, C).
        Returns: L, the mean cross-entropy, a Python float.
        """
        z = _check_logits(logits, "SoftmaxCrossEntropy")
        n, c = z.shape
        y = check_labels(targets, n, c)
        at_label = _label_positions(y, c)
        # -log softmax(z)[y] = log sum_k exp z_k - z_y; taking the row max m off every z_k changes
        # nothing (the m's cancel) and keeps exp <= 1.  shifted is a new, C-ordered array: the
        # caller's logits stay as they are, and the flat label index holds for any layout of z
        shifted = np.subtract(z, z.max(axis=1, keepdims=True), order="C")
        picked = _take_at_labels(shifted, at_label)     # shifted[np.arange(N), y]
        exp = np.exp(shifted, out=shifted)
        sumexp = exp.sum(axis=1)
        loss = float((np.log(sumexp) - picked).sum()) / n
        self._cache = (exp, sumexp, at_label)
        return loss

    def backward(self) -> np.ndarray:
        """Returns: dz: (N, C), dL/dz, in the logits' dtype.  Once per forward: it reuses a
        buffer of the forward pass."""
        if self._cache is None:
            raise RuntimeError("SoftmaxCrossEntropy: backward called before forward")
        exp, sumexp, at_label = self._cache
        # L = -(1/N) sum_n log softmax(z_n)[y_n].  For one row z with label y,
        #   log softmax(z)[y] = z_y - log sum_k exp z_k.
        # Differentiate with respect to z_j:
        #   d z_y / d z_j               = [j == y]
        #   d log sum_k exp z_k / d z_j = exp z_j / sum_k exp z_k = p_j,   p = softmax(z)
        # so  d(-log softmax(z)[y]) / d z_j = p_j - [j == y].  Row n of z appears in term n only:
        #   dL/dz[n,j] = (p[n,j] - [j == y_n]) / N,   i.e.  dz = (p - onehot(y)) / N,
        # with p = exp / sumexp (the row max taken off in forward cancels in this ratio).
        dz = _cross_entropy_grad(exp, sumexp, at_label)      # (exp / sumexp[:, None] - onehot(y)) / N
        self._cache = None       # dz is exp's buffer: a second backward would be wrong
        return dz

    __call__ = forward

    def __repr__(self):
        return "SoftmaxCrossEntropy()"


class NLLLoss:
    """Negative log-likelihood of log-probabilities, averaged over the batch.

        L = -(1/N) sum_n logp[n, y_n]

    Use after a ``LogSoftmax`` layer; together they equal ``SoftmaxCrossEntropy``.
    Shapes: log-probabilities (N, C) float; targets (N,) int in [0, C).
    Backward: dL/dlogp is -1/N at (n, y_n) and 0 elsewhere.
    """

    def __init__(self):
        self._cache = None

    def forward(self, log_probs: np.ndarray, targets: np.ndarray) -> float:
        """Inputs:  log_probs: (N, C) float array logp, e.g. the output of LogSoftmax.
                 targets: (N,) int array y, labels in [0, C).
        Returns: L, the mean negative log-likelihood, a Python float.
        """
        lp = _check_logits(log_probs, "NLLLoss")
        n, c = lp.shape
        y = check_labels(targets, n, c)
        self._cache = (lp.shape, lp.dtype, y)
        return -float(lp[np.arange(n), y].sum()) / n

    def backward(self) -> np.ndarray:
        """Returns: dlogp: (N, C), dL/dlogp, in the dtype of log_probs."""
        if self._cache is None:
            raise RuntimeError("NLLLoss: backward called before forward")
        shape, dtype, y = self._cache
        # L = -(1/N) sum_n logp[n, y_n]: entry logp[n,j] appears once if j == y_n, else never, so
        #   dL/dlogp[n,j] = -(1/N) [j == y_n]
        d = np.zeros(shape, dtype=dtype)
        d[np.arange(shape[0]), y] = -1.0 / shape[0]
        return d

    __call__ = forward

    def __repr__(self):
        return "NLLLoss()"


class MSELoss:
    """Mean squared error over all elements: ``L = mean((pred - target)^2)``.

    Shapes: pred and target of the same shape, e.g. (N, D).
    Backward: dL/dpred = 2 (pred - target) / pred.size.
    """

    def __init__(self):
        self._diff = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """Inputs:  pred: float array of any shape, e.g. (N, D).
                 target: array of the same shape.
        Returns: L, the mean over all M = pred.size elements of (pred - target)^2, a Python float.
        """
        pred, target = np.asarray(pred), np.asarray(target)
        if pred.shape != target.shape:
            raise ValueError(f"MSELoss: prediction shape {pred.shape} does not match target shape {target.shape}")
        if pred.dtype.kind != "f":
            raise ValueError(f"MSELoss expects float predictions; got dtype {pred.dtype}")
        if pred.size == 0:
            raise ValueError(f"MSELoss got empty arrays (shape {pred.shape}); a mean over no elements is undefined")
        self._diff = diff = pred - target.astype(pred.dtype, copy=False)
        return float(np.mean(diff * diff, dtype=np.float64))

    def backward(self) -> np.ndarray:
        """Returns: dpred: pred's shape and dtype, dL/dpred."""
        if self._diff is None:
            raise RuntimeError("MSELoss: backward called before forward")
        # L = (1/M) sum_k d_k^2 with d = pred - target, and pred_k appears only in d_k, so
        #   dL/dpred_k = (1/M) 2 d_k,   i.e.  dpred = 2 d / M
        return self._diff * self._diff.dtype.type(2.0 / self._diff.size)

    __call__ = forward

    def __repr__(self):
        return "MSELoss()"


# ---- fast paths ---------------------------------------------------------------
# The label check, and the gather and scatter at the label of SoftmaxCrossEntropy:
# all run on every training step.  Each helper equals the plain expression in its
# docstring (tests/test_fast_paths.py checks it).

_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}   # same-width view of a signed int


def _largest_label(y: np.ndarray):
    """``y.max()``, but with any negative label counted as larger than every class:
    ``_largest_label(y) >= C`` exactly when ``y.min() < 0 or y.max() >= C``.

    Seen as unsigned, a negative integer is huge, so one reduction does the work
    of min() and max(); a batch of 10 labels is checked on every training step.
    """
    if y.dtype.kind == "i" and y.dtype.isnative:
        return y.view(_UNSIGNED[y.itemsize]).max()
    return y.max() if y.dtype.kind == "u" or y.min() >= 0 else np.iinfo(np.uint64).max


@functools.lru_cache(maxsize=32)
def _row_starts(n: int, c: int) -> np.ndarray:
    """``np.arange(n) * c``: where each row of a C-contiguous (n, c) array starts in
    its ``ravel()``.  Cached (and read-only), as one batch size recurs step after step."""
    starts = np.arange(n, dtype=np.intp) * c
    starts.flags.writeable = False
    return starts


def _label_positions(y: np.ndarray, c: int) -> np.ndarray:
    """``np.ravel_multi_index((np.arange(N), y), (N, C))``: the position ``n*C + y[n]``
    of ``z[n, y[n]]`` in ``z.ravel()`` for a C-contiguous (N, C) array z."""
    if y.dtype.kind == "u":
        y = y.astype(np.intp)               # intp + uint64 would be float64; labels < C fit in intp
    return _row_starts(len(y), c) + y


def _take_at_labels(z: np.ndarray, at_label: np.ndarray) -> np.ndarray:
    """``z[np.arange(N), y]`` (the same values), with ``at_label = _label_positions(y, C)``.

    One 1-D gather from ``z.ravel()`` costs half of the 2-D fancy index.
    """
    return z.ravel()[at_label]


def _cross_entropy_grad(exp: np.ndarray, sumexp: np.ndarray, at_label: np.ndarray) -> np.ndarray:
    """``(exp / sumexp[:, None] - onehot(y)) / N``, i.e. (softmax - onehot) / N, written into
    ``exp``'s buffer (which it returns) and ``sumexp``'s; exp must be C-contiguous.

    Bit for bit it is ``dz = exp / (N * sumexp)[:, None]; dz[np.arange(N), y] -= 1 / N``:
    the same value as the first form up to a few roundings (a few eps / N), but
    no new (N, C) array, and the label entries reached through one flat index.
    """
    n = exp.shape[0]
    sumexp *= n
    exp /= sumexp[:, None]
    exp.ravel()[at_label] -= exp.dtype.type(1.0 / n)      # ravel() is a view: exp is C-contiguous
    return exp

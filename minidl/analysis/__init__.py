"""Analysis tools: the network as a point in parameter space, and its derivatives.

    from minidl.analysis import flatten_params, loss_and_grad, hessian, minimal_ratio
    theta = flatten_params(model)                      # (P,)
    value, g = loss_and_grad(model, loss, X, y)        # full-batch loss and (P,) gradient
    H = hessian(model, loss, X, y)                     # (P, P), exact (R-operator)
    minimal_ratio(H)                                   # fraction of eigenvalues > 0

What is where:

- ``params``    flatten_params / unflatten_params, flatten_grads, loss_and_grad,
                grad_norm, perturb, RecordingLoss (keeps every batch loss of a Trainer)
- ``hessian``   hessian_vector_product (exact R-operator, or finite differences of
                analytic gradients), hessian, minimal_ratio, default_tolerance
- ``critical_points``  saddle_free_newton, levenberg_marquardt: drive ||g|| to ~0 with steps on the
                exact Hessian; spectrum_counts: negative / flat / positive eigenvalues
- ``pca``       pca_2d: project weight snapshots to 2-D
- ``jacobian``  input_jacobian: d outputs / d inputs per example
- ``sensitivity``  output_jacobian (softmax or logits), sensitivity: per-example ||J(x)||_F (or spectral),
                   random_inputs: seeded random points of the input space to take it at
- ``sharpness``    sharpness: the largest loss rise in an eps-box, from random samples
- ``interpolation`` interpolate, interpolation_alphas, interpolation_curve: the loss between two minima

Everything is exact up to rounding, computed from the analytic backward
passes; run it in float64 (``model.astype(np.float64)``) for second derivatives.
"""
from minidl.analysis.critical_points import levenberg_marquardt, saddle_free_newton, spectrum_counts
from minidl.analysis.hessian import default_tolerance, hessian, hessian_vector_product, minimal_ratio
from minidl.analysis.interpolation import interpolate, interpolation_alphas, interpolation_curve
from minidl.analysis.jacobian import input_jacobian
from minidl.analysis.params import (RecordingLoss, flatten_grads, flatten_params, grad_norm, loss_and_grad,
                                    perturb, unflatten_params)
from minidl.analysis.pca import PCA2D, pca_2d
from minidl.analysis.sensitivity import output_jacobian, random_inputs, sensitivity
from minidl.analysis.sharpness import sharpness

__all__ = ["flatten_params", "unflatten_params", "flatten_grads", "loss_and_grad", "grad_norm", "perturb", "RecordingLoss",
           "hessian_vector_product", "hessian", "minimal_ratio", "default_tolerance",
           "saddle_free_newton", "levenberg_marquardt", "spectrum_counts",
           "pca_2d", "PCA2D", "input_jacobian",
           "output_jacobian", "sensitivity", "random_inputs", "sharpness", "interpolate", "interpolation_alphas", "interpolation_curve"]

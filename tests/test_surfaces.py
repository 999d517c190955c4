"""Tests for minidl.toys.surfaces: analytic gradients, minima, vectorisation, registry."""
import numpy as np
import pytest

from minidl.gradcheck import numerical_gradient, relative_error
from minidl.toys.surfaces import SURFACES, Quadratic, Rosenbrock, get_surface

# every registered surface, plus non-default options where a surface has them
CASES = [(name, {}) for name in SURFACES] + [
    ("rosenbrock", {"a": -0.5, "b": 20.0}),
    ("quadratic", {"condition": 1000.0, "angle": 0.0}),
    ("quadratic", {"condition": 7.0, "angle": -65.0}),
]
IDS = [f"{n}{opts or ''}" for n, opts in CASES]


def _grid(surface, n=25):
    """An (n, n, 2) grid of points covering the surface's default plot window."""
    (x_lo, x_hi), (y_lo, y_hi) = surface.window
    X, Y = np.meshgrid(np.linspace(x_lo, x_hi, n), np.linspace(y_lo, y_hi, n))
    return np.stack([X, Y], axis=-1)


@pytest.mark.parametrize("name, options", CASES, ids=IDS)
def test_gradient_matches_central_differences_on_a_grid(name, options):
    s = get_surface(name, **options)
    P = _grid(s)
    h = 1e-6
    ex, ey = np.array([h, 0.0]), np.array([0.0, h])
    # vectorised central differences: the whole grid in four calls of f
    numeric = np.stack([(s.f(P + ex) - s.f(P - ex)) / (2 * h),
                        (s.f(P + ey) - s.f(P - ey)) / (2 * h)], axis=-1)
    analytic = s.grad(P)
    assert analytic.shape == P.shape
    # per point, relative to that point's gradient scale (values span ~8 decades over a window)
    scale = np.maximum(np.abs(analytic).max(axis=-1, keepdims=True), 1.0)
    err = np.abs(analytic - numeric) / scale
    worst = np.unravel_index(err.argmax(), err.shape)
    assert err.max() < 1e-6, f"{s!r}: worst error {err.max():.2e} at point {P[worst[:2]]}"


@pytest.mark.parametrize("name, options", CASES, ids=IDS)
def test_gradient_matches_gradcheck_at_random_points(name, options):
    s = get_surface(name, **options)
    rng = np.random.default_rng(0)
    (x_lo, x_hi), (y_lo, y_hi) = s.window
    for _ in range(5):
        p = np.array([rng.uniform(x_lo, x_hi), rng.uniform(y_lo, y_hi)])
        numeric = numerical_gradient(lambda q: float(s.f(q)), p)
        err = relative_error(s.grad(p), numeric)
        assert err < 1e-7, f"{s!r} at {p}: relative error {err:.2e}"


@pytest.mark.parametrize("name, options", CASES, ids=IDS)
def test_minima_have_zero_gradient_and_value_f_star(name, options):
    s = get_surface(name, **options)
    assert s.minima.ndim == 2 and s.minima.shape[1] == 2
    np.testing.assert_allclose(s.f(s.minima), s.f_min, atol=1e-24)
    np.testing.assert_allclose(s.grad(s.minima), 0.0, atol=1e-12)
    np.testing.assert_allclose(s.distance(s.minima), 0.0, atol=0)
    # and they are minima: every nearby point is higher
    rng = np.random.default_rng(1)
    for m in s.minima:
        nearby = m + 1e-3 * rng.standard_normal((50, 2))
        assert np.all(s.f(nearby) > s.f_min), f"{s!r}: {m} is not a local minimum"


def test_known_values():
    r = Rosenbrock()
    assert r.f([-4.0, -2.0]) == 25.0 + 100.0 * 18.0 ** 2
    np.testing.assert_array_equal(r.grad([-4.0, -2.0]), [-2 * 5 - 400 * 4 * 18, -200 * 18])
    assert get_surface("beale").f([0.0, 0.0]) == pytest.approx(1.5 ** 2 + 2.25 ** 2 + 2.625 ** 2)
    assert get_surface("himmelblau").f([0.0, 0.0]) == 11 ** 2 + 7 ** 2
    np.testing.assert_allclose(Rosenbrock(a=2.0).minima, [[2.0, 4.0]])


def test_himmelblau_has_four_minima_and_distance_is_to_the_nearest():
    s = get_surface("himmelblau")
    assert len(s.minima) == 4
    assert len({tuple(np.round(m, 3)) for m in s.minima}) == 4
    for m in s.minima:
        p = m + np.array([0.03, -0.04])                  # 0.05 away from this minimum
        assert s.distance(p) == pytest.approx(0.05)
    # far away, distance is to whichever minimum is closest
    p = np.array([10.0, 10.0])
    assert s.distance(p) == pytest.approx(np.hypot(*(p - [3.0, 2.0])))


def test_quadratic_hessian_has_eigenvalues_1_and_condition():
    for kappa, angle in [(50.0, 30.0), (1000.0, 0.0), (3.0, 100.0)]:
        s = Quadratic(condition=kappa, angle=angle)
        # the gradient of a quadratic is linear: H's columns are grad(e_x), grad(e_y)
        H = np.column_stack([s.grad([1.0, 0.0]), s.grad([0.0, 1.0])])
        np.testing.assert_allclose(H, H.T, atol=1e-12)
        np.testing.assert_allclose(np.linalg.eigvalsh(H), [1.0, kappa], rtol=1e-12)
        # the flat axis points along `angle`
        a = np.radians(angle)
        np.testing.assert_allclose(H @ [np.cos(a), np.sin(a)], [np.cos(a), np.sin(a)], atol=1e-12)


@pytest.mark.parametrize("name", list(SURFACES))
def test_vectorised_over_any_leading_shape(name):
    s = get_surface(name)
    P = _grid(s, n=7)                                    # (7, 7, 2)
    F, G = s.f(P), s.grad(P)
    assert F.shape == (7, 7) and G.shape == (7, 7, 2)
    for i, j in [(0, 0), (3, 5), (6, 6)]:
        assert F[i, j] == pytest.approx(s.f(P[i, j]), rel=1e-14)
        np.testing.assert_allclose(G[i, j], s.grad(P[i, j]), rtol=1e-14)
    assert s.f(P.reshape(-1, 2)).shape == (49,)
    assert np.ndim(s.f(P[0, 0])) == 0
    # dtype is preserved (float32 grids for cheap contours), ints are promoted
    assert s.grad(P.astype(np.float32)).dtype == np.float32
    assert s.grad(np.array([1, 2])).dtype == np.float64


def test_bad_shapes_and_registry_errors():
    s = get_surface("rosenbrock")
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\); got \(3,\)"):
        s.f(np.zeros(3))
    with pytest.raises(ValueError, match="unknown surface 'rosenbrok' \\(did you mean rosenbrock\\?\\)"):
        get_surface("rosenbrok")
    with pytest.raises(ValueError, match="surface 'quadratic' has no option 'kappa'; its options: condition, angle"):
        get_surface("quadratic", kappa=10)
    with pytest.raises(ValueError, match="condition must be >= 1"):
        get_surface("quadratic", condition=0.5)
    with pytest.raises(ValueError, match="b must be a finite number > 0"):
        get_surface("rosenbrock", b=-1)
    assert "typo" in Rosenbrock.__doc__ and "unbounded below" in Rosenbrock.__doc__


def test_distance_does_not_overflow_far_away():
    s = get_surface("rosenbrock")
    with np.errstate(all="raise"):
        assert s.distance(np.array([1e200, 1e200])) == pytest.approx(np.hypot(1e200, 1e200))

"""Data augmentation: random shifts, rotations and scales of a batch (minidl.data.augment)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.data.augment import Augment, augment_batch


class Fixed:
    """A stand-in Generator whose draws are fixed: angle, scale, then (dy, dx) shifts."""

    def __init__(self, angle=0.0, scale=1.0, dy=0.0, dx=0.0):
        self.values = [angle, scale, (dy, dx)]

    def uniform(self, low, high, size):
        value = self.values.pop(0)
        return np.broadcast_to(np.asarray(value, float).reshape(-1, 1) if isinstance(value, tuple) else value,
                               size).copy()


def digits(n=4, c=1, seed=0):
    """Blobs away from the border, like MNIST digits."""
    x = np.zeros((n, c, 28, 28), np.float32)
    x[:, :, 8:20, 10:18] = np.random.default_rng(seed).random((n, c, 12, 8))
    return x


def test_no_distortion_is_the_identity():
    x = digits()
    assert np.array_equal(augment_batch(x, np.random.default_rng(0)), x)


@given(st.integers(-4, 4), st.integers(-4, 4))
def test_a_whole_pixel_shift_moves_the_image(dy, dx):
    x = digits(2, 3)
    out = augment_batch(x, Fixed(dy=dy, dx=dx), shift=4)
    assert np.array_equal(out, np.roll(x, (dy, dx), axis=(2, 3)))   # the blob stays inside: a roll is a shift


def test_a_quarter_turn_is_a_rotation_of_the_array():
    x = np.random.default_rng(1).random((2, 1, 28, 28)).astype(np.float32)
    out = augment_batch(x, Fixed(angle=90.0), rotate=90)
    turned = np.rot90(x, axes=(2, 3))
    assert np.allclose(out, turned, atol=1e-5) or np.allclose(out, np.rot90(x, -1, axes=(2, 3)), atol=1e-5)


def test_shapes_dtypes_and_flat_rows_are_kept():
    x = digits().reshape(4, 784)
    for dtype in (np.float32, np.float64):
        out = augment_batch(x.astype(dtype), np.random.default_rng(0), shift=2, rotate=10, scale=0.1)
        assert out.shape == (4, 784) and out.dtype == dtype


def test_a_seeded_generator_gives_the_same_batch_and_images_differ():
    x = np.repeat(digits(1), 8, axis=0)
    a = Augment(shift=2, rotate=15, scale=0.1)(x, np.random.default_rng(5))
    b = Augment(shift=2, rotate=15, scale=0.1)(x, np.random.default_rng(5))
    assert np.array_equal(a, b)
    assert len({a[i].tobytes() for i in range(8)}) == 8            # each image its own distortion


def test_small_distortions_keep_the_ink_and_stay_in_range():
    x = digits(16)
    out = augment_batch(x, np.random.default_rng(2), shift=2, rotate=10)
    assert out.min() >= 0 and out.max() <= 1
    assert np.allclose(out.sum(axis=(1, 2, 3)), x.sum(axis=(1, 2, 3)), rtol=0.05)


@pytest.mark.parametrize("options, shape", [({"shift": -1}, (2, 784)), ({"scale": 1.0}, (2, 784)),
                                            ({}, (2, 783)), ({}, (2, 28, 28))])
def test_bad_options_or_shapes_are_refused(options, shape):
    with pytest.raises(ValueError, match="augment"):
        augment_batch(np.zeros(shape, np.float32), np.random.default_rng(0), **options)

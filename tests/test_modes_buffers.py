"""Layer modes (train/eval reaching every sub-layer) and buffers (saved, never trained)."""
import numpy as np
import pytest

from minidl.layers import Layer, Linear, ReLU, Sequential
from minidl.parameter import Parameter


class _Counter(Layer):
    """y = x; keeps a (2,) buffer ``seen`` of how many rows passed in each mode."""

    def __init__(self):
        self.scale = Parameter(np.ones(1))
        self._register_buffer("seen", np.zeros(2))

    def forward(self, x):
        self.seen[0 if self.training else 1] += len(x)
        return x


class _Block(Layer):
    """A layer holding sub-layers as attributes, one of them a Sequential."""

    def __init__(self):
        self.inner = _Counter()
        self.stack = Sequential(Linear(2, 2, rng=0), _Counter())


def test_training_is_the_default_and_train_eval_return_self():
    layer = ReLU()
    assert layer.training is True
    assert layer.eval() is layer and layer.training is False
    assert layer.train() is layer and layer.training is True
    assert layer.train(False) is layer and layer.training is False


def test_modes_reach_every_sub_layer():
    model = Sequential(_Block(), ReLU(), Sequential(_Counter()))
    everything = [model, model[0], model[0].inner, model[0].stack, *model[0].stack, model[1], model[2], model[2][0]]
    model.eval()
    assert [layer.training for layer in everything] == [False] * len(everything)
    model.train()
    assert [layer.training for layer in everything] == [True] * len(everything)


def test_buffers_are_named_like_parameters_and_not_trained():
    model = Sequential(Linear(2, 2, rng=0), _Block())
    assert [name for name, _ in model.named_buffers()] == ["1.inner.seen", "1.stack.1.seen"]
    assert not any(p is buf for p in model.parameters() for _, buf in model.named_buffers())
    state = model.state_dict()
    assert list(state) == ["0.W", "0.b", "1.inner.scale", "1.stack.0.W", "1.stack.0.b", "1.stack.1.scale",
                           "1.inner.seen", "1.stack.1.seen"]


def test_state_dict_round_trip_carries_buffers_and_copies_them():
    src, dst = _Block(), _Block()
    src.inner.forward(np.ones((3, 2)))
    src.eval().inner.forward(np.ones((5, 2)))
    state = src.state_dict()
    np.testing.assert_array_equal(state["inner.seen"], [3.0, 5.0])
    src.inner.seen[:] = -1                                  # the state dict holds a copy
    np.testing.assert_array_equal(state["inner.seen"], [3.0, 5.0])
    dst.load_state_dict(state)
    np.testing.assert_array_equal(dst.inner.seen, [3.0, 5.0])
    assert dst.inner.seen is not state["inner.seen"]


def test_load_state_dict_refuses_a_missing_or_misshapen_buffer():
    state = _Block().state_dict()
    del state["inner.seen"]
    with pytest.raises(ValueError, match=r"missing keys \['inner.seen'\]"):
        _Block().load_state_dict(state)
    state = _Block().state_dict()
    state["stack.1.seen"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"stack.1.seen: checkpoint \(3,\) vs model \(2,\)"):
        _Block().load_state_dict(state)


def test_astype_converts_floating_buffers():
    block = _Block().astype(np.float32)
    assert block.inner.seen.dtype == np.float32 and block.stack[1].seen.dtype == np.float32


def test_a_layer_reachable_twice_lists_its_buffers_once():
    shared = _Counter()
    assert [name for name, _ in Sequential(shared, shared).named_buffers()] == ["0.seen"]


def test_reassigning_a_buffer_attribute_is_what_state_dict_sees():
    layer = _Counter()
    layer.seen = np.array([7.0, 8.0])
    np.testing.assert_array_equal(layer.state_dict()["seen"], [7.0, 8.0])

"""Bad checkpoints, fuzzed: whatever file reaches the checkpoint loader, the only error is a clear one.

``restore(path, model, optimizer)`` (and ``load_checkpoint`` under it) is given
damaged copies of a real checkpoint: truncated, bytes flipped or inserted,
an .npy header garbled, empty, not an .npz at all (a .npy, a pickle, text, gzip), entries that are
pickled object arrays, dropped, renamed or added keys, arrays of the wrong
shape or dtype, an .npy header that claims terabytes, and a ``meta`` entry
that is not a JSON object.  Checkpoints of SGD with momentum and of Adam, as
``np.savez`` and as ``np.savez_compressed`` write them.  Each either
raises ``CheckpointError`` (a ValueError) whose message starts with the file's
path and says what is wrong, or - when the damage is harmless, e.g. a flipped
byte in a zip timestamp - restores exactly what was saved.  Never a zipfile,
zlib, pickle, JSON or NumPy error, and no warning either.
"""
import gzip
import io
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzcount import FUZZED, fuzz
from minidl.models import MLP
from minidl.optim import SGD, Adam
from minidl.training.checkpoint import CheckpointError, restore, save_checkpoint

CHECKPOINT_FUZZ = fuzz(share=2, local=60)
# the first weight matrix is 8 kB: zipfile reads a member of under 4 kB whole, and checks its CRC, before
# NumPy parses the header; a larger one is parsed first, so a garbled header reaches NumPy's parser
SIZES = [64, 32, 3]
META = {"epoch": 3, "best": {"acc": 0.75, "epoch": 2}, "rng": np.random.default_rng(5).bit_generator.state,
        "scheduler": {"base_lr": 0.05, "last_epoch": 3}}


def _model_and_optimizer(kind: str, seed: int):
    """A small MLP and its optimizer (sgd with momentum, or adam), after one step: every
    parameter has optimizer state, so the checkpoint holds model/, optim/ and meta entries."""
    model = MLP(SIZES, activation="tanh", rng=np.random.default_rng(seed))
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9) if kind == "sgd" else Adam(model.parameters())
    grads = np.random.default_rng(seed + 1)
    for p in model.parameters():
        p.grad = grads.standard_normal(p.shape).astype(p.dtype)
    optimizer.step()
    return model, optimizer


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """``{kind: (model, optimizer, arrays, stored bytes, compressed bytes)}`` for sgd and adam."""
    folder = tmp_path_factory.mktemp("checkpoints")
    out = {}
    for kind in ("sgd", "adam"):
        model, optimizer = _model_and_optimizer(kind, seed=0)
        save_checkpoint(folder / f"{kind}.npz", model, optimizer, meta=META)
        blob = (folder / f"{kind}.npz").read_bytes()
        with np.load(folder / f"{kind}.npz") as f:
            arrays = {k: f[k] for k in f.files}
        out[kind] = (model, optimizer, arrays, blob, _npz(arrays, compressed=True))
    return out


def _npz(arrays: dict, compressed: bool = False) -> bytes:
    """An .npz archive of ``arrays``, as ``np.savez`` writes it; a ``bytes`` value is an .npy member as is."""
    buffer = io.BytesIO()
    if not any(isinstance(value, bytes) for value in arrays.values()):
        (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
        return buffer.getvalue()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as archive:
        for key, value in arrays.items():
            archive.writestr(f"{key}.npy", value if isinstance(value, bytes) else _npy(value))
    return buffer.getvalue()


# ---- damage to the bytes of the file -----------------------------------------------------------

def _flip(blob, draw):
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(blob) - 1))
        blob = blob[:i] + bytes([blob[i] ^ draw(st.integers(1, 255))]) + blob[i + 1:]
    return blob


def _flip_in_a_header(blob, draw):
    """Flip a byte of an .npy header (``{'descr': ..., 'shape': ...}``), read before any CRC check."""
    headers = [i for i in range(len(blob)) if blob.startswith(b"{'descr'", i)]
    if not headers:                     # compressed: the headers are not visible
        return _flip(blob, draw)
    i = draw(st.sampled_from(headers)) + draw(st.integers(0, 70))
    byte = draw(st.sampled_from(b"([{}])'\",:L#\\\n") | st.integers(0, 255))    # the header is Python syntax
    return blob[:i] + bytes([byte]) + blob[i + 1:]


def _not_an_npz(blob, draw):
    arrays = np.arange(12.0).reshape(3, 4)
    others = {"random bytes": lambda: draw(st.binary(min_size=1, max_size=300)),
              "text": lambda: draw(st.sampled_from([b"epoch: 3\n", b'{"model/0.W": [1, 2]}', b"1,2,3\n"])),
              "a .npy array": lambda: _npy(arrays),
              "a .npy object array": lambda: _npy(np.array([{"epoch": 3}], dtype=object)),
              "a pickle": lambda: pickle.dumps({"model/0.W": arrays}),
              "a gzip of the checkpoint": lambda: gzip.compress(blob),
              "a zip of text": lambda: _zip({"notes.txt": b"not an array"}),
              "an empty zip": lambda: _zip({})}
    return others[draw(st.sampled_from(sorted(others)))]()


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _zip(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


BYTE_DAMAGE = {
    "truncated": lambda blob, draw: blob[:draw(st.integers(0, len(blob) - 1))],
    "flipped bytes": _flip,
    "flipped header byte": _flip_in_a_header,
    "inserted junk": lambda blob, draw: (lambda i: blob[:i] + draw(st.binary(min_size=1, max_size=8)) + blob[i:])(
        draw(st.integers(0, len(blob)))),
    "empty file": lambda blob, draw: b"",
    "not an npz": _not_an_npz,
}


@CHECKPOINT_FUZZ
@given(data=st.data())
def test_damaged_checkpoint_bytes_give_a_checkpointerror_naming_the_file(originals, tmp_path_factory, data):
    kind = data.draw(st.sampled_from(["sgd", "adam"]), label="optimizer")
    model, optimizer, _, stored, compressed = originals[kind]
    blob = compressed if data.draw(st.booleans(), label="compressed") else stored
    damage = data.draw(st.sampled_from(sorted(BYTE_DAMAGE)), label="damage")
    path = tmp_path_factory.mktemp("bytes") / "last.npz"
    path.write_bytes(BYTE_DAMAGE[damage](blob, data.draw))
    FUZZED["checkpoint"] += 1
    _restore_exactly_or_refuse(path, kind, model, optimizer, damage)


def _restore_exactly_or_refuse(path, kind, model, optimizer, damage):
    """Either CheckpointError naming ``path``, or the very state of ``model``, ``optimizer`` and META."""
    fresh_model, fresh_optimizer = _model_and_optimizer(kind, seed=9)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")        # a NumPy warning on the way is a leak too
            meta = restore(path, fresh_model, fresh_optimizer)
    except CheckpointError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and len(message) > len(str(path)) + 10, (damage, message)
        return
    assert meta == json.loads(json.dumps(META)), damage
    _assert_same_state(fresh_model.state_dict(), model.state_dict(), damage)
    _assert_same_state(fresh_optimizer.state_dict(), optimizer.state_dict(), damage)


def _assert_same_state(got: dict, expected: dict, damage: str):
    assert sorted(got) == sorted(expected), damage
    for key, value in expected.items():
        assert got[key].dtype == value.dtype and np.array_equal(got[key], value), (damage, key)


# ---- damage to the entries of the archive ------------------------------------------------------

def _other_shape(value: np.ndarray, draw) -> np.ndarray:
    shapes = [value.shape + (1,), (2,) + value.shape, (0,), (value.size + 1,)]
    if value.ndim:
        shapes += [(), value.shape[:-1] + (value.shape[-1] + 1,)]
    shape = draw(st.sampled_from([s for s in shapes if s != value.shape]))
    return np.resize(value, shape)


NOT_A_NUMBER = ["?", "c16", "c8", "U5", "S5", "M8[s]", "m8[s]", [("a", "<f4"), ("b", "<i4")]]


def _other_dtype(value: np.ndarray, draw) -> np.ndarray:
    choices = NOT_A_NUMBER + (["<i8", "<u1"] if value.ndim else [])      # integer buffers are no buffers
    dtype = np.dtype(draw(st.sampled_from(choices)))
    try:
        return value.astype(dtype)
    except (TypeError, ValueError):
        return np.zeros(value.shape, dtype)


def _object_array(value: np.ndarray, draw) -> np.ndarray:
    out = np.empty(draw(st.sampled_from([(), (1,), value.shape])), dtype=object)
    out.fill(draw(st.sampled_from([value.tolist(), {"epoch": 3}, None, "model", 1.5])))
    return out


def _huge_claim(value: np.ndarray, draw) -> bytes:
    """An .npy member whose header claims far more data than it holds (up to 400 TB)."""
    header = io.BytesIO()
    shape = draw(st.sampled_from([(10**7, 10**7), (2**40,), (10**5, 10**5), (2**62, 4), (50_000, 50_000)]))
    np.lib.format.write_array_header_1_0(header, {"descr": value.dtype.str, "fortran_order": False, "shape": shape})
    return header.getvalue() + value.tobytes()


def _bad_meta(value, draw):
    texts = ["[1, 2]", "3", '"epoch"', "null", "{", "", "{'epoch': 3}", json.dumps(META)[:-1], "deep"]
    text = draw(st.sampled_from(texts))
    return np.array("[" * 100_000 + "]" * 100_000 if text == "deep" else text)     # too deep for json


def _key_name(draw) -> str:
    return draw(st.one_of(st.sampled_from(["model/9.W", "model/", "optim/", "optim/0.velocity", "optim/7.step",
                                           "optim/x.exp_avg", "model/0.w", "junk", "meta2", "model/0.W/x"]),
                          st.text(st.characters(codec="ascii", exclude_characters="\x00/"), min_size=1, max_size=12)))


ENTRY_DAMAGE = {
    "pickled object array": lambda arrays, key, draw: {**arrays, key: _object_array(arrays[key], draw)},
    "dropped key": lambda arrays, key, draw: {k: v for k, v in arrays.items() if k != key},
    "renamed key": lambda arrays, key, draw: {**{k: v for k, v in arrays.items() if k != key},
                                              _key_name(draw): arrays[key]},
    "extra key": lambda arrays, key, draw: {**arrays, _key_name(draw): arrays[key]},
    "wrong shape": lambda arrays, key, draw: {**arrays, key: _other_shape(arrays[key], draw)},
    "wrong dtype": lambda arrays, key, draw: {**arrays, key: _other_dtype(arrays[key], draw)},
    "huge shape claimed": lambda arrays, key, draw: {**arrays, key: _huge_claim(arrays[key], draw)},
    "bad meta": lambda arrays, key, draw: {**arrays, "meta": _bad_meta(arrays["meta"], draw)},
}


@CHECKPOINT_FUZZ
@given(data=st.data())
def test_damaged_checkpoint_entries_give_a_checkpointerror_naming_the_file(originals, tmp_path_factory, data):
    kind = data.draw(st.sampled_from(["sgd", "adam"]), label="optimizer")
    model, optimizer, arrays, _, _ = originals[kind]
    damage = data.draw(st.sampled_from(sorted(ENTRY_DAMAGE)), label="damage")
    key = data.draw(st.sampled_from(sorted(arrays)), label="entry")
    damaged = ENTRY_DAMAGE[damage](arrays, key, data.draw)
    path = tmp_path_factory.mktemp("entries") / "best.npz"
    path.write_bytes(_npz(damaged, compressed=data.draw(st.booleans(), label="compressed")))
    FUZZED["checkpoint"] += 1
    _restore_exactly_or_refuse(path, kind, model, optimizer, f"{damage} of {key}")


# ---- the cases behind the fixes, spelled out -----------------------------------------------------

def test_a_checkpoint_of_another_optimizer_is_refused_naming_what_it_keeps(originals, tmp_path):
    model, optimizer, arrays, stored, _ = originals["sgd"]
    (tmp_path / "last.npz").write_bytes(stored)
    adam_model, adam = _model_and_optimizer("adam", seed=9)
    with pytest.raises(CheckpointError, match=r"last.npz: optimizer state of parameter 0 has \['momentum_buffer'\]; "
                                              r"Adam keeps \['exp_avg', 'exp_avg_sq', 'step'\]"):
        restore(tmp_path / "last.npz", adam_model, adam)
    (tmp_path / "best.npz").write_bytes(_npz({k: v for k, v in arrays.items() if not k.startswith("optim/")}))
    with pytest.raises(CheckpointError, match="best.npz: optimizer state has no 'lr' entry"):
        restore(tmp_path / "best.npz", *_model_and_optimizer("sgd", seed=9))
    assert restore(tmp_path / "best.npz", MLP(SIZES, activation="tanh")) == META   # a model alone is fine


def test_optimizer_state_from_before_the_first_step_round_trips(tmp_path):
    model = MLP(SIZES, activation="tanh", rng=np.random.default_rng(0))
    save_checkpoint(tmp_path / "start.npz", model, Adam(model.parameters(), lr=0.002), meta={})
    fresh = MLP(SIZES, activation="tanh", rng=np.random.default_rng(1))
    adam = Adam(fresh.parameters())
    assert restore(tmp_path / "start.npz", fresh, adam) == {} and adam.lr == 0.002 and adam.state == {}

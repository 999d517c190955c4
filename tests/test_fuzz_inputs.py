"""Bad input, fuzzed: whatever a student feeds in, the only error is a clear ValueError.

Every category below draws malformed inputs with hypothesis and checks that
the library either accepts the input (when it is actually fine: a BOM, CRLF
line endings, a trailing newline) or raises ``ValueError`` (or a documented
subclass: DataError, ConfigError) whose message names the file and line, or
the key and value.  Never IndexError, TypeError, KeyError, or an error from
inside NumPy.  The number of inputs tried per category is printed at the end
of the test run.
"""
import gzip
import re
import struct

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fuzzcount import FUZZED, fuzz
from minidl.runs.config import ConfigError, apply_overrides
from minidl.data import load_idx, parse_csv_bytes
from minidl.layers import Linear, ReLU, Sequential, Sigmoid
from minidl.losses import MSELoss, NLLLoss, SoftmaxCrossEntropy
from minidl.runs.job_config import resolve

# each category tries at least 1,000 inputs in CI (fuzzcount.fuzz), 150 per test locally
CSV_FUZZ, IDX_FUZZ, CONFIG_FUZZ, API_FUZZ = fuzz(share=2), fuzz(share=1), fuzz(share=2), fuzz(share=3)

# ---- CSV ------------------------------------------------------------------------------------

GOOD_ROWS = [[3] + [0] * 300 + [255] * 484, [7] + list(range(256)) + [1] * 528, [0] * 785]


def _line(values) -> str:
    return ",".join(str(v) for v in values)


CSV_MUTATIONS = {
    "truncated row": lambda row, draw: _line(row[:draw(st.integers(1, 784))]),
    "extra fields": lambda row, draw: _line(row + [0] * draw(st.integers(1, 5))),
    "non-numeric token": lambda row, draw: _line(row[:draw(st.integers(0, 784))] + [draw(st.sampled_from(
        ["a", "1.5", "0x10", " ", "", "NaN", "1e3", "--1", "+"]))] + row[1:])[:100000],
    "negative pixel": lambda row, draw: _line(row[:1] + [-draw(st.integers(1, 300))] + row[2:]),
    "pixel over 255": lambda row, draw: _line(row[:1] + [draw(st.integers(256, 10**6))] + row[2:]),
    "label out of 0-9": lambda row, draw: _line([draw(st.sampled_from([-1, 10, 11, 99, 255]))] + row[1:]),
    "header row": lambda row, draw: "label," + ",".join(f"pixel{i}" for i in range(784)),
    "empty line in the middle": lambda row, draw: "",
}


@CSV_FUZZ
@given(data=st.data())
def test_malformed_csv_raises_valueerror_naming_file_and_line(data):
    kind = data.draw(st.sampled_from(sorted(CSV_MUTATIONS)), label="mutation")
    rows = [_line(r) for r in GOOD_ROWS]
    where = data.draw(st.integers(0, len(rows) - 1), label="bad line index")
    rows.insert(where, CSV_MUTATIONS[kind](GOOD_ROWS[where % 3], data.draw))
    crlf = data.draw(st.booleans())
    text = ("\r\n" if crlf else "\n").join(rows) + "\n"
    FUZZED["csv"] += 1
    with pytest.raises(ValueError) as err:
        parse_csv_bytes(text.encode(), "student.csv")
    message = str(err.value)
    assert message.startswith("student.csv") and f"line {where + 1}" in message, (kind, message)


@CSV_FUZZ
@given(bom=st.booleans(), crlf=st.booleans(), trailing=st.sampled_from(["", "\n", "\n\n"]))
def test_harmless_csv_variants_load(bom, crlf, trailing):
    text = ("\r\n" if crlf else "\n").join(_line(r) for r in GOOD_ROWS) + trailing
    FUZZED["csv"] += 1
    pixels, labels = parse_csv_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(), "ok.csv")
    assert pixels.shape == (3, 784) and labels.tolist() == [3, 7, 0]


@CSV_FUZZ
@given(blob=st.binary(max_size=3000))
def test_arbitrary_bytes_as_csv_never_escape_as_another_error(blob):
    FUZZED["csv"] += 1
    try:
        parse_csv_bytes(blob, "junk.csv")
    except ValueError as exc:
        assert str(exc).startswith("junk.csv") and re.search(r"line \d+", str(exc)), str(exc)


def test_empty_csv_file(tmp_path):
    from minidl.data import load_csv
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    FUZZED["csv"] += 1
    with pytest.raises(ValueError, match=r"empty.csv, line 1: the file is empty"):
        load_csv(path)


# ---- IDX ------------------------------------------------------------------------------------

def _idx(magic: int, dims, payload: bytes) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims) + payload


@IDX_FUZZ
@given(data=st.data())
def test_malformed_idx_raises_valueerror_naming_the_file(tmp_path_factory, data):
    n = data.draw(st.integers(1, 4), label="images")
    images = _idx(2051, (n, 28, 28), bytes(n * 784))
    labels = _idx(2049, (n,), bytes(range(n)))
    kind = data.draw(st.sampled_from(["magic", "dims", "truncate payload", "truncate gzip", "flip gzip byte",
                                      "count mismatch"]), label="damage")
    target = data.draw(st.sampled_from(["images", "labels"]), label="file")
    raw = images if target == "images" else labels
    if kind == "magic":
        raw = struct.pack(">I", data.draw(st.integers(0, 2**32 - 1).filter(lambda m: m not in (2049, 2051)))) + raw[4:]
    elif kind == "dims":
        raw = raw[:4] + struct.pack(">I", data.draw(st.integers(0, 2**32 - 1).filter(lambda d: d != n))) + raw[8:]
    elif kind == "truncate payload":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "count mismatch":
        raw = _idx(2049, (n + 1,), bytes(n + 1)) if target == "labels" else _idx(2051, (n + 1, 28, 28), bytes((n + 1) * 784))
    blob = gzip.compress(raw)
    if kind == "truncate gzip":
        blob = blob[:data.draw(st.integers(0, len(blob) - 1))]
    elif kind == "flip gzip byte":
        i = data.draw(st.integers(10, len(blob) - 1))
        blob = blob[:i] + bytes([blob[i] ^ data.draw(st.integers(1, 255))]) + blob[i + 1:]
    folder = tmp_path_factory.mktemp("idx")
    paths = {name: folder / f"{name}.gz" for name in ("images", "labels")}
    paths["images"].write_bytes(gzip.compress(images))
    paths["labels"].write_bytes(gzip.compress(labels))
    paths[target].write_bytes(blob)
    FUZZED["idx"] += 1
    try:
        X, y = load_idx(paths["images"], paths["labels"])
    except ValueError as exc:
        assert any(f"{name}.gz" in str(exc) for name in ("images", "labels")), str(exc)
    else:   # a flipped byte can land in the gzip header's name/mtime, where it is harmless
        assume(kind == "flip gzip byte")
        assert X.shape == (n, 784) and len(y) == n


# ---- Config ---------------------------------------------------------------------------------

VALID = {"Train": {"batch_size": 64, "learning_rate": 0.1, "reg": 0.001, "epochs": 10, "momentum": 0.0},
         "Model": {"type": "MLP", "sizes": [784, 30, 10], "activation": "sigmoid"}}
KEYS = ["Train.batch_size", "Train.learning_rate", "Train.reg", "Train.epochs", "Train.momentum", "Train.debug",
        "Train.optimizer", "Train.nesterov", "Train.betas", "Train.seed", "Train.scheduler", "Train.dtype",
        "Model.type", "Model.hidden_size", "Model.sizes", "Model.activation", "Model.init", "Model.bias",
        "Data.val_fraction", "Data.subset", "Data.dir", "Output.dir", "Train.learnig_rate", "Trian.epochs",
        "Model.size", "Extra.key"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                   st.text(max_size=12), st.lists(st.integers(-5, 1000), max_size=4),
                   st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
                   st.sampled_from(["adam", "sgd", "relu", "tanh", "xavier_normal", "MLP", "TwoLayerNet",
                                    "float64", "step", [784, 10], [784, 0, 10], [100, 10], -1, 0, 1e-300]))


@CONFIG_FUZZ
@given(changes=st.dictionaries(st.sampled_from(KEYS), VALUES, min_size=1, max_size=3))
def test_bad_config_values_raise_configerror_naming_the_key(changes):
    FUZZED["config"] += 1
    cfg = apply_overrides(VALID, [])
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        cfg.setdefault(section, {})[key] = value
    try:
        resolve(cfg, "fuzz.yaml")
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml"), message
        assert any(dotted in message or dotted.split(".")[0] in message for dotted in changes), message


@CONFIG_FUZZ
@given(text=st.text(max_size=200))
def test_any_yaml_text_gives_a_configerror_or_a_config(tmp_path_factory, text):
    from experiments import train
    from minidl.runs.cli import load_config
    path = tmp_path_factory.mktemp("cfg") / "student.yaml"
    path.write_text(text, encoding="utf-8")
    FUZZED["config"] += 1
    try:
        load_config(train, path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)), str(exc)


# ---- API ------------------------------------------------------------------------------------

SHAPES = st.lists(st.integers(0, 6), min_size=0, max_size=4).map(tuple)
DTYPES = st.sampled_from([np.int64, np.int32, np.uint8, np.bool_, np.float32, np.float64, np.complex64])


@API_FUZZ
@given(shape=SHAPES, dtype=DTYPES)
def test_layer_inputs_of_wrong_shape_rank_or_dtype(shape, dtype):
    FUZZED["api"] += 1
    x = np.zeros(shape, dtype=dtype)
    layer = Linear(5, 3, rng=0)
    ok = len(shape) == 2 and shape[1] == 5 and np.dtype(dtype).kind == "f"
    if ok:
        assert layer.forward(x).shape == (shape[0], 3)
        return
    with pytest.raises(ValueError) as err:
        Sequential(layer, Sigmoid()).forward(x)
    assert "Linear(5 -> 3)" in str(err.value), str(err.value)
    if np.dtype(dtype).kind != "f":
        with pytest.raises(ValueError, match="floating-point input"):
            ReLU().forward(x)


@API_FUZZ
@given(n=st.integers(0, 6), labels=st.one_of(
    st.lists(st.integers(-3, 12), min_size=0, max_size=8).map(lambda v: np.array(v, dtype=np.int64)),
    st.lists(st.one_of(st.floats(-2, 12), st.just(float("nan"))), min_size=0, max_size=8).map(np.array),
    st.lists(st.integers(0, 9), min_size=1, max_size=4).map(lambda v: np.array(v).reshape(-1, 1))))
def test_label_arrays_of_wrong_length_value_or_type(n, labels):
    FUZZED["api"] += 1
    logits = np.zeros((n, 10))
    valid = (labels.ndim == 1 and len(labels) == n > 0 and labels.dtype.kind == "i"
             and labels.min() >= 0 and labels.max() < 10)
    for loss in (SoftmaxCrossEntropy(), NLLLoss()):
        if valid:
            assert np.isfinite(loss.forward(logits, labels))
            continue
        with pytest.raises(ValueError) as err:
            loss.forward(logits, labels)
        message = str(err.value)
        assert re.search(r"index \d+|shape|dtype|empty batch", message), message


@API_FUZZ
@given(a=SHAPES, b=SHAPES)
def test_mse_shape_mismatch(a, b):
    FUZZED["api"] += 1
    if a == b and np.prod(a) > 0:
        assert MSELoss().forward(np.zeros(a), np.zeros(b)) == 0.0
        return
    with pytest.raises(ValueError, match="does not match target shape|empty arrays"):
        MSELoss().forward(np.zeros(a), np.zeros(b))

"""Tests for minidl.data: CSV/IDX loading, the CSV cache, downloads, splits and batches.

Every unit test writes its own tiny files under tmp_path.  The one
integration test reads the real MNIST files from $MINIDL_DATA or the
course's shared copy (../shared/data/mnist next to the repository), found
by the ``real_mnist_dir`` fixture in conftest.py.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import importlib.util
import os
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minidl.data import (ChecksumError, DataError, DownloadError, copy_mnist, default_data_dir,
                         ensure_mnist, format_csv, iterate_minibatches, load_csv, load_idx,
                         load_mnist, parse_csv_bytes, subset, train_val_split)
from minidl.data import csv_cache, csvfile, download

REPO = Path(__file__).resolve().parents[1]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ helpers

def make_table(n: int, seed: int = 0) -> np.ndarray:
    """(n, 785) uint8: labels 0..9 in column 0, pixels 0..255 after it (incl. both ends)."""
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 256, size=(n, 785), dtype=np.uint8)
    table[:, 0] = rng.integers(0, 10, size=n)
    table[0, 1:3] = [0, 255]
    return table


def naive_csv(table: np.ndarray, newline: str = "\n") -> bytes:
    """The course format written the obvious way (the reference for format_csv)."""
    return "".join(",".join(map(str, row)) + newline for row in table.tolist()).encode()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def row(label, pixels=None) -> str:
    """One CSV line (no newline): label then 784 pixels (default all 0)."""
    pixels = ["0"] * 784 if pixels is None else pixels
    return ",".join([str(label), *map(str, pixels)])


def good_lines(n: int = 3) -> list[str]:
    return [row(i % 10, [(i + j) % 256 for j in range(784)]) for i in range(n)]


def idx_bytes(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims) + payload


def write_fake_mnist(folder: Path, n_train: int = 3, n_test: int = 2) -> dict[str, str]:
    """Write tiny valid MNIST .gz files; return their md5 table (to patch MNIST_MD5 with)."""
    folder.mkdir(parents=True, exist_ok=True)
    md5 = {}
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        table = make_table(n, seed)
        files = {f"{prefix}-images-idx3-ubyte.gz": idx_bytes(2051, (n, 28, 28), table[:, 1:].tobytes()),
                 f"{prefix}-labels-idx1-ubyte.gz": idx_bytes(2049, (n,), table[:, 0].tobytes())}
        for name, raw in files.items():
            data = gzip.compress(raw, mtime=0)
            (folder / name).write_bytes(data)
            md5[name] = hashlib.md5(data).hexdigest()
    return md5


def assert_names(err: pytest.ExceptionInfo, path: Path, line: int | None = None) -> None:
    message = str(err.value)
    assert isinstance(err.value, ValueError)
    assert str(path) in message, message
    if line is not None:
        assert f"line {line}:" in message, message


# ------------------------------------------------------------- CSV parsing

def test_load_csv_parses_scales_and_types(tmp_path):
    table = make_table(5)
    X, y = load_csv(write(tmp_path / "d.csv", naive_csv(table)), cache=False)
    assert X.shape == (5, 784) and X.dtype == np.float32
    assert y.shape == (5,) and y.dtype == np.int64
    np.testing.assert_array_equal(y, table[:, 0])
    np.testing.assert_array_equal(X, table[:, 1:].astype(np.float32) / np.float32(255))
    assert X.min() == 0.0 and X.max() == 1.0


@pytest.mark.parametrize("variant", ["crlf", "bom", "bom+crlf", "no final newline", "blank lines at end"])
def test_csv_accepts_common_variants(tmp_path, variant):
    table = make_table(4)
    data = naive_csv(table, "\r\n" if "crlf" in variant else "\n")
    if "bom" in variant:
        data = b"\xef\xbb\xbf" + data
    if variant == "no final newline":
        data = data.rstrip(b"\n")
    if variant == "blank lines at end":
        data += b"\n\n\n"
    X, y = load_csv(write(tmp_path / "d.csv", data), cache=False)
    np.testing.assert_array_equal(y, table[:, 0])
    np.testing.assert_array_equal(np.rint(X * 255).astype(np.uint8), table[:, 1:])


def test_leading_zeros_are_integers_too(tmp_path):
    lines = good_lines(2)
    lines[1] = row("07", ["0255"] + ["000"] * 783)
    X, y = load_csv(write(tmp_path / "d.csv", ("\n".join(lines) + "\n").encode()), cache=False)
    assert y.tolist() == [0, 7] and X[1, 0] == 1.0 and X[1, 1] == 0.0


def _bad(lines_before: int, bad_line: str, after: int = 1) -> bytes:
    lines = good_lines(lines_before) + [bad_line] + good_lines(after)
    return ("\n".join(lines) + "\n").encode()


MALFORMED = {  # name: (file bytes, 1-based line, words the message must contain)
    "empty file": (b"", 1, "empty"),
    "only newlines": (b"\n\n\n", 1, "empty"),
    "only a BOM": (b"\xef\xbb\xbf", 1, "empty"),
    "header row": (("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n").encode()
                   + _bad(0, row(1)), 1, "header"),
    "too few fields": (_bad(1, row(3, ["0"] * 783)), 2, "got 784"),
    "too many fields": (_bad(2, row(3, ["0"] * 785)), 3, "got 786"),
    "single field": (_bad(1, "5"), 2, "got 1"),
    "float pixel": (_bad(1, row(3, ["1.5"] + ["0"] * 783)), 2, "not an integer"),
    "word on line 2": (_bad(1, row("abc")), 2, "not an integer"),
    "negative pixel": (_bad(1, row(3, ["0"] * 783 + ["-1"])), 2, "[0, 255]"),
    "pixel 256": (_bad(1, row(3, ["256"] + ["0"] * 783)), 2, "got 256"),
    "pixel 4 digits": (_bad(1, row(3, ["1000"] + ["0"] * 783)), 2, "got 1000"),
    "label 10": (_bad(3, row(10)), 4, "label"),
    "negative label": (_bad(1, row(-1)), 2, "label"),
    "blank middle line": (_bad(1, ""), 2, "empty line"),
    "whitespace line": (_bad(1, "   "), 2, "empty line"),
    "empty field": (_bad(1, row(3, ["0"] * 392 + [""] + ["0"] * 391)), 2, "not an integer"),
    "space in field": (_bad(1, row(3, [" 5"] + ["0"] * 783)), 2, "not an integer"),
    "non-utf8 byte": (_bad(1, row(3)).replace(b"3,0,", b"3,\xff,", 1), 2, "not an integer"),
    "lone CR": (_bad(1, row(3) + "\r" + row(4)), 2, "carriage return"),
    "huge integer": (_bad(1, row(3, ["9" * 30] + ["0"] * 783)), 2, "[0, 255]"),
    "5000-digit integer": (_bad(1, row(3, ["7" * 5000] + ["0"] * 783)), 2, "[0, 255]"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_csv_names_file_and_line(tmp_path, name):
    data, line, words = MALFORMED[name]
    path = write(tmp_path / "bad.csv", data)
    with pytest.raises(DataError) as err:
        load_csv(path, cache=False)
    assert_names(err, path, line)
    assert words in str(err.value)
    assert not csv_cache.cache_path_for(path).exists()


def test_error_line_is_exact_across_fast_path_blocks(tmp_path):
    # ~3 kB per row, so 500 rows span many fast-path blocks; the bad row is in a late one.
    lines = [row(1, ["255"] * 784)] * 500
    lines[449] = row(1, ["255"] * 783 + ["256"])
    path = write(tmp_path / "big.csv", ("\n".join(lines) + "\n").encode())
    with pytest.raises(DataError) as err:
        load_csv(path, cache=False)
    assert_names(err, path, 450)


def test_fast_and_slow_paths_agree(tmp_path):
    data = naive_csv(make_table(400, seed=3))       # ~1 MB: many blocks
    slow = csvfile._parse_block_slow(data, 1, "x.csv")
    np.testing.assert_array_equal(csvfile._parse_block_fast(data), slow)
    pixels, labels = parse_csv_bytes(data)
    np.testing.assert_array_equal(pixels, slow[:, 1:])
    np.testing.assert_array_equal(labels, slow[:, 0])


@FUZZ
@given(pos=st.integers(0, 2 * 1600), junk=st.binary(min_size=0, max_size=4), drop=st.integers(0, 3))
def test_corrupted_csv_only_ever_raises_dataerror_with_line(pos, junk, drop):
    data = naive_csv(make_table(2, seed=5))
    data = data[:pos] + junk + data[pos + drop:]
    try:
        pixels, labels = parse_csv_bytes(data, name="fuzz.csv")
    except DataError as err:
        assert "fuzz.csv, line " in str(err)
    else:
        assert pixels.dtype == labels.dtype == np.uint8
        assert pixels.shape == (len(labels), 784) and labels.max() <= 9


@FUZZ
@given(n=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_format_csv_matches_naive_formatting_and_parses_back(n, seed):
    table = make_table(n, seed)
    data = format_csv(table[:, 1:], table[:, 0])
    assert data == naive_csv(table)
    pixels, labels = parse_csv_bytes(data)
    np.testing.assert_array_equal(pixels, table[:, 1:])
    np.testing.assert_array_equal(labels, table[:, 0])


def test_format_csv_rejects_bad_values():
    table = make_table(2)
    with pytest.raises(ValueError, match="labels"):
        format_csv(table[:, 1:], np.array([3, 10]))
    with pytest.raises(ValueError, match="pixels"):
        format_csv(table[:, 1:].astype(np.float32) / 255, table[:, 0])


# ---------------------------------------------------------------- CSV cache

@pytest.fixture
def csv_file(tmp_path):
    return write(tmp_path / "train.csv", naive_csv(make_table(6)))


def test_cache_is_created_then_reused(csv_file, monkeypatch):
    X1, y1 = load_csv(csv_file)
    cache = csv_cache.cache_path_for(csv_file)
    assert cache.exists()
    before = cache.stat().st_mtime_ns

    def no_parsing(*args, **kwargs):
        raise AssertionError("the CSV was parsed again instead of read from the cache")

    monkeypatch.setattr(csvfile, "parse_csv_bytes", no_parsing)
    X2, y2 = load_csv(csv_file)
    assert cache.stat().st_mtime_ns == before
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X2.dtype == np.float32 and y2.dtype == np.int64


def test_cache_off_writes_nothing(csv_file):
    load_csv(csv_file, cache=False)
    assert not csv_cache.cache_path_for(csv_file).exists()


def _age(path: Path, seconds: float) -> None:
    """Set the file's mtime ``seconds`` into the past."""
    past = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(past, past))


def test_reload_of_an_old_csv_does_not_reread_it(csv_file, monkeypatch):
    _age(csv_file, 60)                              # older than the cache: not "racy"
    load_csv(csv_file)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self}"))
    _, y = load_csv(csv_file)
    assert len(y) == 6


@pytest.mark.parametrize("same_size", [False, True])
def test_cache_is_invalidated_when_the_source_changes(csv_file, same_size):
    _age(csv_file, 60)
    load_csv(csv_file)
    old = csv_file.read_bytes()
    if same_size:                                    # swap the first two rows
        first, second, rest = old.split(b"\n", 2)
        new = b"\n".join([second, first, rest])
    else:
        new = naive_csv(make_table(7, seed=9))
    write(csv_file, new)
    X, _ = load_csv(csv_file)
    pixels_new, pixels_old = parse_csv_bytes(new)[0], parse_csv_bytes(old)[0]
    np.testing.assert_array_equal(np.rint(X * 255), pixels_new)
    assert not np.array_equal(pixels_new, pixels_old)


def test_same_size_rewrite_within_one_timestamp_tick_is_caught(csv_file):
    # The racy case: same size, same mtime, and the cache is no newer than the CSV.
    load_csv(csv_file)
    st = csv_file.stat()
    data = bytearray(csv_file.read_bytes())
    data[0] = ord("9") if data[0] != ord("9") else ord("8")   # change the first label
    csv_file.write_bytes(bytes(data))
    os.utime(csv_file, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.utime(csv_cache.cache_path_for(csv_file), ns=(st.st_atime_ns, st.st_mtime_ns))
    _, y = load_csv(csv_file)
    assert y[0] == data[0] - ord("0")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_payload_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF                      # inside the pixels array: zip CRC catches it
    path.write_bytes(bytes(data))


def _garbage(path: Path) -> None:
    path.write_bytes(b"definitely not a zip file")


def _wrong_dtype(path: Path) -> None:
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["pixels"] = arrays["pixels"].astype(np.float32)
    np.savez(path, **arrays)


def _pickled_object(path: Path) -> None:
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["labels"] = np.array([object()] * len(arrays["labels"]), dtype=object)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _missing_array(path: Path) -> None:
    with np.load(path) as npz:
        arrays = {k: v for k, v in npz.items() if k != "sha1"}
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("damage", [_truncate, _flip_payload_byte, _garbage, _wrong_dtype,
                                    _pickled_object, _missing_array])
def test_bad_cache_is_rebuilt_not_trusted(csv_file, damage):
    X1, y1 = load_csv(csv_file)
    cache = csv_cache.cache_path_for(csv_file)
    damage(cache)
    X2, y2 = load_csv(csv_file)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert csv_cache.load(csv_file, csv_cache.source_key(csv_file)) is not None   # rewritten


def test_unwritable_cache_warns_and_still_loads(csv_file, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only directory")

    monkeypatch.setattr(csv_cache, "atomic_save_npz", refuse)
    with pytest.warns(UserWarning, match="could not write the CSV cache"):
        X, _ = load_csv(csv_file)
    assert X.shape == (6, 784)


# ---------------------------------------------------------------------- IDX

def write_idx_pair(tmp_path, n_images=3, n_labels=3, images_magic=2051, labels_magic=2049,
                   compress=True, cut_payload=0):
    table = make_table(max(n_images, n_labels))
    pixels = table[:n_images, 1:].tobytes()[: max(0, n_images * 784 - cut_payload)]
    raw_images = idx_bytes(images_magic, (n_images, 28, 28), pixels)
    raw_labels = idx_bytes(labels_magic, (n_labels,), table[:n_labels, 0].tobytes())
    pack = gzip.compress if compress else (lambda b: b)
    suffix = ".gz" if compress else ""
    images = write(tmp_path / f"images-idx3-ubyte{suffix}", pack(raw_images))
    labels = write(tmp_path / f"labels-idx1-ubyte{suffix}", pack(raw_labels))
    return images, labels, table


@pytest.mark.parametrize("compress", [True, False])
def test_load_idx_good_files(tmp_path, compress):
    images, labels, table = write_idx_pair(tmp_path, compress=compress)
    X, y = load_idx(images, labels)
    assert X.shape == (3, 784) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X, table[:, 1:].astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y, table[:, 0])


def test_idx_wrong_magic(tmp_path):
    images, labels, _ = write_idx_pair(tmp_path)
    with pytest.raises(DataError, match="magic number 2049") as err:
        load_idx(labels, images)                         # swapped
    assert_names(err, labels)


def test_idx_header_size_mismatch(tmp_path):
    images, labels, _ = write_idx_pair(tmp_path, cut_payload=1)
    with pytest.raises(DataError, match="header says shape") as err:
        load_idx(images, labels)
    assert_names(err, images)


@pytest.mark.parametrize("raw, words", [(b"\x00\x00\x08", "only 3 bytes"),
                                        (idx_bytes(2051, (3, 28), b""), "too short")])
def test_idx_too_short_for_header(tmp_path, raw, words):
    images = write(tmp_path / "i.gz", gzip.compress(raw))
    labels = write(tmp_path / "l.gz", gzip.compress(idx_bytes(2049, (0,), b"")))
    with pytest.raises(DataError, match=words) as err:
        load_idx(images, labels)
    assert_names(err, images)


def test_idx_truncated_gzip(tmp_path):
    images, labels, _ = write_idx_pair(tmp_path)
    images.write_bytes(images.read_bytes()[:-12])
    with pytest.raises(DataError, match="truncated or corrupt gzip") as err:
        load_idx(images, labels)
    assert_names(err, images)


def test_idx_corrupt_gzip_crc(tmp_path):
    images, labels, _ = write_idx_pair(tmp_path)
    data = bytearray(images.read_bytes())
    data[-8] ^= 0xFF                                      # the stored CRC32
    images.write_bytes(bytes(data))
    with pytest.raises(DataError, match="gzip") as err:
        load_idx(images, labels)
    assert_names(err, images)


def test_idx_image_and_label_counts_must_match(tmp_path):
    images, labels, _ = write_idx_pair(tmp_path, n_images=3, n_labels=2)
    with pytest.raises(DataError, match="3 images but") as err:
        load_idx(images, labels)
    assert_names(err, images)
    assert str(labels) in str(err.value)


def test_idx_labels_must_be_digits(tmp_path):
    images, _, _ = write_idx_pair(tmp_path)
    labels = write(tmp_path / "l.gz", gzip.compress(idx_bytes(2049, (3,), bytes([1, 12, 3]))))
    with pytest.raises(DataError, match="got 12 at index 1") as err:
        load_idx(images, labels)
    assert_names(err, labels)


# ------------------------------------------------- data dir, copy, download

def test_the_data_home_is_minidl_data_else_the_users_data_folder(monkeypatch, tmp_path):
    from minidl.data import data_home
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert data_home() == tmp_path / "xdg" / "minidl" == default_data_dir()
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home" / ".local" / "share" / "minidl"
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path / "mine"))
    assert data_home() == default_data_dir() == tmp_path / "mine"


def test_a_local_data_folder_with_the_files_is_used(monkeypatch, tmp_path, fake_mnist):
    import shutil
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert default_data_dir() == tmp_path / "xdg" / "minidl", "an empty ./data is not the data"
    for f in fake_mnist.iterdir():
        shutil.copy(f, tmp_path / "data" / f.name)
    assert default_data_dir() == Path("data")


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A folder of tiny fake MNIST .gz files, with MNIST_MD5 patched to match them."""
    source = tmp_path / "source"
    monkeypatch.setattr(download, "MNIST_MD5", write_fake_mnist(source))
    return source


@pytest.fixture
def offline(monkeypatch):
    """Every mirror refuses connections at once (port 9 on localhost), no backoff."""
    monkeypatch.setattr(download, "MIRRORS", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.0)


def test_md5_mismatch_names_file_and_both_hashes(fake_mnist, tmp_path, monkeypatch):
    name = "t10k-labels-idx1-ubyte.gz"
    expected = "0" * 32
    monkeypatch.setitem(download.MNIST_MD5, name, expected)
    actual = hashlib.md5((fake_mnist / name).read_bytes()).hexdigest()
    with pytest.raises(ChecksumError) as err:
        copy_mnist(fake_mnist, tmp_path / "dest", verbose=False)
    message = str(err.value)
    assert name in message and expected in message and actual in message
    assert not (tmp_path / "dest" / name).exists()


def test_ensure_mnist_offline_says_how_to_use_source(tmp_path, offline, monkeypatch):
    monkeypatch.setattr(download, "MNIST_MD5", {"a.gz": "0" * 32})
    waits = []
    monkeypatch.setattr(download.time, "sleep", waits.append)      # the backoff, counted instead of slept
    with pytest.raises(DownloadError) as err:
        ensure_mnist(tmp_path / "data")
    assert sum(waits) <= 5, "offline, the retries must not keep a student waiting"
    message = str(err.value)
    for mirror in download.MIRRORS:
        assert message.count(mirror) == 1, f"each failed mirror is named once; {mirror}: {message}"
    assert "data_download.py --source" in message and "--dest" in message
    assert str(tmp_path / "data") in message and "a.gz" in message
    assert not (tmp_path / "data" / "a.gz").exists()


def test_ensure_mnist_with_files_present_needs_no_network(fake_mnist, offline):
    assert ensure_mnist(fake_mnist) == fake_mnist
    X, y = load_mnist("test", fake_mnist)
    assert X.shape == (2, 784) and y.shape == (2,)


def test_load_mnist_rejects_unknown_split(fake_mnist):
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist("validation", fake_mnist)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_mirror(tmp_path):
    """Serve tmp_path/'www' over HTTP on localhost; yields (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root
    server.shutdown()
    server.server_close()


def test_download_tries_mirrors_in_turn_and_checks_md5(fake_mnist, http_mirror, tmp_path,
                                                        monkeypatch, capsys):
    url, www = http_mirror
    good, bad = www / "good", www / "bad"
    good.mkdir()
    bad.mkdir()
    for name in download.MNIST_MD5:
        (good / name).write_bytes((fake_mnist / name).read_bytes())
        (bad / name).write_bytes(b"corrupted " + (fake_mnist / name).read_bytes())
    monkeypatch.setattr(download, "MIRRORS", ["http://127.0.0.1:9/", url + "bad/", url + "good/"])
    dest = tmp_path / "dest"
    download.download_mnist(dest, names=["train-labels-idx1-ubyte.gz"])
    assert (dest / "train-labels-idx1-ubyte.gz").read_bytes() == \
        (fake_mnist / "train-labels-idx1-ubyte.gz").read_bytes()
    assert [p.name for p in dest.iterdir()] == ["train-labels-idx1-ubyte.gz"]  # no temp files left
    stderr = capsys.readouterr().err
    assert "127.0.0.1:9" not in stderr, "a mirror that failed before a good one is not worth a line"
    assert f"downloading {url}good/train-labels-idx1-ubyte.gz" in stderr
    assert "\r" not in stderr                                # captured stderr is not a TTY: no bar


def _load_script():
    spec = importlib.util.spec_from_file_location("data_download", REPO / "data_download.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_download_script_source_copies_and_writes_course_csvs(fake_mnist, tmp_path):
    dest = tmp_path / "dest"
    assert _load_script().main(["--source", str(fake_mnist), "--dest", str(dest)]) == 0
    for name in download.MNIST_MD5:
        assert (dest / name).read_bytes() == (fake_mnist / name).read_bytes()
    for csv_name, prefix, n in (("mnist_train.csv", "train", 3), ("mnist_test.csv", "t10k", 2)):
        with gzip.open(fake_mnist / f"{prefix}-images-idx3-ubyte.gz") as f:
            pixels = np.frombuffer(f.read(), np.uint8, offset=16).reshape(n, 784)
        with gzip.open(fake_mnist / f"{prefix}-labels-idx1-ubyte.gz") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)
        expected = naive_csv(np.concatenate([labels[:, None], pixels], axis=1))
        assert (dest / csv_name).read_bytes() == expected      # no header, '\n' endings


def test_download_script_no_csv_and_bad_md5(fake_mnist, tmp_path, monkeypatch, capsys):
    script = _load_script()
    dest = tmp_path / "dest"
    assert script.main(["--source", str(fake_mnist), "--dest", str(dest), "--no-csv"]) == 0
    assert not list(dest.glob("*.csv"))
    monkeypatch.setitem(download.MNIST_MD5, "train-images-idx3-ubyte.gz", "f" * 32)
    assert script.main(["--source", str(fake_mnist), "--dest", str(tmp_path / "d2")]) == 1
    assert "f" * 32 in capsys.readouterr().err


# ------------------------------------------------------- splits and batches

def test_train_val_split_is_first_80_percent_as_views():
    X, y = np.zeros((60000, 2), np.float32), np.arange(60000)
    (X_tr, y_tr), (X_val, y_val) = train_val_split(X, y)
    assert len(X_tr) == len(y_tr) == 48000 and len(X_val) == len(y_val) == 12000
    assert y_tr[-1] == 47999 and y_val[0] == 48000
    assert np.shares_memory(X_tr, X) and np.shares_memory(y_val, y)
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(X, y, val_fraction=1.0)


def test_minibatches_unshuffled_are_views_in_order_with_partial_last():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    batches = list(iterate_minibatches(X, y, 3))
    assert [len(yb) for _, yb in batches] == [3, 3, 3, 1]
    assert np.concatenate([yb for _, yb in batches]).tolist() == list(range(10))
    assert all(np.shares_memory(xb, X) for xb, _ in batches)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), seed=st.integers(0, 2**32 - 1))
def test_shuffled_epoch_covers_every_example_once(n, batch_size, seed):
    X, y = np.arange(n)[:, None] * 10, np.arange(n)
    batches = list(iterate_minibatches(X, y, batch_size, np.random.default_rng(seed)))
    assert all(len(yb) == batch_size for _, yb in batches[:-1]) and 1 <= len(batches[-1][1]) <= batch_size
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(n))
    assert all((xb[:, 0] == yb * 10).all() for xb, yb in batches)   # pairs stay together


def test_shuffling_is_reproducible_and_changes_per_epoch():
    X, y = np.zeros((50, 1)), np.arange(50)

    def epoch(rng):
        return np.concatenate([yb for _, yb in iterate_minibatches(X, y, 8, rng)])

    a, b = np.random.default_rng(7), np.random.default_rng(7)
    first_a, first_b = epoch(a), epoch(b)
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.array_equal(first_a, epoch(a))            # next epoch, new order
    assert not np.array_equal(first_a, np.arange(50))


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_bad_batch_size_fails_at_call_time(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        iterate_minibatches(np.zeros((4, 1)), np.zeros(4), batch_size)


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match=r"\(5, 1\) and \(4,\)"):
        iterate_minibatches(np.zeros((5, 1)), np.zeros(4), 2)
    with pytest.raises(TypeError, match="Generator"):
        iterate_minibatches(np.zeros((4, 1)), np.zeros(4), 2, rng=np.random.RandomState(0))


def test_subset_first_n_and_random_n():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    X3, y3 = subset(X, y, 3)
    assert y3.tolist() == [0, 1, 2] and np.shares_memory(X3, X)
    Xr, yr = subset(X, y, 6, np.random.default_rng(1))
    assert len(set(yr.tolist())) == 6 and (Xr[:, 0] == 2 * yr).all()
    np.testing.assert_array_equal(yr, subset(X, y, 6, np.random.default_rng(1))[1])
    assert subset(X, y, 10)[1].tolist() == list(range(10))
    for n in (0, 11, 2.5):
        with pytest.raises(ValueError, match="n must be"):
            subset(X, y, n)


# ---------------------------------------------------------- real MNIST files

@pytest.mark.integration
def test_real_mnist_shapes_labels_and_csv_round_trip(real_mnist_dir):
    # real_mnist_dir (tests/conftest.py): $MINIDL_DATA or ../shared/data/mnist next to the
    # repository; skips when absent, but *fails* when the CI environment variable is set.
    folder = real_mnist_dir
    X, y = load_mnist("train", folder)
    assert X.shape == (60000, 784) and X.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= X.min() and X.max() == 1.0
    assert np.bincount(y, minlength=10).tolist() == TRAIN_COUNTS
    X_test, y_test = load_mnist("test", folder)
    assert X_test.shape == (10000, 784)
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS
    pixels = np.rint(X_test * 255).astype(np.uint8)
    pixels_back, labels_back = parse_csv_bytes(format_csv(pixels, y_test), name="test.csv")
    np.testing.assert_array_equal(pixels_back, pixels)
    np.testing.assert_array_equal(labels_back, y_test)

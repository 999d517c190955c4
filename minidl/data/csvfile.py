"""MNIST in the course CSV format: parse, load (with a binary cache) and write.

The format: one row per image, the label (0-9) then the 784 pixel
intensities (integers 0-255), comma-separated, no header, ``\\n`` line
endings::

    5,0,0,0,...,0
    0,0,0,0,...,0

Reading also accepts ``\\r\\n`` line endings, a UTF-8 byte-order mark and
blank lines at the very end of the file.  Anything else that is off - a
header row, a blank line in the middle, a wrong number of fields, a token
that is not an integer, a pixel outside 0..255 or a label outside 0..9 -
raises :class:`~minidl.data.errors.DataError` (a ``ValueError``) whose
message names the file and the 1-based line number.  Header rows are
rejected, not skipped: guessing is how silent off-by-one-row bugs start.

How parsing stays fast *and* strict
-----------------------------------
The file is cut into blocks of whole lines (about 64 kB each).  Each block
first goes through a fast path that works on the raw bytes with numpy
(no Python loop over lines or pixels); it accepts only the plain form
(digits, commas, newlines; 1-3 digit tokens; 785 fields per line; values in
range).  A block that is not plain is handed to a slow per-line reference
parser, which either parses it (e.g. ``007`` is fine, just unusual) or
raises the error for the first bad line.  So the reported line is always
exact, and only the blocks that need it pay for Python.
"""
from __future__ import annotations

import codecs
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from minidl.data import csv_cache
from minidl.data.common import N_CLASSES, N_PIXELS, PIXEL_MAX, pixels_to_float
from minidl.data.errors import DataError
from minidl.util.fileio import atomic_write_bytes

N_FIELDS = 1 + N_PIXELS            # label, then the pixels
_BLOCK_BYTES = 1 << 16             # ~20 MNIST rows: small temporaries stay in cache and in
                                   # malloc's reused heap instead of fresh pages from the OS
_PLAIN_BYTES = b"0123456789,\n"    # the only bytes the fast path accepts
_PAD = b"\n\n\n"                   # lets the fast path look 3 bytes back from any separator
_NEWLINE_CODE = (ord("\n") - ord("0")) % 256   # '\n' after the fast path's "minus '0'"
_INTEGER = re.compile(rb"-?[0-9]+")


def load_csv(path: str | os.PathLike, cache: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load a course-format MNIST CSV file.

    Inputs:
    - path: the CSV file.
    - cache: keep a uint8 copy in ``<path>.cache.npz`` next to the CSV and
      reuse it while the CSV is unchanged (see :mod:`minidl.data.csv_cache`).

    Returns:
    - X: (N, 784) float32 array, pixels scaled to [0, 1].
    - y: (N,) int64 array of labels 0..9.

    Raises DataError (a ValueError) naming the file and line for a malformed
    row, and FileNotFoundError if the file does not exist.
    """
    pixels, labels = read_csv_uint8(path, cache=cache)
    return pixels_to_float(pixels), labels.astype(np.int64)


def read_csv_uint8(path: str | os.PathLike, cache: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`load_csv`, but return the raw (N, 784) uint8 pixels and (N,) uint8 labels."""
    path = Path(path)
    key = csv_cache.source_key(path)            # stat before reading: a later edit changes it
    if cache:
        hit = csv_cache.load(path, key)
        if hit is not None:
            return hit
    data = path.read_bytes()
    pixels, labels = parse_csv_bytes(data, name=str(path))
    if cache:
        csv_cache.save(path, key, data, pixels, labels)
    return pixels, labels


def parse_csv_bytes(data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Parse the bytes of a course-format CSV file.

    Inputs:
    - data: the whole file's bytes.
    - name: what to call the file in error messages (usually its path).

    Returns:
    - pixels: (N, 784) uint8 array, one image per row.
    - labels: (N,) uint8 array of digits 0..9.
    """
    data, start, stop = _normalise(data, name)
    n_rows = data.count(b"\n", start, stop)         # every row ends with '\n' now
    pixels = np.empty((n_rows, N_PIXELS), dtype=np.uint8)
    labels = np.empty(n_rows, dtype=np.uint8)
    row = 0
    for begin, end, first_line in _line_blocks(data, start, stop):
        block = data[begin:end]
        table = _parse_block_fast(block)
        if table is None:
            table = _parse_block_slow(block, first_line, name)
        labels[row:row + len(table)] = table[:, 0]
        pixels[row:row + len(table)] = table[:, 1:]
        row += len(table)
    return pixels, labels


def _normalise(data: bytes, name: str) -> tuple[bytes, int, int]:
    """Find the rows in ``data``: skip a BOM, turn CRLF into LF, ignore blank lines at EOF.

    Returns (data, start, stop) such that ``data[start:stop]`` is the rows,
    each ending with a newline.  Copies ``data`` only for CRLF files or a missing
    final newline.
    """
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    stop = len(data)
    while stop > start and data[stop - 1] == ord("\n"):
        stop -= 1
    if stop == start:
        raise DataError(f"{name}, line 1: the file is empty (expected rows of label + {N_PIXELS} pixels)")
    if stop == len(data):
        data += b"\n"
    return data, start, stop + 1


def _line_blocks(data: bytes, start: int, stop: int):
    """Yield (begin, end, first_line_number) for blocks of whole lines of ``data[start:stop]``."""
    line = 1
    while start < stop:
        end = data.rfind(b"\n", start, min(start + _BLOCK_BYTES, stop)) + 1
        if end <= start:                        # a single line longer than a block
            end = data.index(b"\n", start) + 1
        yield start, end, line
        line += data.count(b"\n", start, end)
        start = end


def _parse_block_fast(block: bytes) -> np.ndarray | None:
    """Parse a block of plain rows into a (n, 785) uint8 table; None if it is not plain.

    Subtracting ord('0') from every byte maps digits to 0..9 and wraps the
    separators ',' and '\\n' round to 252 and 218.  Every token ends at a
    separator at byte p, and a plain token has 1 to 3 digits, so its value
    is c[p-1] + 10 c[p-2] + 100 c[p-3], counting only the bytes that are
    digits of *this* token.  Shifted views make "the byte k before each
    separator" one gather with one index array: no Python loop.
    """
    if block.translate(None, _PLAIN_BYTES):     # some byte other than digits , \n
        return None
    code = np.frombuffer(_PAD + block, dtype=np.uint8) - np.uint8(ord("0"))
    sep = np.flatnonzero(code[3:] >= 10)         # separator i is at code[sep[i] + 3]
    c1, c2, c3 = code[2:][sep], code[1:][sep], code[sep]   # 1, 2, 3 bytes before it
    has1, has2 = c1 < 10, c2 < 10                # token has >= 1, >= 2 digits
    has3 = (c3 < 10) & has2                      # >= 3 digits (c3 must not be the previous token)
    if not has1.all():
        return None                              # an empty field or an empty line
    n_digits = len(block) - len(sep)
    if len(sep) + np.count_nonzero(has2) + np.count_nonzero(has3) != n_digits:
        return None                              # some token has more than 3 digits
    if len(sep) % N_FIELDS:
        return None
    ends_line = (code[3:][sep] == _NEWLINE_CODE).reshape(-1, N_FIELDS)
    if not ends_line[:, -1].all() or ends_line[:, :-1].any():
        return None                              # some line has the wrong number of fields
    values = c1 + np.uint16(10) * (c2 * has2) + np.uint16(100) * (c3 * has3)
    table = values.reshape(-1, N_FIELDS)
    if table.max() > PIXEL_MAX or table[:, 0].max() >= N_CLASSES:
        return None
    return table.astype(np.uint8)


def _parse_block_slow(block: bytes, first_line: int, name: str) -> np.ndarray:
    """Parse a block line by line (the reference rules); raise on the first bad line.

    Returns:
    - table: (n_lines, 785) uint8 array.
    """
    lines = block.split(b"\n")[:-1]              # the block ends with '\n'
    table = np.empty((len(lines), N_FIELDS), dtype=np.uint8)
    for i, line in enumerate(lines):
        table[i] = _parse_line(line, first_line + i, name)
    return table


def _parse_line(line: bytes, lineno: int, name: str) -> list[int]:
    """Parse one row into [label, pixel_0, ..., pixel_783] or raise DataError."""
    where = f"{name}, line {lineno}"
    if not line.strip():
        raise DataError(f"{where}: empty line (blank lines are only allowed at the end of the file)")
    if b"\r" in line:
        raise DataError(f"{where}: stray carriage return ('\\r') inside the line; "
                        "only '\\n' or '\\r\\n' line endings are supported")
    fields = line.split(b",")
    if lineno == 1 and re.search(rb"[A-Za-z]", line):
        raise DataError(f"{where}: looks like a header row ({_show(line, 40)}); "
                        "the course format has no header, delete that line")
    if len(fields) != N_FIELDS:
        raise DataError(f"{where}: expected {N_FIELDS} comma-separated fields "
                        f"(label + {N_PIXELS} pixels), got {len(fields)}")
    return [_parse_field(tok, col, where) for col, tok in enumerate(fields)]


def _parse_field(token: bytes, col: int, where: str) -> int:
    """Parse field ``col`` (0 = label) of a row, checking its range."""
    what, high = ("label", N_CLASSES - 1) if col == 0 else (f"pixel {col - 1}", PIXEL_MAX)
    if not _INTEGER.fullmatch(token):
        raise DataError(f"{where}: field {col + 1} ({what}) is not an integer: {_show(token, 20)}")
    # More than 3 significant digits is out of range anyway; checking first also
    # keeps int() away from absurdly long tokens (it refuses > 4300 digits).
    short = len(token.lstrip(b"-").lstrip(b"0")) <= 3
    if not short or not 0 <= int(token) <= high:
        shown = token.decode("ascii") if len(token) <= 20 else token[:20].decode("ascii") + "..."
        raise DataError(f"{where}: field {col + 1} ({what}) must be in [0, {high}]; got {shown}")
    return int(token)


def _show(raw: bytes, limit: int) -> str:
    """A short printable repr of some bytes from the file."""
    text = raw.decode("utf-8", errors="replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


# ---------------------------------------------------------------- writing

def write_csv(path: str | os.PathLike, pixels: np.ndarray, labels: np.ndarray) -> None:
    """Write images in the course CSV format, atomically.

    Inputs:
    - path: the file to (over)write.
    - pixels: (N, 784) or (N, 28, 28) integer array with values 0..255.
    - labels: (N,) integer array with values 0..9.
    """
    atomic_write_bytes(path, format_csv(pixels, labels))


def format_csv(pixels: np.ndarray, labels: np.ndarray, rows_per_chunk: int = 4096) -> bytes:
    """Format images as course-format CSV bytes (vectorised; no per-pixel Python).

    Inputs:
    - pixels: (N, 784) or (N, 28, 28) integer array with values 0..255.
    - labels: (N,) integer array with values 0..9.

    Returns:
    - the CSV bytes: N lines ``label,p0,...,p783\\n``.
    """
    pixels = np.asarray(pixels).reshape(len(pixels), -1)
    labels = np.asarray(labels)
    if pixels.shape[1] != N_PIXELS or labels.shape != (len(pixels),):
        raise ValueError(f"format_csv expects pixels (N, {N_PIXELS}) and labels (N,); "
                         f"got {pixels.shape} and {labels.shape}")
    _check_range(pixels, PIXEL_MAX, "pixels")
    _check_range(labels, N_CLASSES - 1, "labels")
    table = np.concatenate([labels[:, None], pixels], axis=1).astype(np.uint8)
    return b"".join(_format_rows(table[i:i + rows_per_chunk])
                    for i in range(0, len(table), rows_per_chunk))


def _check_range(a: np.ndarray, high: int, what: str) -> None:
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{what} must be integers 0..{high}; got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() > high):
        raise ValueError(f"{what} must be in [0, {high}]; got range [{a.min()}, {a.max()}]")


def _format_rows(table: np.ndarray) -> bytes:
    """(n, 785) uint8 -> CSV bytes, via a 256-entry table of 'v,' strings."""
    codes, lengths = _token_table()
    chars = codes[table].view(np.uint8).reshape(*table.shape, 4)   # (n, 785, 4) ASCII, 0-padded
    n_chars = lengths[table]                                        # (n, 785)
    chars[np.arange(len(table)), -1, n_chars[:, -1] - 1] = ord("\n")  # last ',' of a row -> '\n'
    keep = np.arange(4) < n_chars[..., None]
    return chars[keep].tobytes()


@lru_cache(maxsize=None)
def _token_table() -> tuple[np.ndarray, np.ndarray]:
    """codes[v]: the bytes of f'{v},' packed in a uint32 (zero-padded); lengths[v]: their count."""
    chars = np.zeros((256, 4), dtype=np.uint8)
    lengths = np.zeros(256, dtype=np.int64)
    for v in range(256):
        token = f"{v},".encode("ascii")
        chars[v, :len(token)] = list(token)
        lengths[v] = len(token)
    return chars.view(np.uint32).ravel(), lengths

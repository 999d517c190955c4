r"""Getting the four MNIST files: where they live, download, copy, md5 check.

Where they live, as scikit-learn and torchvision keep their data sets: once
per user, in the *data home* (:func:`data_home`): ``$MINIDL_DATA`` if set,
else the user's data folder (``$XDG_DATA_HOME/minidl``, by default
``~/.local/share/minidl``; ``%LOCALAPPDATA%\minidl`` on Windows).  So a run
started from any folder finds what ``data_download.py`` fetched once.  A
``data/`` folder in the current directory that already holds the files is
used too, for course layouts (:func:`default_data_dir`).

:func:`ensure_mnist` makes sure the four ``.gz`` files are there, downloading
what is missing into the data home; without internet it raises
:class:`DownloadError` whose message is the exact
``python data_download.py --source ...`` command to run instead.

Every file is checked against its published md5 before it is written, and
written with :func:`minidl.util.fileio.atomic_write_bytes`, so a half-finished
download never sits under the final name.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import sys
import time
from pathlib import Path

from minidl.data.errors import ChecksumError, DataError, DownloadError
from minidl.util.progress import progress_bar
from minidl.util.fileio import atomic_write_bytes

# The published md5 of each file (https://yann.lecun.com/exdb/mnist/ mirrors).
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Tried in this order, each file name appended to the base URL.
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
TIMEOUT_S = 5.0          # per connection attempt / socket read: no internet fails fast
RETRIES = 2              # rounds over all mirrors
RETRY_BACKOFF_S = 1.0    # pause before round k is k * this
_CHUNK = 1 << 16


def data_home() -> Path:
    """``$MINIDL_DATA`` if set and non-empty, else this user's data folder for minidl."""
    if os.environ.get("MINIDL_DATA"):
        return Path(os.environ["MINIDL_DATA"])
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "minidl"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "minidl"


def default_data_dir() -> Path:
    """Where MNIST is read from when a config names no folder: ``$MINIDL_DATA`` if set;
    else ``data/`` in the current directory if it holds the four files; else the data home."""
    if not os.environ.get("MINIDL_DATA"):
        local = Path("data")
        if all(find_mnist_file(local, name) is not None for name in MNIST_MD5):
            return local
    return data_home()


def md5_hex(data: bytes) -> str:
    """The md5 of ``data`` as 32 hex digits."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()   # integrity, not security


def check_md5(name: str, data: bytes, where: str | os.PathLike) -> None:
    """Raise ChecksumError unless ``data`` has the published md5 of MNIST file ``name``.

    ``where`` (a URL or path) is named in the message together with both hashes.
    """
    expected, got = MNIST_MD5[name], md5_hex(data)
    if got != expected:
        raise ChecksumError(f"{where}: md5 mismatch for {name}: expected {expected}, "
                            f"got {got} ({len(data)} bytes); the file is corrupt or not MNIST")


def ensure_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Make sure the four MNIST files are in ``data_dir``; return the directory.

    Inputs:
    - data_dir: defaults to :func:`default_data_dir` (where a download goes is then the data home).
    - download: fetch missing files from MIRRORS (else fail straight away).

    A file counts as present if ``<name>.gz`` or the uncompressed ``<name>``
    exists (not re-hashed here: the gzip CRC and the IDX checks catch damage
    when loading).  Raises DownloadError, with the ``--source`` command to
    run, if a file is missing and cannot be downloaded.
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    missing = [name for name in MNIST_MD5 if find_mnist_file(data_dir, name) is None]
    if not missing:
        return data_dir
    reason = "downloading is switched off"
    if download:
        try:
            download_mnist(data_dir, names=missing)
            return data_dir
        except DownloadError as err:
            reason = str(err)
    raise DownloadError(f"MNIST files missing from {data_dir}: {', '.join(missing)}\n"
                        f"They could not be downloaded: {reason}\n"
                        f"Copy them from a local directory instead:\n"
                        f"    {source_command(data_dir)}\n"
                        f"(or set MINIDL_DATA to a directory that holds them)")


def find_mnist_file(data_dir: Path, name: str) -> Path | None:
    """``data_dir/name`` (a .gz name), or its uncompressed twin, or None if neither exists."""
    for candidate in (data_dir / name, data_dir / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def download_mnist(dest: str | os.PathLike, names: list[str] | None = None, *,
                   mirrors: list[str] | None = None, retries: int | None = None,
                   timeout: float | None = None, verbose: bool = True) -> list[Path]:
    """Download MNIST files into ``dest`` (skipping those already there with the right md5).

    Inputs:
    - names: which files (default: all four).
    - mirrors, retries, timeout: default to the module's MIRRORS, RETRIES, TIMEOUT_S.

    Returns the paths written or kept.  Raises DownloadError at the first
    file that no mirror could deliver intact.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names if names is not None else list(MNIST_MD5):
        target = dest / name
        if target.is_file():
            if md5_hex(target.read_bytes()) == MNIST_MD5[name]:
                _say(verbose, f"{target}: already present, md5 ok")
                paths.append(target)
                continue
            _say(verbose, f"{target}: wrong md5, downloading it again")
        data = fetch(name, mirrors=mirrors, retries=retries, timeout=timeout, verbose=verbose)
        atomic_write_bytes(target, data)
        _say(verbose, f"{target}: downloaded, md5 ok")
        paths.append(target)
    return paths


def fetch(name: str, *, mirrors: list[str] | None = None, retries: int | None = None,
          timeout: float | None = None, verbose: bool = True) -> bytes:
    """Return the bytes of MNIST file ``name`` from the first mirror that serves it intact."""
    import http.client  # lazily, like urllib in _get

    mirrors = MIRRORS if mirrors is None else mirrors
    retries = RETRIES if retries is None else retries
    failures: dict[str, Exception] = {}
    for attempt in range(retries):
        if attempt:
            time.sleep(RETRY_BACKOFF_S * attempt)
        for base in mirrors:
            url = base + name
            try:
                data = _get(url, TIMEOUT_S if timeout is None else timeout, verbose)
                check_md5(name, data, url)
                return data
            # URLError, HTTPError, timeouts and SSL errors are OSErrors; a connection
            # dropped mid-body is an HTTPException; a short or wrong body fails the md5.
            except (OSError, http.client.HTTPException, ChecksumError) as err:
                failures[url] = err                  # each mirror once, with its last error
    shown = "\n  ".join(f"{url}: {err}" for url, err in failures.items())
    raise DownloadError(f"could not download {name} after {retries} round(s) over "
                        f"{len(mirrors)} mirror(s):\n  {shown}")


def _get(url: str, timeout: float, verbose: bool) -> bytes:
    """GET ``url`` into memory, reporting progress on stderr."""
    import urllib.request  # here, not at the top: training never needs http/ssl when files exist

    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        size = f" ({total / 2**20:.1f} MB)" if total else ""
        bar = progress_bar(total, url, unit="B", leave=True, unit_scale=True, unit_divisor=1024) if verbose else None
        if verbose and bar is None:               # a log: one line, no redrawing
            _say(verbose, f"  downloading {url}{size}")
        chunks = []
        while chunk := response.read(_CHUNK):
            chunks.append(chunk)
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
    return b"".join(chunks)


def copy_mnist(source: str | os.PathLike, dest: str | os.PathLike,
               names: list[str] | None = None, verbose: bool = True) -> list[Path]:
    """Copy MNIST .gz files from a local directory, checking each md5 first.

    Returns the destination paths.  Raises DataError if ``source`` lacks a
    file, ChecksumError if one has the wrong md5 (nothing is written for it).
    """
    source, dest = Path(source), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names if names is not None else list(MNIST_MD5):
        src = source / name
        if not src.is_file():
            raise DataError(f"{src}: not found (expected the four MNIST .gz files in {source})")
        data = src.read_bytes()
        check_md5(name, data, src)
        target = dest / name
        if src.resolve() != target.resolve():
            atomic_write_bytes(target, data)
        _say(verbose, f"{target}: copied from {src}, md5 ok")
        paths.append(target)
    return paths


def source_command(data_dir: str | os.PathLike) -> str:
    """The shell command that copies MNIST into ``data_dir`` from a local copy."""
    script = _repo_root() / "data_download.py"
    if not script.is_file():                # e.g. minidl installed without the repository
        script = Path("data_download.py")
    local = _local_copy()
    source = _short(local) if local is not None else "/path/to/mnist-gz-files"
    return shlex.join(["python", _short(script), "--source", source, "--dest", str(data_dir)])


def _local_copy() -> Path | None:
    """A directory that already holds the four files (the course's shared copy), if any."""
    for base in (Path.cwd().parent, _repo_root().parent):
        candidate = base / "shared" / "data" / "mnist"
        if all((candidate / name).is_file() for name in MNIST_MD5):
            return candidate
    return None


def _repo_root() -> Path:
    """The checkout this file is in (minidl/data/download.py -> the repository root)."""
    return Path(__file__).resolve().parents[2]


def _short(path: Path) -> str:
    """``path`` relative to the cwd when that is shorter, else absolute."""
    absolute = str(path.resolve())
    try:
        relative = os.path.relpath(absolute)
    except ValueError:                      # another drive on Windows
        return absolute
    return relative if len(relative) < len(absolute) else absolute


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message, file=sys.stderr, flush=True)

"""The exceptions raised by :mod:`minidl.data`.

All of them derive from ``ValueError`` (through :class:`DataError`), so code
that already catches ``ValueError`` around data loading keeps working, and
code that wants to tell data problems apart from other bugs can catch
``DataError``.

    DataError            a data file is malformed (bad CSV row, bad IDX header, ...)
    +-- ChecksumError    a file's md5 is not the published one
    +-- DownloadError    files are missing and could not be fetched
"""
from __future__ import annotations


class DataError(ValueError):
    """A data file is malformed or unusable; the message names the file (and line)."""


class ChecksumError(DataError):
    """A file's md5 differs from the published value; the message shows both hashes."""


class DownloadError(DataError):
    """Files are missing and could not be downloaded.

    The message says which files are missing and prints the exact
    ``python data_download.py --source ... --dest ...`` command that fixes it.
    """

"""Fetch the four MNIST files and write the course CSVs.

    python data_download.py                          # download into the data home
    python data_download.py --dest data              # ... into data/ instead
    python data_download.py --source ../shared/data/mnist   # no internet: copy from a local folder
    python data_download.py --no-csv                 # only the .gz files

The data home is $MINIDL_DATA if set, else ~/.local/share/minidl (or
$XDG_DATA_HOME/minidl): every run looks there, from whatever folder it is
started, so the files are fetched once per user.

Every file is md5-checked against the published value before it is written
(atomically), then mnist_train.csv and mnist_test.csv are written into the
destination (label then 784 pixels 0-255 per row, no header).  The logic
lives in minidl.data, so training code can call ensure_mnist() itself.
"""
from __future__ import annotations

import argparse
import sys

from minidl.data import DataError, copy_mnist, data_home, download_mnist, mnist_to_csv
from minidl.data import download


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=None,
                        help="directory to write into (default: the data home, $MINIDL_DATA or "
                             "~/.local/share/minidl)")
    parser.add_argument("--source", default=None, metavar="DIR",
                        help="copy the .gz files from this local directory instead of downloading")
    parser.add_argument("--no-csv", action="store_true",
                        help="skip writing mnist_train.csv / mnist_test.csv")
    parser.add_argument("--retries", type=int, default=download.RETRIES,
                        help="rounds over all mirrors (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=download.TIMEOUT_S,
                        help="seconds per connection / read (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the script; return the process exit code (0 ok, 1 on a data error)."""
    args = parse_args(argv)
    dest = args.dest if args.dest is not None else data_home()
    try:
        if args.source is not None:
            copy_mnist(args.source, dest)
        else:
            download_mnist(dest, retries=args.retries, timeout=args.timeout)
        if not args.no_csv:
            mnist_to_csv(dest, dest)
        print(f"MNIST is in {dest}; every run finds it there", file=sys.stderr)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        if args.source is None:
            print(f"No internet? Copy from a local directory instead:\n"
                  f"    {download.source_command(dest)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

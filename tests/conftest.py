"""Shared pytest configuration: hypothesis profiles, the real-MNIST fixture, the fuzz summary.

``ci`` (chosen when the environment variable ``CI`` is set) is reproducible:
no deadline, a fixed example sequence, and a reproduction blob on failure.
``dev`` (the default) only drops the deadline, since gradient checks run a
forward pass per perturbed entry and their timing varies.
"""
import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if "CI" in os.environ else "dev")


# ---- the real MNIST files, for integration tests ---------------------------
REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def find_real_mnist() -> Path | None:
    """$MINIDL_DATA or ../shared/data/mnist, whichever holds all four IDX files."""
    for candidate in (os.environ.get("MINIDL_DATA"), SHARED_MNIST):
        if candidate and all((Path(candidate) / name).is_file() for name in MNIST_FILES):
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def real_mnist_dir() -> Path:
    """The folder with the genuine MNIST files.  Skips locally if absent; *fails* when CI is set."""
    found = find_real_mnist()
    if found is None:
        message = f"real MNIST files not found in $MINIDL_DATA or {SHARED_MNIST}"
        if "CI" in os.environ:
            pytest.fail(message + " (CI is set, so this is an error, not a skip)")
        pytest.skip(message)
    return found


def signal_when_rows(proc, folder: Path, rows: int, sig, timeout: float = 120) -> Path | None:
    """Send ``sig`` to the subprocess ``proc`` once ``folder/*/metrics.csv`` holds ``rows`` data rows.

    Returns that metrics.csv, or None if the process ended (or ``timeout`` passed) first.
    """
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(folder.glob("*/metrics.csv"))
        if found and len(found[0].read_text().splitlines()) >= rows + 1:     # the header, then the rows
            proc.send_signal(sig)
            return found[0]
        time.sleep(0.01)
    return None


def pytest_terminal_summary(terminalreporter):
    """Report the number of fuzzed bad inputs tried per category (tests/test_fuzz_inputs.py)."""
    from fuzzcount import FUZZED
    if FUZZED:
        counts = ", ".join(f"{category} {n}" for category, n in sorted(FUZZED.items()))
        terminalreporter.write_line(f"fuzzed bad inputs tried per category: {counts}")


def run_args(study, args):
    """Run ``study`` in-process as its command line would with ``args`` (CONFIG, then ``--set K=V`` pairs);
    returns the run folder.  A bad config raises its ConfigError here (the command prints it and exits 2)."""
    from minidl.runs.cli import run_study
    config, rest = args[0], list(args[1:])
    assert all(flag == "--set" for flag in rest[::2]), f"run_args takes only --set options; got {rest}"
    run_dir, _ = run_study(study, config, rest[1::2], log=lambda line: None)
    return run_dir

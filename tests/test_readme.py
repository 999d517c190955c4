"""The README's code must run as written, and every documented command must name things that exist."""
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]

# `python -m X` for a tool, not a study of the shared entry point
TOOLS = {"pytest", "pip"}


def test_readme_library_example_runs_and_learns(capsys):
    text = README.read_text()
    block = re.search(r"## The library in 15 lines\s+```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 17
    exec(compile(block, "README.md", "exec"), {})
    accuracy = float(capsys.readouterr().out.split()[-1])
    assert accuracy > 0.95, f"the README example should learn its toy problem; got {accuracy}"


def test_readme_commands_name_files_that_exist():
    commands = "\n".join(re.findall(r"```bash\n(.*?)```", README.read_text(), re.S))
    for path in re.findall(r"(configs/[\w/.-]+\.yaml)", commands):
        assert (ROOT / path).is_file(), f"README mentions {path}, which does not exist"


def commands(page: Path) -> list[str]:
    """The commands of a page: the lines of its ```bash blocks, and its inline `python ...` code spans."""
    text = page.read_text()
    found = [line for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found += [span for span in re.findall(r"`([^`\n]+)`", prose) if re.search(r"\bpython\b", span)]
    return found


def test_docs_pages_exist():
    assert len(PAGES) > 1, "docs/ should hold one page per course"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_documented_command_names_real_configs_scripts_and_studies(page):
    where = page.relative_to(ROOT)
    lines = commands(page)
    assert lines, f"{where} documents no command"
    for line in lines:
        for path in re.findall(r"(configs/[\w/.-]+\.yaml)", line):
            assert (ROOT / path).is_file(), f"{where}: `{line.strip()}` names {path}, which does not exist"
        for script in re.findall(r"\bpython (?!-)([\w/.-]+\.py)\b", line):
            assert (ROOT / script).is_file(), f"{where}: `{line.strip()}` runs {script}, which does not exist"
        for module in re.findall(r"\bpython -m ([\w.]+)", line):
            if module in TOOLS:
                continue
            assert importlib.util.find_spec(module) is not None, \
                f"{where}: `{line.strip()}` runs {module}, which does not import"
            study = importlib.import_module(module)
            assert hasattr(study, "SCHEMA") and hasattr(study, "run"), \
                f"{where}: {module} is not a study the shared entry point can run (it needs SCHEMA and run)"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_between_pages_resolve(page):
    where = page.relative_to(ROOT)
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+:", target):              # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        assert path.exists(), f"{where}: link to {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.*)$", re.sub(r"```.*?```", "", path.read_text(), flags=re.S), re.M)
            assert anchor in {_anchor(h) for h in headings}, f"{where}: link to {target}, a heading that does not exist"


def _config_and_overrides(line: str, study):
    """The config file and the ``--set`` overrides (flags included) of one documented command, or None."""
    import shlex
    try:
        tokens = shlex.split(line.split("#")[0])
    except ValueError:
        return None
    args = tokens[tokens.index("-m") + 2:]
    if any(t in ("--resume", "--replot", "--help") for t in args) or any("<" in t or "..." in t for t in args):
        return None
    flags = getattr(study, "FLAGS", {})
    config, overrides, i = None, [], 0
    while i < len(args):
        if args[i] == "--set":
            overrides.append(args[i + 1])
            i += 2
        elif args[i] in flags:
            overrides.append(f"{flags[args[i]]}={args[i + 1]}")
            i += 2
        elif args[i].startswith("-"):
            raise AssertionError(f"`{line.strip()}` uses {args[i]}, which the command does not have")
        else:
            config = config or args[i]
            i += 1
    return (config, overrides) if config and config.endswith(".yaml") else None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_documented_study_command_validates_as_written(page, monkeypatch):
    """Each ``python -m <study> CONFIG [--set ...]`` of a page passes the study's validation, --set keys included."""
    from minidl.runs.cli import load_config
    from minidl.runs.config import ConfigError
    monkeypatch.chdir(ROOT)
    checked = 0
    for line in commands(page):
        for module in re.findall(r"\bpython -m ([\w.]+)", line):
            if module in TOOLS:
                continue
            study = importlib.import_module(module)
            parsed = _config_and_overrides(line, study)
            if parsed is None:
                continue
            try:
                load_config(study, *parsed)
            except ConfigError as exc:
                if "run it first" not in str(exc):          # hw7.compare needs its sweeps to have run
                    raise AssertionError(f"{page.relative_to(ROOT)}: `{line.strip()}` is refused: {exc}") from None
            checked += 1
    assert checked or page.name in ("performance.md",), f"{page.relative_to(ROOT)}: no study command checked"

"""The README's code must run as written."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_library_example_runs_and_learns(capsys):
    text = README.read_text()
    block = re.search(r"## The library in 15 lines\s+```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 17
    exec(compile(block, "README.md", "exec"), {})
    accuracy = float(capsys.readouterr().out.split()[-1])
    assert accuracy > 0.95, f"the README example should learn its toy problem; got {accuracy}"


def test_readme_commands_name_files_that_exist():
    root = README.parent
    commands = "\n".join(re.findall(r"```bash\n(.*?)```", README.read_text(), re.S))
    for path in re.findall(r"(configs/[\w/.-]+\.yaml)", commands):
        assert (root / path).is_file(), f"README mentions {path}, which does not exist"

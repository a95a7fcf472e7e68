"""Every ```python block of the README runs as written, each in a fresh namespace."""
import contextlib
import io
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCKS = re.findall(r"```python\n(.*?)```", open(os.path.join(ROOT, "README.md"), encoding="utf-8").read(), re.S)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks may write files (nn.save)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {"__name__": f"readme_{index}"})


def test_printed_values_match_the_comments_beside_them(tmp_path, monkeypatch):
    """A block's `print(...)  # v1 v2` lines print exactly what their comment says (where it quotes output)."""
    monkeypatch.chdir(tmp_path)
    block = next(b for b in BLOCKS if "dim=1" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(block, {})
    printed = out.getvalue().splitlines()
    assert printed[0] == "[5.0, 6.0] [1, 2]"
    assert printed[1] == "[5.0, 6.0]"
    assert printed[2] == "[4.5, 4.5, 4.5] [2.25, 2.25, 2.25]"
    assert printed[3] == "(2, 3) 3 True"

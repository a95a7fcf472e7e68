"""The code passes the linter configured in pyproject.toml ([tool.ruff]); ruff comes with the `test` extra."""
import os
import subprocess
import sys


def test_ruff_finds_nothing():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", root], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

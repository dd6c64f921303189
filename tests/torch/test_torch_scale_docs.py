"""The code blocks of docs/torch-scale.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

PAGE = Path(__file__).resolve().parents[2] / "docs" / "torch-scale.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_docs_example_runs(index):
    exec(compile(BLOCKS[index], f"torch-scale.md block {index}", "exec"), {"__name__": "docs"})

"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    code = BLOCKS[index]
    for module in ("torch", "jax", "keras", "tensorflow"):
        if re.search(rf"^\s*import {module}|^\s*import .*\b{module}\b", code, flags=re.M):
            pytest.importorskip(module)
    exec(compile(code, f"README.md block {index}", "exec"), {"__name__": f"readme_{index}"})


def test_the_losses_table_names_every_builtin_loss():
    """README's "Losses" table lists every built-in loss (it had fallen 16 behind)."""
    import losskit

    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Losses") : text.index("### Your own losses")]
    builtin = [n for n in losskit.available() if losskit.get_loss(n).builtin]
    missing = [n for n in builtin if f"`{n}`" not in table]
    assert not missing, missing

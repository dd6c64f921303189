"""Griffe extension: losskit's reStructuredText math in docstrings, as MathJax input.

Docstrings write math the Sphinx way (``:math:`x``` inline and ``.. math::`` blocks),
which also reads well in ``help()``.  For the docs site this rewrites both to the
``\\( \\)`` and ``\\[ \\]`` delimiters that pymdownx.arithmatex hands to MathJax.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_INLINE = re.compile(r":math:`([^`]+)`")
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)$")


def rst_math_to_mathjax(text: str) -> str:
    """Rewrite ``:math:`...``` and ``.. math::`` blocks to MathJax delimiters.

    >>> rst_math_to_mathjax("a :math:`x^2` b")
    'a \\\\(x^2\\\\) b'
    """
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        match = _BLOCK.match(lines[index])
        if match is None:
            out.append(_INLINE.sub(r"\\(\1\\)", lines[index]))
            index += 1
            continue
        indent = match["indent"]
        body = [match["first"]] if match["first"].strip() else []
        index += 1
        # the block is every following line indented deeper than the directive (or blank)
        while index < len(lines) and (
            not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > len(indent)
        ):
            body.append(lines[index].strip())
            index += 1
        formula = " ".join(line for line in body if line)
        out += [f"{indent}\\[", f"{indent}{formula}", f"{indent}\\]", ""]
    return "\n".join(out)


class RstMath(griffe.Extension):
    """Apply :func:`rst_math_to_mathjax` to every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_math_to_mathjax(obj.docstring.value)

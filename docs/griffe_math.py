"""Griffe extension: losskit's reStructuredText in docstrings, as the docs site's Markdown.

Docstrings write math and cross-references the Sphinx way (``:math:`x```, ``.. math::``
blocks, ``:class:`~losskit.LossInfo```, double-backquoted code), which also reads well
in ``help()``.  For the docs site this rewrites math to the ``\\( \\)`` and ``\\[ \\]``
delimiters that pymdownx.arithmatex hands to MathJax, and roles to inline code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_INLINE = re.compile(r":math:`([^`]+)`")
#: ``:class:`~a.b.C``` and the other cross-reference roles: shown as ``C`` (``a.b.C``
#: without the tilde).
_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj|const):`(~?)([^`]+)`")


def rst_roles_to_code(text: str) -> str:
    """Cross-reference roles as inline code: the last name with ``~``, else the path.

    >>> rst_roles_to_code("see :class:`~losskit.LossInfo` and :func:`losskit.dice`")
    'see `LossInfo` and `losskit.dice`'
    """
    return _ROLE.sub(lambda m: f"`{m[2].rsplit('.', 1)[-1] if m[1] else m[2]}`", text)


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


#: a loss's docstring documents ``normalizer`` (the shared ``{reduction}`` text) where
#: its source does not declare it: the registry adds it to the public function
_NORMALIZER = re.compile(r"^\s+normalizer:", flags=re.MULTILINE)


class RstMath(griffe.Extension):
    """Apply :func:`rst_math_to_mathjax` and :func:`rst_roles_to_code` to every
    docstring griffe loads; give registered losses the ``normalizer`` parameter that
    :func:`losskit.register_loss` adds to their signature."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_roles_to_code(rst_math_to_mathjax(obj.docstring.value))
        if (
            isinstance(obj, griffe.Function)
            and obj.docstring is not None
            and "normalizer" not in obj.parameters
            and "weights" in obj.parameters
            and _NORMALIZER.search(obj.docstring.value)
        ):
            obj.parameters.add(
                griffe.Parameter(
                    "normalizer",
                    annotation="float | Array | None",
                    kind=griffe.ParameterKind.keyword_only,
                    default="None",
                )
            )

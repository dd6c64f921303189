"""Terminal output for the ``losskit`` command: laid out for the terminal's width, in
colour with rich in a terminal, as plain text when piped, JSON on request.

Subcommands describe what to show (headings, paragraphs, fields, tables, code) and
:class:`Output` lays it out in lines that fit the width (the terminal's, ``COLUMNS``, or
80 when piped): prose wraps between words, a table wraps its text columns between
words or, when it cannot fit, shows each row as a block.  Nothing is ever cut off:
code is printed as it is, unboxed and unindented so that it can be copied, and the few
lines wider than the terminal (generated code fits in 79 columns) wrap in the terminal
rather than being truncated.  rich, when used, only adds colour to those lines.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["CommandError", "Output", "terminal_width"]

#: Prose is wrapped to at most this width, however wide the terminal.
TEXT_WIDTH = 88
#: Narrowest layout width: below it, lines simply wrap in the terminal.
MIN_WIDTH = 40
#: Space between table columns.
GAP = "  "


class CommandError(Exception):
    """Bad input to a subcommand (a missing file, a malformed array): exit status 2."""


def terminal_width() -> int:
    """The width to lay out for: ``COLUMNS``, else the terminal's, else 80."""
    return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken only between words (a
    word longer than a line stays whole)."""
    return textwrap.wrap(
        text,
        max(width, 1),
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


class Output:
    """Where a subcommand writes.

    Args:
        stream: the text stream (standard output).
        json_mode: whether the subcommand should print JSON (see :meth:`json`).
        rich: colour with rich; by default, when ``stream`` is a terminal, rich is
            installed and ``NO_COLOR`` is not set.
        width: the width to lay out for (default: :func:`terminal_width`).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        json_mode: bool = False,
        rich: bool | None = None,
        width: int | None = None,
    ) -> None:
        self.stream = stream
        self.json_mode = json_mode
        self.width = max(MIN_WIDTH, width) if width is not None else terminal_width()
        if rich is None:
            isatty = getattr(stream, "isatty", None)
            rich = bool(isatty and isatty()) and _rich_available() and "NO_COLOR" not in os.environ
        self.rich = rich
        self._console: Any = None
        if rich:
            from rich.console import Console

            self._console = Console(file=stream, width=self.width, highlight=False)

    @property
    def text_width(self) -> int:
        return min(self.width, TEXT_WIDTH)

    # ---------------------------------------------------------------- writing

    def _emit(self, line: str, style: str | None = None) -> None:
        """One laid-out line; rich adds ``style`` and never re-wraps or crops it."""
        if self._console is not None:
            from rich.text import Text

            self._console.print(Text(line, style=style or ""), soft_wrap=True)
        else:
            self.stream.write(line + "\n")

    def json(self, data: Any) -> None:
        """Print ``data`` as indented JSON."""
        self.stream.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def line(self, text: str = "") -> None:
        """``text`` as it is (wrapped by the terminal if it is too long)."""
        self._emit(text)

    def heading(self, text: str) -> None:
        lines = _wrap(text, self.width, rest="    ")
        self._emit("")
        for line in lines:
            self._emit(line, "bold")
        self._emit("-" * max(len(line) for line in lines), "dim")

    def title(self, text: str, subtitle: str = "") -> None:
        if self._console is not None:
            from rich.text import Text

            lines = _wrap(f"{text}  {subtitle}".rstrip(), self.text_width, rest="    ")
            first = Text(lines[0])
            first.stylize("bold cyan", 0, len(text))
            self._console.print(first, soft_wrap=True)
            for line in lines[1:]:
                self._emit(line)
        else:
            for line in _wrap(f"{text}  {subtitle}".rstrip(), self.text_width, rest="    "):
                self._emit(line)

    def paragraph(self, text: str, indent: int = 0) -> None:
        pad = " " * indent
        for line in _wrap(text, self.text_width, pad, pad):
            self._emit(line)

    def bullets(self, items: Sequence[str]) -> None:
        for item in items:
            for line in _wrap(item, self.text_width, "  - ", "    "):
                self._emit(line)

    def fields(self, pairs: Sequence[tuple[str, str]]) -> None:
        """``label: value`` lines, the values aligned and wrapped under themselves; a
        value that holds several lines (a formula) keeps them."""
        if not pairs:
            return
        width = max(len(label) for label, _ in pairs) + 2
        if width > self.width // 3:  # long labels: values on their own lines
            for label, value in pairs:
                self._emit(f"{label}:", "bold")
                for part in str(value).splitlines() or [""]:
                    for line in _wrap(part, self.text_width, "    ", "    "):
                        self._emit(line)
            return
        for label, value in pairs:
            lines: list[str] = []
            for part in str(value).splitlines() or [""]:
                lines += _wrap(part, self.text_width - width)
            head = f"{label + ':':<{width}}"
            self._styled_pair(head, lines[0])
            for line in lines[1:]:
                self._emit(" " * width + line)

    def _styled_pair(self, label: str, value: str) -> None:
        if self._console is not None:
            from rich.text import Text

            text = Text(label, style="bold")
            text.append(value)
            self._console.print(text, soft_wrap=True)
        else:
            self._emit(f"{label}{value}".rstrip())

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[str]],
        title: str | None = None,
        wrap: Sequence[int] = (-1,),
    ) -> None:
        """A table with a header.  The columns in ``wrap`` (default: the last) may wrap
        between words; when even then the table is wider than the output, each row is
        shown as a block (``first cell``, then ``column: value`` lines)."""
        if title:
            self._emit(title, "bold")
        cells = [[str(c) for c in row] for row in rows]
        layout = _column_widths(list(columns), cells, self.width, wrap)
        if layout is None:
            self._folded(columns, cells)
            return
        self._row(columns, layout, "bold")
        self._emit(GAP.join("-" * w for w in layout), "dim")
        for row in cells:
            self._row(row, layout)

    def _row(self, row: Sequence[str], layout: list[int], style: str | None = None) -> None:
        """One row (or the header), each cell wrapped to its column's width."""
        wrapped = [_wrap(cell, w) if cell else [""] for cell, w in zip(row, layout, strict=True)]
        for k in range(max(len(parts) for parts in wrapped)):
            parts = [p[k] if k < len(p) else "" for p in wrapped]
            line = GAP.join(p.ljust(w) for p, w in zip(parts, layout, strict=True)).rstrip()
            self._emit(line, style)

    def _folded(self, columns: Sequence[str], cells: list[list[str]]) -> None:
        label_width = max(len(c) for c in columns[1:]) + 2
        beside = self.text_width - 4 - label_width >= MIN_WIDTH // 2
        for row in cells:
            for line in _wrap(row[0], self.width, rest="    "):
                self._emit(line, "bold")
            for column, cell in zip(columns[1:], row[1:], strict=True):
                if beside:  # "    column:  value", the value wrapped under itself
                    lines = _wrap(cell, self.text_width - 4 - label_width)
                    self._emit(f"    {column + ':':<{label_width}}{lines[0]}".rstrip())
                    lines = [" " * (4 + label_width) + line for line in lines[1:]]
                else:  # narrow: the value on lines of its own
                    self._emit(f"    {column}:")
                    lines = _wrap(cell, self.text_width, "        ", "        ")
                for line in lines:
                    self._emit(line)

    def code(self, source: str, title: str | None = None) -> None:
        """Code as it is: not boxed, not indented, never cut, so that a copy runs.  The
        title is a comment line above it."""
        if title:
            self._emit(f"# {title}", "dim")
        if self._console is not None:
            from rich.syntax import Syntax

            syntax = Syntax("", "python", theme="ansi_dark", background_color="default")
            self._console.print(syntax.highlight(source.rstrip("\n")), soft_wrap=True)
        else:
            for line in source.rstrip("\n").splitlines():
                self._emit(line)


def _row_lines(row: list[str], widths: list[int]) -> list[str]:
    """One table row in lines: each cell wrapped between words to its column's width."""
    wrapped = [_wrap(cell, w) if cell else [""] for cell, w in zip(row, widths, strict=True)]
    lines = []
    for k in range(max(len(parts) for parts in wrapped)):
        parts = [p[k] if k < len(p) else "" for p in wrapped]
        lines.append(GAP.join(p.ljust(w) for p, w in zip(parts, widths, strict=True)).rstrip())
    return lines


def _column_widths(
    columns: list[str], cells: list[list[str]], width: int, wrap: Sequence[int]
) -> list[int] | None:
    """Each column's width so that the table fits ``width``, or None if it cannot: the
    columns in ``wrap`` give up width, down to their longest word (headers wrap too)."""
    count = len(columns)
    wrapping = {i % count for i in wrap}
    natural = [max(len(r[i]) for r in [columns, *cells]) for i in range(count)]
    least = [
        max(
            [len(word) for word in columns[i].split()]
            + [len(word) for r in cells for word in (r[i].split() if i in wrapping else [r[i]])]
        )
        for i in range(count)
    ]
    widths = list(natural)
    available = width - len(GAP) * (count - 1)
    excess = sum(widths) - available
    # take the excess from the widest columns that can wrap first
    while excess > 0:
        candidates = [i for i in range(count) if widths[i] > least[i]]
        if not candidates:
            return None
        widest = max(candidates, key=lambda i: widths[i])
        others = [widths[i] for i in candidates if i != widest]
        target = max(least[widest], max(others, default=0), widths[widest] - excess)
        if target >= widths[widest]:
            target = widths[widest] - 1
        excess -= widths[widest] - target
        widths[widest] = target
    return widths

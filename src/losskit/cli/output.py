"""Terminal output for the ``losskit`` command: rich in a terminal, plain text when piped,
JSON on request.

Subcommands describe what to show (headings, paragraphs, tables, code) and
:class:`Output` renders it with rich when writing to a terminal and rich is installed,
and as plain, aligned text otherwise, so piped output stays greppable.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["CommandError", "Output"]

#: Plain-text paragraphs are wrapped to this width.
TEXT_WIDTH = 88


class CommandError(Exception):
    """Bad input to a subcommand (a missing file, a malformed array): exit status 2."""


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Output:
    """Where a subcommand writes.

    Args:
        stream: the text stream (standard output).
        json_mode: whether the subcommand should print JSON (see :meth:`json`).
        rich: use rich; by default, when ``stream`` is a terminal and rich is installed.
        width: the rich console's width (default: the terminal's).
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
        if rich is None:
            isatty = getattr(stream, "isatty", None)
            rich = bool(isatty and isatty()) and _rich_available()
        self.rich = rich
        self._console: Any = None
        if rich:
            from rich.console import Console

            self._console = Console(file=stream, width=width, highlight=False)

    # ------------------------------------------------------------------ JSON

    def json(self, data: Any) -> None:
        """Print ``data`` as indented JSON."""
        self.stream.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    # ------------------------------------------------------------------ text

    def line(self, text: str = "") -> None:
        if self._console is not None:
            from rich.text import Text

            self._console.print(Text(text))
        else:
            self.stream.write(text + "\n")

    def heading(self, text: str) -> None:
        if self._console is not None:
            self._console.print()
            self._console.rule(f"[bold]{_escape(text)}", align="left")
        else:
            self.stream.write(f"\n{text}\n{'-' * len(text)}\n")

    def title(self, text: str, subtitle: str = "") -> None:
        if self._console is not None:
            self._console.print(f"[bold cyan]{_escape(text)}[/]  {_escape(subtitle)}")
        else:
            self.stream.write(f"{text}  {subtitle}\n" if subtitle else f"{text}\n")

    def paragraph(self, text: str) -> None:
        if self._console is not None:
            from rich.text import Text

            self._console.print(Text(text))
        else:
            self.stream.write(textwrap.fill(text, TEXT_WIDTH) + "\n")

    def bullets(self, items: Sequence[str]) -> None:
        for item in items:
            if self._console is not None:
                from rich.text import Text

                self._console.print(Text(f"  • {item}"))
            else:
                self.stream.write(
                    textwrap.fill(item, TEXT_WIDTH, initial_indent="  - ", subsequent_indent="    ")
                    + "\n"
                )

    def fields(self, pairs: Sequence[tuple[str, str]]) -> None:
        """``label: value`` lines with the values aligned."""
        if not pairs:
            return
        width = max(len(label) for label, _ in pairs)
        for label, value in pairs:
            if self._console is not None:
                from rich.text import Text

                text = Text(f"{label + ':':<{width + 1}} ", style="bold")
                text.append(value)
                self._console.print(text)
            else:
                self.stream.write(f"{label + ':':<{width + 1}} {value}\n")

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None
    ) -> None:
        """A table; plain text pads every column but the last to a common width."""
        if self._console is not None:
            from rich.table import Table

            table = Table(title=title, show_lines=False, header_style="bold")
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(*(_escape(str(cell)) for cell in row))
            self._console.print(table)
            return
        if title:
            self.stream.write(f"{title}\n")
        cells = [list(columns), *[[str(c) for c in row] for row in rows]]
        widths = [max(len(r[i]) for r in cells) for i in range(len(columns) - 1)]
        for index, row in enumerate(cells):
            padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
            self.stream.write("  ".join(padded).rstrip() + "\n")
            if index == 0:
                self.stream.write("  ".join("-" * len(c) for c in padded).rstrip() + "\n")

    def code(self, source: str, title: str | None = None) -> None:
        if self._console is not None:
            from rich.panel import Panel
            from rich.syntax import Syntax

            syntax = Syntax(source, "python", theme="ansi_dark", background_color="default")
            self._console.print(Panel(syntax, title=title, title_align="left", expand=False))
        else:
            if title:
                self.stream.write(f"[{title}]\n")
            self.stream.write(textwrap.indent(source, "    ") + "\n")


def _escape(text: str) -> str:
    """Escape rich markup in user-facing text (square brackets)."""
    from rich.markup import escape

    return escape(text)

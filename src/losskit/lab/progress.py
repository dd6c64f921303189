"""A progress bar for the lab: rich's in a terminal when rich is installed, a plain
text bar in a terminal otherwise, and one line per finished scenario when the output
is not a terminal (a log file, a pipe, CI)."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """``with Progress(total) as bar: bar.advance("what just finished")``."""

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = enabled and self.stream.isatty()
        self._rich: Any = None
        self._task: Any = None
        self._start = time.perf_counter()

    def __enter__(self) -> Progress:
        if self.interactive:
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )
                from rich.progress import Progress as RichProgress
            except ImportError:
                pass
            else:
                self._rich = RichProgress(
                    TextColumn("[bold]lab[/bold]"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                    TextColumn("{task.description}"),
                    console=Console(file=self.stream),
                    transient=True,
                )
                self._rich.__enter__()
                self._task = self._rich.add_task("starting", total=self.total)
        return self

    def advance(self, description: str) -> None:
        """One more run finished; ``description`` says which."""
        self.done += 1
        if self._rich is not None:
            self._rich.update(self._task, advance=1, description=description)
        elif self.interactive:
            width = 30
            filled = round(width * self.done / max(self.total, 1))
            elapsed = time.perf_counter() - self._start
            line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {elapsed:5.0f}s {description}"
            self.stream.write("\r" + line[:120].ljust(120))
            self.stream.flush()

    def log(self, message: str) -> None:
        """A line that stays (the end of a scenario)."""
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.console.print(message, highlight=False, markup=False)
        else:
            if self.interactive:
                self.stream.write("\r" + " " * 120 + "\r")
            self.stream.write(message + "\n")
            self.stream.flush()

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)
        elif self.interactive:
            self.stream.write("\r" + " " * 120 + "\r")
            self.stream.flush()

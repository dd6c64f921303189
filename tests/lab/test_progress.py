"""The progress bar: rich or plain text in a terminal, one line per scenario otherwise."""

from __future__ import annotations

import io
import sys

import pytest

pytest.importorskip("torch")  # the losskit.lab package needs the lab extra

from losskit.lab.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal_prints_only_the_lines_that_stay() -> None:
    stream = io.StringIO()
    with Progress(2, stream=stream) as bar:
        bar.advance("regression: MSE, seed 0")
        bar.advance("regression: MAE, seed 0")
        bar.log("Regression: 2 losses x 1 seeds")
    assert stream.getvalue() == "Regression: 2 losses x 1 seeds\n"


def test_plain_bar_in_a_terminal_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.progress", None)  # importing it fails
    stream = Terminal()
    with Progress(4, stream=stream) as bar:
        bar.advance("regression: MSE, seed 0")
        assert "[" + "#" * 8 + "." * 22 + "] 1/4" in stream.getvalue()
        assert stream.getvalue().startswith("\r")
        bar.log("done")
    assert "regression: MSE, seed 0" in stream.getvalue()
    assert "done\n" in stream.getvalue()


def test_rich_bar_in_a_terminal() -> None:
    pytest.importorskip("rich")
    stream = Terminal()
    with Progress(3, stream=stream) as bar:
        assert bar._rich is not None
        bar.advance("gan: hinge, seed 2")
        bar.log("GAN: finished")
    assert "GAN: finished" in stream.getvalue()


def test_disabled_prints_nothing() -> None:
    stream = Terminal()
    with Progress(1, enabled=False, stream=stream) as bar:
        bar.advance("x")
        bar.log("y")
    assert stream.getvalue() == ""

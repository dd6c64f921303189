"""Helpers of the lab tests: run ``losskit lab`` in-process and check its report."""

from __future__ import annotations

import base64
import dataclasses
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclasses.dataclass
class LabRun:
    code: int
    out: str
    err: str
    report: Path

    @property
    def numbers(self) -> dict[str, Any]:
        return json.loads(self.out)


@pytest.fixture
def run_lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``run_lab(*args)`` runs ``losskit lab ARGS --out DIR --no-progress --threads 1``."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from losskit.cli import main

    counter = iter(range(1000))

    def run(*args: str) -> LabRun:
        report = tmp_path / f"report{next(counter)}"
        capsys.readouterr()
        code = main(["lab", *args, "--out", str(report), "--no-progress", "--threads", "1"])
        captured = capsys.readouterr()
        return LabRun(code, captured.out, captured.err, report)

    return run


class _Resources(HTMLParser):
    """Every tag and every attribute that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if tag == "img" and name == "src":
                self.images.append(value or "")
            elif name in ("src", "href", "srcset", "data", "poster", "action"):
                self.links.append((name, value or ""))


def check_self_contained_html(path: Path) -> list[bytes]:
    """Assert the HTML file loads nothing from outside; return its embedded PNGs."""
    text = path.read_text(encoding="utf-8")
    parser = _Resources()
    parser.feed(text)
    assert "script" not in parser.tags and "link" not in parser.tags and "iframe" not in parser.tags
    assert "@import" not in text and "url(" not in text
    # the only links allowed are anchors inside the page
    assert all(value.startswith("#") for _, value in parser.links), parser.links
    pngs = []
    for src in parser.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix), src[:60]
        png = base64.b64decode(src[len(prefix) :], validate=True)
        assert png.startswith(PNG_SIGNATURE)
        pngs.append(png)
    return pngs


@pytest.fixture
def check_html():  # type: ignore[no-untyped-def]
    """:func:`check_self_contained_html` as a fixture (test modules here are not a package)."""
    return check_self_contained_html

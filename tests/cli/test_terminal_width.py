"""Every subcommand's text output in an 80-column terminal and in a pipe: no line wider
than the terminal, no code cut off, no word broken in two."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

import losskit.cli
from losskit.cli import main
from losskit.cli.output import Output
from losskit.core.registry import available, get_loss
from losskit.guide.advisor import recommend
from losskit.guide.catalogue import code_examples, entry
from losskit.guide.examples import WIDTH
from losskit.guide.formula import formula_lines

COLUMNS = 80


@pytest.fixture(params=["pipe", "rich"])
def terminal(request, monkeypatch):
    """Runs the command as in an 80-column terminal: plain text as in a pipe (COLUMNS=80),
    or through rich at width 80; returns what it printed."""
    monkeypatch.setenv("COLUMNS", str(COLUMNS))
    if request.param == "rich":
        pytest.importorskip("rich")

    def run(*argv: str) -> str:
        stream = io.StringIO()
        rich = request.param == "rich"
        monkeypatch.setattr(
            losskit.cli, "Output", lambda _, json_mode: Output(stream, rich=rich, width=COLUMNS)
        )
        assert main(list(argv)) == 0
        return stream.getvalue()

    return run


def _fits(text: str) -> None:
    wide = [line for line in text.splitlines() if len(line) > COLUMNS]
    assert not wide, f"{len(wide)} lines wider than {COLUMNS} columns: {wide[:3]}"


def _words(text: str) -> str:
    return " ".join(text.split())


def _shows_whole(text: str, *expected: str) -> None:
    """Each of ``expected`` appears in ``text`` with its words whole and in order (lines
    may break between words, never inside one)."""
    flowing = _words(text)
    for item in expected:
        assert _words(item) in flowing, item


def _shows_code(text: str, code: str) -> None:
    """Every line of ``code`` appears as a line of ``text``, unindented and complete."""
    lines = set(text.splitlines())
    for line in code.splitlines():
        assert line in lines, line


def test_list_fits_and_is_grouped_by_task(terminal):
    out = terminal("list")
    _fits(out)
    _shows_whole(out, *(get_loss(n).summary for n in available()))
    headings = re.findall(r"^([a-z-]+) \((\d+)\)$", out, flags=re.MULTILINE)
    assert [task for task, _ in headings][:3] == ["regression", "binary", "multi-class"]
    for task, count in headings:
        assert int(count) == len(available(task))
    only = terminal("list", "--task", "segmentation")
    _fits(only)
    assert "huber" not in only and "dice" in only


@pytest.mark.parametrize("name", available())
def test_explain_fits_with_every_option_and_readable_formula(terminal, name):
    out = terminal("explain", name)
    _fits(out)
    data = entry(name)
    _shows_whole(out, data["explanation"], *data["good_for"], *data["references"])
    for option in [*data["options"], "reduction", "weights"]:
        assert re.search(rf"^{option} = ", out, flags=re.MULTILINE), option
    for meaning in data["hyperparameters"].values():
        _shows_whole(out, meaning)
    for framework, code in code_examples(name).items():
        _shows_code(out, code)
        assert f"# {framework}" in out
    # the formula as text (no LaTeX left), wrapped only between its words
    formula = out.split("Formula\n-------\n", 1)[1].split("\n\n", 1)[0]
    assert formula.strip() and "\\" not in formula
    assert _words(formula) == _words(" ".join(formula_lines(get_loss(name).formula)))


DESCRIPTIONS = [
    ("--task", "regression", "--outliers", "--intervals"),
    ("--task", "binary", "--imbalance", "1:50"),
    ("--task", "multi-label", "--imbalance", "1:200"),
    ("--task", "multi-class", "--imbalance", "5000:300:40", "--outliers"),
    ("--task", "multi-class", "--labels", "soft", "--probabilities"),
    ("--task", "segmentation", "--imbalance", "1:100", "--labels", "integer"),
    ("--task", "segmentation", "--labels", "one-hot", "--overlap"),
    ("--task", "detection", "--labels", "cxcywh", "--overlap"),
    ("--task", "generative"),
]


@pytest.mark.parametrize("description", DESCRIPTIONS, ids=lambda d: " ".join(d[1::2]))
def test_recommend_fits_and_shows_complete_code(terminal, description):
    out = terminal("recommend", *description, "--framework", "all")
    _fits(out)
    flags = dict(zip(description[::2], description[1::2], strict=False))
    recs = recommend(
        flags["--task"],
        labels=flags.get("--labels"),
        imbalance=flags.get("--imbalance"),
        outliers="--outliers" in description,
        overlap="--overlap" in description,
        intervals="--intervals" in description,
        logits="--probabilities" not in description,
    )
    for rec in recs:
        _shows_whole(out, rec.reason)
        for code in rec.code.values():
            _shows_code(out, code)


def test_the_issue_example_prints_whole_names_and_closed_calls(terminal):
    out = terminal(
        "recommend",
        *("--task", "segmentation", "--imbalance", "1:100", "--labels", "integer"),
        *("--framework", "pytorch", "--top", "2"),
    )
    _fits(out)
    assert "scce = losskit.torch.SparseCategoricalCrossEntropy()" in out
    # the code as printed, copied from "# pytorch" to the end of the block, compiles
    for block in out.split("# pytorch\n")[1:]:
        code = "\n".join(block.split("\n\n")[:2])  # the import, a blank line, the rest
        compile(code, "<printed>", "exec")


def test_generated_code_fits_79_columns():
    for name in available():
        for code in code_examples(name).values():
            assert max(len(line) for line in code.splitlines()) <= WIDTH


def test_eval_tables_fit(terminal, tmp_path: Path, monkeypatch):
    # relative file names: the output echoes them, and pytest's temporary paths under
    # xdist are longer than a terminal line by themselves
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.savez("d.npz", logits=rng.normal(size=(30, 4)), labels=rng.integers(0, 4, 30))
    out = terminal(
        "eval",
        "sparse_categorical_cross_entropy:from_logits=true",
        *("--pred", "d.npz:logits", "--target", "d.npz:labels"),
    )
    _fits(out)
    assert "class 3" in out and "share of total" in out
    np.save("p.npy", rng.normal(size=50))
    np.save("t.npy", rng.normal(size=50))
    out = terminal("eval", "mse", "--pred", "p.npy", "--target", "t.npy")
    _fits(out)
    assert "the 10 largest of 50" in out


def test_plot_message_fits(terminal, tmp_path: Path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    out = terminal("plot", "mse", "huber:delta=0.5", "log_cosh", "mae", "--out", "curves.png")
    _fits(out)
    _shows_whole(out, "wrote curves.png (mse, huber (delta=0.5), log_cosh, mae against the error)")


@pytest.mark.parametrize("width", [80, 60, 40])
@pytest.mark.parametrize("rich", [False, True])
def test_wide_tables_fold_by_row_and_never_break_numbers(width, rich):
    """The lab's summary table: seven columns of names and mean ± spread."""
    if rich:
        pytest.importorskip("rich")
    header = [
        "scenario",
        "metric",
        "best loss",
        "mean ± spread",
        "baseline",
        "baseline mean ± spread",
        "runs",
    ]
    rows = [
        ["Regression with outliers", "MAE on clean targets", "Huber δ=1", "0.817 ± 0.007", "MSE", "0.912 ± 0.011", "3 seeds"],
        ["Imbalanced binary (1:50)", "average precision", "BCE pos_weight=auto", "0.644 ± 0.021", "BCE", "0.598 ± 0.030", "3 seeds"],
    ]  # fmt: skip
    stream = io.StringIO()
    Output(stream, rich=rich, width=width).table(header, rows, wrap=(0, 1, 2, 4))
    text = stream.getvalue()
    _fits_width = [line for line in text.splitlines() if len(line) > width]
    assert not _fits_width
    lines = text.splitlines()
    for row in rows:
        for cell in row:
            if "±" in cell or cell == "3 seeds":
                assert any(cell in line for line in lines), cell  # a number stays on one line
            else:
                _shows_whole(text, cell)


def test_a_table_that_fits_keeps_its_columns():
    stream = io.StringIO()
    Output(stream, rich=False, width=80).table(
        ("loss", "summary"), [("huber", "Huber loss: " + "quadratic then linear " * 5)]
    )
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("loss ") and lines[1].startswith("-----")
    assert all(len(line) <= 80 for line in lines) and len(lines) > 3
    assert all(line.startswith(("huber  ", "       ")) for line in lines[2:])

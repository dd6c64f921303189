"""The ``losskit`` command, run in-process through ``main()`` and once as the installed script."""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import losskit
from losskit.cli import SUBCOMMANDS, build_parser, main
from losskit.cli.output import Output
from losskit.core.registry import available, get_loss
from losskit.guide.entries import guide_entry


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys, *argv: str):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def arrays(tmp_path: Path) -> Path:
    np.save(tmp_path / "p.npy", np.array([0.5, 1.0, 3.0, -1.0]))
    np.save(tmp_path / "t.npy", np.array([0.0, 1.0, 1.0, 1.0]))
    np.save(tmp_path / "short.npy", np.zeros(3))
    return tmp_path


# ---------------------------------------------------------------------- list


def test_list_shows_every_loss_with_its_summary(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in available():
        assert name in out
    assert get_loss("huber").summary in out


def test_list_filters_by_task(capsys):
    data = run_json(capsys, "list", "--task", "regression")
    assert [d["name"] for d in data] == available("regression")
    assert all("regression" in d["tasks"] for d in data)
    code, _, err = run(capsys, "list", "--task", "poetry")
    assert code == 2 and "--task must be one of regression, binary, multi-class" in err


@pytest.mark.parametrize("spelling", ["multiclass", "multi_class", "Multi-Class", "MULTICLASS"])
def test_list_takes_every_spelling_of_a_task(capsys, spelling):
    data = run_json(capsys, "list", "--task", spelling)
    assert [d["name"] for d in data] == available("multi-class")
    code, out, _ = run(capsys, "list", "--task", spelling)
    assert code == 0 and f"{len(data)} losses for multi-class" in out


# ------------------------------------------------------------------- explain


def test_explain_huber_shows_formula_options_use_and_example(capsys):
    code, out, _ = run(capsys, "explain", "huber")
    assert code == 0
    info, guide = get_loss("huber"), guide_entry("huber")
    # the formula, rendered from the docstring's LaTeX: one line per case
    assert "ℓ_i = { ½ e_i²" in out and "if |e_i| ≤ δ" in out and "otherwise," in out
    assert "e_i = ŷ_i - y_i" in out and "\\ell" not in out
    assert "delta" in out and info.declared_options["delta"].doc[:40] in out
    assert guide.good_for[0] in out and guide.not_good_for[0] in out
    assert "losskit.torch.Huber()" in out and "losskit.huber(pred, target)" in out
    assert "Huber, P. J. (1964)" in out


def test_explain_lists_the_shared_arguments_and_a_loss_own_mean(capsys):
    """reduction, weights and normalizer under Options; ctc's per-target-length mean is
    said beside the shared rule, which alone would describe it wrongly."""
    _, out, _ = run(capsys, "explain", "mse")
    assert "reduction = 'mean'" in out and "weights = None" in out
    assert "normalizer = None" in out and "target length" not in out
    _, ctc, _ = run(capsys, "explain", "ctc")
    assert "divides each by its target length" in ctc
    assert run_json(capsys, "explain", "ctc")["reduction_note"] == get_loss("ctc").reduction_note
    assert run_json(capsys, "explain", "mse")["reduction_note"] == ""


def test_explain_with_options_puts_them_in_the_example(capsys):
    data = run_json(capsys, "explain", "huber:delta=2.5")
    assert data["example_options"] == {"delta": 2.5}
    assert "losskit.huber(pred, target, delta=2.5)" in data["examples"]["numpy"]
    assert data["formula"] == get_loss("huber").formula


def test_explain_unknown_loss_exits_2_naming_it(capsys):
    code, out, err = run(capsys, "explain", "hubber")
    assert code == 2 and out == ""
    assert err == (
        "losskit explain: error: loss must be a registered loss; got 'hubber'. "
        "Did you mean 'huber'?\n"
    )


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [
        ("focal", "did you mean 'binary_focal', 'asymmetric_focal', "),
        ("ce", "did you mean 'sparse_categorical_cross_entropy', "),
        ("iou", "did you mean 'jaccard' or 'box_iou'?"),
    ],
)
def test_explain_names_that_mean_several_losses_lists_them(capsys, typed, suggestion):
    code, _, err = run(capsys, "explain", typed)
    assert code == 2 and suggestion in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("typed", "name", "options"),
    [
        ("Huber", "huber", None),
        ("bce", "binary_cross_entropy", None),
        ("l1", "mae", None),
        ("l2", "mse", None),
        ("dice_loss", "dice", None),
        ("giou", "box_iou", {"variant": "giou"}),
    ],
)
def test_explain_accepts_any_case_and_common_aliases(capsys, typed, name, options):
    data = run_json(capsys, "explain", typed)
    assert data["name"] == name and data.get("example_options") == options
    if options:
        assert "variant='giou'" in data["examples"]["numpy"]


# ----------------------------------------------------------------- recommend


def test_recommend_binary_imbalance(capsys):
    code, out, _ = run(capsys, "recommend", "--task", "binary", "--imbalance", "1:50")
    assert code == 0
    assert "1. binary_cross_entropy" in out
    assert "pos_weight" in out and "50.0" in out
    assert "2. binary_focal" in out
    data = run_json(capsys, "recommend", "--task", "binary", "--imbalance", "1:50")
    assert data[0]["options"] == {"pos_weight": 50.0, "from_logits": True}
    assert data[1]["options"]["alpha"] == 0.75  # the rare positives weigh 3:1


def test_recommend_options_reach_the_advisor(capsys):
    data = run_json(
        capsys, "recommend", "--task", "regression", "--outliers", "--intervals", "--top", "2"
    )
    assert len(data) == 2
    assert data[0]["loss"].startswith("quantile")
    assert data[1]["loss"] == "huber"
    probs = run_json(capsys, "recommend", "--task", "multiclass", "--probabilities")
    assert probs[0]["options"]["from_logits"] is False
    code, out, _ = run(capsys, "recommend", "--task", "binary", "--framework", "pytorch")
    # logits are the PyTorch modules' default: nothing to set
    assert code == 0 and "losskit.torch.BinaryCrossEntropy()" in out


def test_recommend_task_in_any_spelling_and_with_a_typo(capsys):
    spelled = run_json(capsys, "recommend", "--task", "Multi_Class")
    assert spelled == run_json(capsys, "recommend", "--task", "multi-class")
    code, out, err = run(capsys, "recommend", "--task", "segmnetation")
    assert code == 2 and out == ""
    assert err.endswith("got 'segmnetation'. Did you mean 'segmentation'?\n")


def test_recommend_bad_description_exits_2(capsys):
    code, _, err = run(capsys, "recommend", "--task", "binary", "--imbalance", "lots")
    assert code == 2 and "imbalance must be a ratio" in err
    code, _, err = run(capsys, "recommend")
    assert code == 2 and "--task" in err


# ---------------------------------------------------------------------- plot


def test_plot_writes_a_png_that_is_not_blank(capsys, tmp_path):
    from PIL import Image

    out_file = tmp_path / "curves.png"
    code, out, _ = run(capsys, "plot", "mse", "mae", "huber", "log_cosh", "--out", str(out_file))
    assert code == 0 and str(out_file) in out
    assert out_file.stat().st_size > 10_000
    with Image.open(out_file) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width >= 800 and height >= 300
        pixels = np.asarray(image.convert("RGB"))
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 50  # four coloured curves, text, grid: far from a blank canvas
    background = np.all(pixels == 255, axis=-1).mean()
    assert 0.5 < background < 0.99


def test_plot_options_and_svg(capsys, tmp_path):
    out_file = tmp_path / "focal.svg"
    data = run_json(
        capsys,
        "plot",
        "binary_focal:gamma=2",
        "binary_focal:gamma=0",
        "--out",
        str(out_file),
        "--range=0.05,0.95",
        "--title",
        "Focal loss",
    )
    assert data["x"] == "probability" and data["x_range"] == [0.05, 0.95]
    assert [c["options"] for c in data["losses"]] == [{"gamma": 2}, {"gamma": 0}]
    svg = out_file.read_text()
    assert "<svg" in svg and "Focal loss" in svg


def test_plot_errors_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "plot", "mse", "--out", str(tmp_path / "x.jpg"))
    assert code == 2 and ".png or .svg" in err
    code, _, err = run(capsys, "plot", "mse", "hinge", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "share one axis" in err
    code, _, err = run(
        capsys, "plot", "huber:delta=2", "--out", str(tmp_path / "x.png"), "--range", "1"
    )
    assert code == 2 and "LOW,HIGH" in err
    code, _, err = run(capsys, "plot", "mse", "hubber", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "got 'hubber'. Did you mean 'huber'?" in err


def test_a_title_matplotlib_cannot_parse_is_refused_before_drawing(capsys, tmp_path):
    out = tmp_path / "x.png"
    code, _, err = run(capsys, "plot", "mse", "--out", str(out), "--title", "$x^$")
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and "title '$x^$' is not valid matplotlib mathtext" in err
    # one dollar sign is text, an escaped one too, and valid mathtext is drawn
    for title in ("costs $5", r"\$5 and $x^2$"):
        code, _, err = run(capsys, "plot", "mse", "--out", str(out), "--title", title)
        assert code == 0, err


def test_a_defect_is_one_line_and_exit_1(capsys, monkeypatch):
    import losskit.cli.list as list_command

    def broken(args, out):
        raise ZeroDivisionError("float division\nby zero")

    monkeypatch.setattr(list_command, "run", broken)
    code, _, err = run(capsys, "list")
    assert code == 1
    assert err == (
        "losskit list: internal error: ZeroDivisionError: float division by zero "
        "(a bug: please report it; LOSSKIT_DEBUG=1 shows the traceback)\n"
    )
    monkeypatch.setenv("LOSSKIT_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["list"])


def test_plot_accepts_aliases(capsys, tmp_path):
    data = run_json(capsys, "plot", "l2", "L1", "Huber:delta=2", "--out", str(tmp_path / "x.png"))
    assert [(c["name"], c["options"]) for c in data["losses"]] == [
        ("mse", {}),
        ("mae", {}),
        ("huber", {"delta": 2}),
    ]


# ---------------------------------------------------------------------- eval


def test_eval_mse_on_npy_files(capsys, arrays):
    pred, target = np.load(arrays / "p.npy"), np.load(arrays / "t.npy")
    data = run_json(
        capsys, "eval", "mse", "--pred", str(arrays / "p.npy"), "--target", str(arrays / "t.npy")
    )
    assert data["value"] == pytest.approx(np.mean((pred - target) ** 2))
    assert data["breakdown"]["kind"] == "sample"
    rows = data["breakdown"]["rows"]
    assert [r["sample"] for r in rows][:2] == [2, 3]  # the largest errors first
    assert rows[0]["loss"] == pytest.approx(4.0)
    code, out, _ = run(
        capsys, "eval", "mse", "--pred", str(arrays / "p.npy"), "--target", str(arrays / "t.npy")
    )
    assert code == 0 and "mse = 2.0625" in out


def test_eval_with_options_reduction_and_weights(capsys, arrays):
    np.save(arrays / "w.npy", np.array([1.0, 0.0, 0.0, 1.0]))
    data = run_json(
        capsys,
        "eval",
        "huber:delta=0.5",
        "--pred",
        str(arrays / "p.npy"),
        "--target",
        str(arrays / "t.npy"),
        "--weights",
        str(arrays / "w.npy"),
    )
    pred, target = np.load(arrays / "p.npy"), np.load(arrays / "t.npy")
    expected = losskit.huber(pred, target, delta=0.5, weights=np.load(arrays / "w.npy"))
    assert data["value"] == pytest.approx(float(expected))
    summed = run_json(
        capsys,
        "eval",
        "mae",
        "--pred",
        str(arrays / "p.npy"),
        "--target",
        str(arrays / "t.npy"),
        "--reduction",
        "sum",
    )
    assert summed["value"] == pytest.approx(np.sum(np.abs(pred - target)))


def test_eval_per_class_breakdown(capsys, tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(12, 3))
    labels = np.array([0, 1, 2] * 4)
    np.savez(tmp_path / "data.npz", logits=logits, labels=labels)
    data = run_json(
        capsys,
        "eval",
        "sparse_categorical_cross_entropy:from_logits=true",
        "--pred",
        f"{tmp_path / 'data.npz'}:logits",
        "--target",
        f"{tmp_path / 'data.npz'}:labels",
    )
    per_sample = losskit.sparse_categorical_cross_entropy(
        logits, labels, from_logits=True, reduction="none"
    )
    assert data["value"] == pytest.approx(float(per_sample.mean()))
    rows = data["breakdown"]["rows"]
    assert [r["class"] for r in rows] == ["class 0", "class 1", "class 2"]
    for c, row in enumerate(rows):
        assert row["count"] == 4
        assert row["mean_loss"] == pytest.approx(float(per_sample[labels == c].mean()))
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)


def test_eval_binary_breakdown_by_target_value(capsys, tmp_path):
    np.save(tmp_path / "p.npy", np.array([0.9, 0.2, 0.6, 0.1]))
    np.save(tmp_path / "t.npy", np.array([1, 0, 0, 0]))
    data = run_json(
        capsys,
        "eval",
        "binary_cross_entropy",
        "--pred",
        str(tmp_path / "p.npy"),
        "--target",
        str(tmp_path / "t.npy"),
    )
    rows = {r["class"]: r for r in data["breakdown"]["rows"]}
    assert rows["target 1"]["count"] == 1 and rows["target 0"]["count"] == 3
    assert rows["target 1"]["mean_loss"] == pytest.approx(-np.log(0.9))


def test_eval_reads_csv_and_parquet(capsys, tmp_path):
    (tmp_path / "data.csv").write_text("pred,target\n0.5,0\n1.5,1\n-1,1\n")
    data = run_json(
        capsys,
        "eval",
        "mae",
        "--pred",
        f"{tmp_path / 'data.csv'}:pred",
        "--target",
        f"{tmp_path / 'data.csv'}:target",
    )
    assert data["value"] == pytest.approx((0.5 + 0.5 + 2.0) / 3)
    assert data["inputs"]["target"]["dtype"] == "int64"
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(
        pa.table({"pred": [0.5, 1.5, -1.0], "target": [0.0, 1.0, 1.0]}), tmp_path / "d.parquet"
    )
    data = run_json(
        capsys,
        "eval",
        "mse",
        "--pred",
        f"{tmp_path / 'd.parquet'}:pred",
        "--target",
        f"{tmp_path / 'd.parquet'}:target",
    )
    assert data["value"] == pytest.approx((0.25 + 0.25 + 4.0) / 3)


def test_eval_extra_arrays_by_name(capsys, arrays):
    np.save(arrays / "var.npy", np.full(4, 2.0))
    args = [
        "eval",
        "gaussian_nll",
        "--pred",
        str(arrays / "p.npy"),
        "--target",
        str(arrays / "t.npy"),
    ]
    code, _, err = run(capsys, *args)
    assert code == 2 and "needs var: pass --input var=FILE" in err
    data = run_json(capsys, *args, "--input", f"var={arrays / 'var.npy'}")
    pred, target = np.load(arrays / "p.npy"), np.load(arrays / "t.npy")
    assert data["value"] == pytest.approx(
        float(losskit.gaussian_nll(pred, target, np.full(4, 2.0)))
    )


def test_eval_never_unpickles(capsys, tmp_path):
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "t.npy", np.zeros(1))
    code, out, err = run(
        capsys,
        "eval",
        "mse",
        "--pred",
        str(tmp_path / "evil.npy"),
        "--target",
        str(tmp_path / "t.npy"),
    )
    assert code == 2 and out == ""
    assert "evil.npy" in err and "pickling is disabled" in err


@pytest.mark.parametrize(
    "content, suffix, message",
    [
        (b"not numpy at all", ".npy", "not a valid .npy file"),
        (b"PK\x03\x04 broken zip", ".npz", "not a valid .npz file"),
        (b"1,2\n3\n", ".csv", "line 2 has 1 values; expected 2"),
        (b"1,2\n1,x\n", ".csv", "line 2 holds a value that is not a number"),
        (b"1.0\nnan\n", ".csv", "NaN or infinite"),
        (b"not parquet", ".parquet", "not a valid Parquet file"),
        (b"1,2", ".txt", "unsupported file type"),
    ],
)
def test_eval_malformed_files_name_the_file(capsys, tmp_path, content, suffix, message):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(content)
    np.save(tmp_path / "t.npy", np.zeros(2))
    code, _, err = run(
        capsys, "eval", "mse", "--pred", str(bad), "--target", str(tmp_path / "t.npy")
    )
    assert code == 2
    assert str(bad) in err and message in err


def test_eval_shape_mismatch_names_both_files(capsys, arrays):
    code, _, err = run(
        capsys,
        "eval",
        "mse",
        "--pred",
        str(arrays / "p.npy"),
        "--target",
        str(arrays / "short.npy"),
    )
    assert code == 2
    assert "target must have the same shape" in err
    assert "p.npy (4,)" in err and "short.npy (3,)" in err


def test_eval_missing_file_and_unknown_loss(capsys, arrays):
    code, _, err = run(
        capsys, "eval", "mse", "--pred", str(arrays / "nope.npy"), "--target", str(arrays / "t.npy")
    )
    assert code == 2 and "nope.npy: no such file" in err
    code, _, err = run(
        capsys, "eval", "msee", "--pred", str(arrays / "p.npy"), "--target", str(arrays / "t.npy")
    )
    assert code == 2 and "got 'msee'. Did you mean 'mse' or 'msle'?" in err
    data = run_json(
        capsys, "eval", "L2", "--pred", str(arrays / "p.npy"), "--target", str(arrays / "t.npy")
    )
    assert data["loss"] == "mse"
    assert data["value"] == pytest.approx(
        float(losskit.mse(np.load(arrays / "p.npy"), np.load(arrays / "t.npy")))
    )
    code, _, err = run(capsys, "eval", "mse", "--pred", str(arrays / "p.npy"), "--input", "target")
    assert code == 2 and "NAME=FILE" in err


def test_npz_with_several_arrays_needs_a_key(capsys, tmp_path):
    np.savez(tmp_path / "two.npz", a=np.zeros(2), b=np.ones(2))
    code, _, err = run(
        capsys,
        "eval",
        "mse",
        "--pred",
        str(tmp_path / "two.npz"),
        "--target",
        f"{tmp_path / 'two.npz'}:b",
    )
    assert code == 2 and "holds 2 arrays (a, b)" in err


# ------------------------------------------------------------------- command


def test_every_subcommand_is_registered_and_takes_json():
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices
    assert list(choices) == list(SUBCOMMANDS)
    for name, sub in choices.items():
        assert any(a.dest == "json" for a in sub._actions), name


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"losskit {losskit.__version__}\n"


def test_python_dash_m_losskit_runs_the_command():
    src = Path(losskit.__file__).parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    version = subprocess.run(
        [sys.executable, "-m", "losskit", "--version"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert version.returncode == 0 and version.stdout == f"losskit {losskit.__version__}\n"
    typo = subprocess.run(
        [sys.executable, "-m", "losskit", "explain", "hubber"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert typo.returncode == 2 and "Did you mean 'huber'?" in typo.stderr


def test_no_subcommand_prints_help_and_exits_2(capsys):
    code, _, err = run(capsys)
    assert code == 2 and "list" in err and "recommend" in err


def test_rich_and_plain_output_lay_tables_out_alike():
    stream = io.StringIO()
    Output(stream, rich=True, width=120).table(("loss", "tasks"), [("huber", "regression")])
    colour = stream.getvalue()
    plain = io.StringIO()
    Output(plain, rich=False, width=120).table(("loss", "tasks"), [("huber", "regression")])
    lines = ["loss   tasks", "-----  ----------", "huber  regression"]
    assert plain.getvalue().splitlines() == lines
    assert "\x1b[" not in colour and colour.splitlines() == lines  # StringIO: no colour codes


def test_installed_console_script_runs():
    script = shutil.which("losskit", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the losskit script is not installed in this environment")
    result = subprocess.run(
        [script, "list", "--task", "regression"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "huber" in result.stdout and "binary_focal" not in result.stdout
    failed = subprocess.run(
        [script, "explain", "nope"], capture_output=True, text=True, check=False
    )
    assert failed.returncode == 2 and "error:" in failed.stderr


def test_eval_tables_need_their_columns_named(capsys, tmp_path):
    (tmp_path / "d.csv").write_text("id,pred,target\n1,0.5,0\n2,1.5,1\n3,-1,1\n")
    code, _, err = run(
        capsys,
        "eval",
        "mae",
        "--pred",
        str(tmp_path / "d.csv"),
        "--target",
        str(tmp_path / "d.csv"),
    )
    assert code == 2 and "has 3 columns (id, pred, target); pick" in err
    data = run_json(
        capsys,
        "eval",
        "mae",
        "--pred",
        f"{tmp_path / 'd.csv'}:pred",
        "--target",
        f"{tmp_path / 'd.csv'}:target",
    )
    assert data["value"] == pytest.approx(1.0)
    (tmp_path / "s.csv").write_text("id,c0,c1,label\n1,2.0,-1.0,0\n2,0.5,0.3,1\n")
    data = run_json(
        capsys,
        "eval",
        "sparse_categorical_cross_entropy:from_logits=true",
        *("--pred", f"{tmp_path / 's.csv'}:c0,c1", "--target", f"{tmp_path / 's.csv'}:label"),
    )
    logits = np.array([[2.0, -1.0], [0.5, 0.3]])
    expected = losskit.sparse_categorical_cross_entropy(logits, np.array([0, 1]), from_logits=True)
    assert data["inputs"]["pred"]["shape"] == [2, 2] and data["value"] == pytest.approx(
        float(expected)
    )


def test_eval_warns_when_pred_and_target_are_the_same(capsys, arrays):
    code, out, err = run(
        capsys, "eval", "mse", "--pred", str(arrays / "p.npy"), "--target", str(arrays / "p.npy")
    )
    assert code == 0 and "mse = 0" in out
    assert "warning: pred and target are identical (both read from" in err
    code, _, err = run(
        capsys, "eval", "mse", "--pred", str(arrays / "p.npy"), "--target", str(arrays / "t.npy")
    )
    assert code == 0 and "warning" not in err


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_eval_saves_the_per_element_loss(capsys, arrays, suffix):
    out_file = arrays / f"loss{suffix}"
    data = run_json(
        capsys,
        "eval",
        "mae",
        *("--pred", str(arrays / "p.npy"), "--target", str(arrays / "t.npy")),
        *("--reduction", "none", "--save", str(out_file)),
    )
    saved = np.load(out_file) if suffix == ".npy" else np.loadtxt(out_file, delimiter=",")
    expected = np.abs(np.load(arrays / "p.npy") - np.load(arrays / "t.npy"))
    np.testing.assert_allclose(saved, expected)
    assert (
        data["saved"] == {"file": str(out_file), "shape": [4]}
        and data["value"] == expected.tolist()
    )
    code, _, err = run(
        capsys,
        "eval",
        "mae",
        "--pred",
        str(arrays / "p.npy"),
        "--target",
        str(arrays / "t.npy"),
        "--save",
        str(arrays / "x.txt"),
    )
    assert code == 2 and "use a .npy or .csv file" in err


def _bash_completions(script: str, *words: str) -> list[str]:
    """What bash's completion function offers for the command line ``words`` (the last
    word is the one being completed)."""
    line = " ".join(shlex.quote(w) for w in words)
    program = f'{script}\nCOMP_WORDS=(losskit {line}); COMP_CWORD={len(words)}; _losskit; printf "%s\\n" "${{COMPREPLY[@]}}"'
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_completion_offers_commands_options_choices_tasks_and_losses(capsys):
    code, script, _ = run(capsys, "completion", "bash")
    assert code == 0
    assert _bash_completions(script, "ex") == ["explain"]
    assert _bash_completions(script, "explain", "hub") == ["huber"]
    assert set(_bash_completions(script, "plot", "")) == set(available())
    assert _bash_completions(script, "list", "--task", "multi") == ["multi-class", "multi-label"]
    assert _bash_completions(script, "explain", "--framework", "py") == ["pytorch"]
    assert _bash_completions(script, "plot", "--o") == ["--out"]
    assert _bash_completions(script, "completion", "") == ["bash", "zsh", "fish"]


def test_zsh_and_fish_completion_scripts_name_every_command_and_loss(capsys):
    parser = build_parser()
    for shell in ("zsh", "fish"):
        code, script, _ = run(capsys, "completion", shell)
        assert code == 0
        for name in (*SUBCOMMANDS, *available()):
            assert name in script, (shell, name)
        for sub in parser._actions[-1].choices.values():  # every option of every command
            for action in sub._actions:
                for option in action.option_strings:
                    spelled = option if shell == "zsh" else f"-l {option[2:]}"
                    assert spelled in script or option == "-h", (shell, option)

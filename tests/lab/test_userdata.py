"""``losskit lab --data FILE``: the comparison on the user's table, and the bad-file errors."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from losskit import LossInputError
from losskit.lab.userdata import DEFAULT_LOSSES, load_user_data, parse_losses, trainable_losses


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def regression_rows(n: int = 60, seed: int = 0) -> tuple[list[str], list[list[Any]]]:
    """y = a - 2 b + 1.5 [colour = red] + noise."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    y = a - 2 * b + 1.5 * (colour == "red") + rng.normal(0, 0.3, size=n)
    rows = [[f"{a[i]:.4f}", f"{b[i]:.4f}", colour[i], f"{y[i]:.4f}"] for i in range(n)]
    return ["a", "b", "colour", "y"], rows


def classification_rows(
    n: int = 60, classes: int = 2, seed: int = 0
) -> tuple[list[str], list[list[Any]]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    score = x[:, 0] + 0.5 * x[:, 1]
    edges = np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1])
    label = np.searchsorted(edges, score)
    names = ["cat", "dog", "owl", "fox"][:classes] if classes > 2 else ["no", "yes"]
    rows = [[f"{v:.4f}" for v in x[i]] + [names[label[i]]] for i in range(n)]
    return ["x1", "x2", "x3", "label"], rows


# ------------------------------------------------------------------ the comparison


def test_regression_file_end_to_end(tmp_path: Path, run_lab, check_html) -> None:  # type: ignore[no-untyped-def]
    data = write_csv(tmp_path / "table.csv", *regression_rows())
    run = run_lab(
        "--data", str(data), "--target", "y", "--task", "regression",
        "--losses", "mse,huber:delta=0.5,mae", "--folds", "3", "--quick", "--json",
    )  # fmt: skip
    assert run.code == 0, run.err
    (scenario,) = run.numbers["scenarios"]
    assert scenario["repeat_name"] == "fold" and scenario["repeats"] == [0, 1, 2]
    assert [loss["label"] for loss in scenario["losses"]] == ["mse", "huber:delta=0.5", "mae"]
    assert scenario["baseline"] == "mse"
    assert scenario["losses"][1]["code"] == "losskit.torch.Huber(delta=0.5)"
    assert "colour (3 values)" in scenario["description"]
    assert "60 rows, 5 features" in scenario["description"]  # a, b and three colours
    for loss in scenario["losses"]:
        for run_ in loss["runs"]:
            metrics = run_["metrics"]
            assert 0 < metrics["mae"] <= metrics["rmse"]
            assert metrics["r2"] <= 1
    # a noisy linear relation: even the quick mode learns most of it
    assert max(loss["summary"]["r2"]["mean"] for loss in scenario["losses"]) > 0.6
    check_html(run.report / "report.html")
    assert (run.report / "user-metrics.png").is_file()


def test_binary_file_with_text_labels(tmp_path: Path, run_lab) -> None:  # type: ignore[no-untyped-def]
    data = write_csv(tmp_path / "binary.csv", *classification_rows())
    run = run_lab(
        "--data",
        str(data),
        "--target",
        "label",
        "--task",
        "binary",
        "--folds",
        "3",
        "--quick",
        "--json",
    )
    assert run.code == 0, run.err
    (scenario,) = run.numbers["scenarios"]
    assert "Positive class: 'yes'" in scenario["description"]
    labels = [loss["label"] for loss in scenario["losses"]]
    assert labels == [
        "binary_cross_entropy",
        "binary_cross_entropy:pos_weight=auto",
        "binary_focal",
    ]
    assert "pos_weight=negatives / positives" in scenario["losses"][1]["code"]
    ap = [
        run_["metrics"]["average_precision"] for loss in scenario["losses"] for run_ in loss["runs"]
    ]
    assert all(0.5 < v <= 1 for v in ap)  # about half the rows are positive; easy data


def test_multiclass_parquet_file(tmp_path: Path, run_lab) -> None:  # type: ignore[no-untyped-def]
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    header, rows = classification_rows(n=90, classes=3)
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    table = pa.table(
        {**{k: [float(v) for v in columns[k]] for k in header[:-1]}, "label": columns["label"]}
    )
    path = tmp_path / "three.parquet"
    pq.write_table(table, path)
    run = run_lab(
        "--data", str(path), "--target", "label", "--task", "multiclass", "--folds", "3",
        "--losses", "sparse_categorical_cross_entropy,categorical_cross_entropy", "--quick", "--json",
    )  # fmt: skip
    assert run.code == 0, run.err
    (scenario,) = run.numbers["scenarios"]
    assert "3 classes" in scenario["description"]
    for loss in scenario["losses"]:
        for run_ in loss["runs"]:
            assert run_["metrics"]["accuracy"] > 1 / 3  # better than chance
            assert 0 <= run_["metrics"]["ece"] <= 1


def test_folds_are_stratified_and_cover_every_row(tmp_path: Path) -> None:
    from losskit.lab.userdata import UserDataScenario

    data = write_csv(tmp_path / "t.csv", *classification_rows(n=60, classes=3))
    user = load_user_data(data, "label", "multiclass", folds=4)
    scenario = UserDataScenario(user, parse_losses(None, "multiclass"), folds=4, seed=0)
    assert sorted(np.bincount(scenario.assignment)) == [15, 15, 15, 15]
    for fold in range(4):
        counts = np.bincount(user.y[scenario.assignment == fold], minlength=3)
        assert counts.max() - counts.min() <= 1


# ------------------------------------------------------------------------ errors


def bad(tmp_path: Path, header: list[str], rows: list[list[Any]], **kwargs: Any) -> str:
    path = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(LossInputError) as info:
        load_user_data(
            path,
            kwargs.get("target", "y"),
            kwargs.get("task", "regression"),
            folds=kwargs.get("folds", 5),
        )
    message = str(info.value)
    assert str(path) in message  # every error names the file
    return message


def test_missing_file_and_wrong_suffix(tmp_path: Path) -> None:
    with pytest.raises(LossInputError, match="no such file"):
        load_user_data(tmp_path / "nope.csv", "y", "regression", folds=5)
    (tmp_path / "table.xlsx").write_text("y\n1\n")
    with pytest.raises(LossInputError, match=r"expected a \.csv or \.parquet file; got '\.xlsx'"):
        load_user_data(tmp_path / "table.xlsx", "y", "regression", folds=5)


def test_missing_target_column(tmp_path: Path) -> None:
    header, rows = regression_rows()
    message = bad(tmp_path, header, rows, target="price")
    assert "has no column 'price' (--target)" in message and "a, b, colour, y" in message


def test_non_numeric_feature_cell(tmp_path: Path) -> None:
    header, rows = regression_rows()
    rows[7][1] = "twelve"
    message = bad(tmp_path, header, rows)
    assert "feature column 'b' is numeric except for 'twelve' in data row 8 (line 9)" in message


def test_text_column_with_too_many_values(tmp_path: Path) -> None:
    header, rows = regression_rows()
    for i, row in enumerate(rows):
        row[2] = f"id-{i}"
    message = bad(tmp_path, header, rows)
    assert "'colour' is not numeric and has 60 distinct values" in message
    assert "at most 20" in message


def test_nan_and_empty_targets(tmp_path: Path) -> None:
    header, rows = regression_rows()
    rows[3][3] = "NaN"
    rows[9][3] = ""
    message = bad(tmp_path, header, rows)
    assert (
        "target column 'y' has 2 missing (empty or NaN) value(s), the first in data row 4"
        in message
    )


def test_non_numeric_regression_target(tmp_path: Path) -> None:
    header, rows = classification_rows()
    message = bad(tmp_path, header, rows, target="label")
    assert "target column 'label' must be numeric for --task regression" in message


def test_single_class_and_wrong_class_counts(tmp_path: Path) -> None:
    header, rows = classification_rows()
    single = [[*row[:-1], "yes"] for row in rows]
    message = bad(tmp_path, header, single, target="label", task="binary")
    assert "holds a single class ('yes')" in message
    header, rows = classification_rows(classes=3)
    message = bad(tmp_path, header, rows, target="label", task="binary")
    assert "holds 3 classes" in message and "use --task multi-class" in message
    rows[0][-1] = "fox"  # a class with one row
    message = bad(tmp_path, header, rows, target="label", task="multiclass", folds=3)
    assert "class 'fox'" in message and "has 1 row(s)" in message and "--folds 3" in message


def test_too_few_rows_and_missing_feature_values(tmp_path: Path) -> None:
    header, rows = regression_rows(n=12)
    message = bad(tmp_path, header, rows)
    assert "has 12 data rows; the lab needs at least 20" in message
    header, rows = regression_rows()
    rows[5][0] = "NA"
    message = bad(tmp_path, header, rows)
    assert "feature column 'a' has 1 missing value(s), the first in data row 6" in message
    assert "does not impute" in message


def test_malformed_csv(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("")
    with pytest.raises(LossInputError, match="the file is empty"):
        load_user_data(path, "y", "regression", folds=5)
    path.write_text("a,a,y\n1,2,3\n")
    with pytest.raises(LossInputError, match=r"column name\(s\) \['a'\] appear more than once"):
        load_user_data(path, "y", "regression", folds=5)
    path.write_text("a,b,y\n1,2,3\n4,5\n")
    with pytest.raises(LossInputError, match="line 3 has 2 values; the header has 3"):
        load_user_data(path, "y", "regression", folds=5)


def test_constant_target_and_target_only(tmp_path: Path) -> None:
    header, rows = regression_rows()
    constant = [[*row[:-1], "1.0"] for row in rows]
    assert "same value in every row" in bad(tmp_path, header, constant)
    only = [[row[-1]] for row in rows]
    assert "no feature column besides the target 'y'" in bad(tmp_path, ["y"], only)


def test_loss_list_errors() -> None:
    with pytest.raises(
        LossInputError, match="'dice' is not a loss the lab trains for --task regression"
    ):
        parse_losses("mse,dice", "regression")
    with pytest.raises(LossInputError, match="--losses: 'huber' has no option 'beta'"):
        parse_losses("huber:beta=2", "regression")
    with pytest.raises(LossInputError, match="must be written option=value; got '2'"):
        parse_losses("huber:2", "regression")
    with pytest.raises(LossInputError, match="the lab sets from_logits of binary_focal itself"):
        parse_losses("binary_focal:from_logits=false", "binary")
    with pytest.raises(LossInputError, match=r"--losses: loss must be a .* Did you mean 'huber'"):
        parse_losses("hubber", "regression")
    with pytest.raises(LossInputError, match="only pos_weight can be 'auto'"):
        parse_losses("binary_focal:gamma=auto", "binary")
    with pytest.raises(LossInputError, match=r"\['mse'\] given more than once"):
        parse_losses("mse,mse", "regression")
    with pytest.raises(LossInputError, match="delta"):
        parse_losses("huber:delta=-1", "regression")  # the module refuses the value now


def test_trainable_losses_come_from_the_registry() -> None:
    # derived from each loss's tasks, arrays and input forms; these were the hand-written lists
    assert set(trainable_losses("regression")) == {
        "mse", "mae", "huber", "smooth_l1", "log_cosh", "quantile", "pseudo_huber", "msle", "mape"
    }  # fmt: skip
    assert set(trainable_losses("binary")) == {
        "binary_cross_entropy", "binary_focal", "hinge", "squared_hinge", "asymmetric_focal"
    }  # fmt: skip
    assert set(trainable_losses("multiclass")) == {
        "sparse_categorical_cross_entropy",
        "sparse_categorical_focal",
        "categorical_cross_entropy",
        "categorical_focal",
        "generalized_cross_entropy",
    }
    for task, default in DEFAULT_LOSSES.items():
        assert {c.name for c in parse_losses(default, task)} <= set(trainable_losses(task))


@pytest.mark.parametrize("spelling", ["multi-class", "multiclass", "Multi_Class", "MULTICLASS"])
def test_the_task_takes_every_spelling(tmp_path: Path, spelling: str) -> None:
    data = write_csv(tmp_path / "t.csv", *classification_rows(n=60, classes=3))
    assert load_user_data(data, "label", spelling, folds=4).task == "multi-class"
    assert parse_losses(None, spelling) == parse_losses(None, "multi-class")


def test_a_task_the_lab_cannot_run_is_refused(tmp_path: Path, run_lab) -> None:  # type: ignore[no-untyped-def]
    data = write_csv(tmp_path / "table.csv", *regression_rows())
    run = run_lab("--data", str(data), "--target", "y", "--task", "segmentation")
    assert run.code == 2
    assert "--task must be one of regression, binary, multi-class; got 'segmentation'" in run.err
    run = run_lab("--data", str(data), "--target", "y", "--task", "regresion")
    assert run.code == 2 and "Did you mean 'regression'?" in run.err


def test_loss_list_sets_logits_and_reads_values() -> None:
    (focal, smooth) = parse_losses(
        "binary_focal:gamma=1:alpha=0.75,binary_cross_entropy:label_smoothing=0.1", "binary"
    )
    assert dict(focal.options) == {"from_logits": True, "gamma": 1, "alpha": 0.75}
    assert (
        smooth.code() == "losskit.torch.BinaryCrossEntropy(from_logits=True, label_smoothing=0.1)"
    )


def test_cli_errors_exit_2_and_name_the_problem(tmp_path: Path, run_lab) -> None:  # type: ignore[no-untyped-def]
    data = write_csv(tmp_path / "table.csv", *regression_rows())
    run = run_lab("--data", str(data), "--target", "nope", "--task", "regression")
    assert run.code == 2 and "losskit lab: error:" in run.err and "'nope'" in run.err
    run = run_lab("--data", str(data), "--task", "regression")
    assert run.code == 2 and "--data needs --target" in run.err
    run = run_lab(
        "--data", str(data), "--target", "y", "--task", "regression", "--scenarios", "gan"
    )
    assert run.code == 2 and "does not go with --data" in run.err
    run = run_lab("--data", str(data), "--target", "y", "--task", "regression", "--seeds", "3")
    assert run.code == 2 and "--seeds does not go with --data" in run.err
    run = run_lab("--data", str(data), "--target", "y", "--task", "regression", "--folds", "40")
    assert run.code == 2 and "--folds" in run.err
    assert not list(tmp_path.glob("report*/report.html"))  # nothing was written

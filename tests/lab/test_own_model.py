"""The lab on the user's own model: ``losskit.lab.compare``."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import losskit  # noqa: E402
from losskit.errors import LossInputError  # noqa: E402
from losskit.lab import compare, lab_numbers, print_report, write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _digits(rows: int = 360) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x[:rows] / 16.0).astype(np.float32), y[:rows]


def small_net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))


def _run(train, test, losses=("sparse_categorical_cross_entropy",), **kw):  # type: ignore[no-untyped-def]
    kw = {"task": "multi-class", "seeds": 2, "epochs": 4, "batch_size": 32, **kw}
    return compare(small_net, train, test, losses=list(losses), **kw)


def _metrics(lab) -> dict[str, list[dict[str, float]]]:  # type: ignore[no-untyped-def]
    (scenario,) = lab.scenarios
    return {label: [r.result.metrics for r in records] for label, records in scenario.runs.items()}


@pytest.fixture(scope="module")
def digits() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    x, y = _digits()
    return (x[:240], y[:240]), (x[240:], y[240:])


def test_runs_are_deterministic_and_seeds_differ(digits) -> None:  # type: ignore[no-untyped-def]
    train, test = digits
    first, second = _metrics(_run(train, test)), _metrics(_run(train, test))
    assert first == second
    (runs,) = first.values()
    assert runs[0] != runs[1]  # two seeds, two different models


def test_equals_a_scenario_written_by_hand(digits) -> None:  # type: ignore[no-untyped-def]
    """compare() is the lab's own machinery: a Scenario subclass written as the built-in
    ones are, with the same model, split, training and metrics, gives the same numbers."""
    from losskit.lab import Candidate, Scenario, run_scenarios
    from losskit.lab import metrics as m
    from losskit.lab.data import carve_validation
    from losskit.lab.training import TrainConfig

    (x, y), (x_test, y_test) = digits

    class Digits(Scenario):
        name, title, baseline = "digits", "digits", "sparse_categorical_cross_entropy"
        metrics, primary = m.TASK_METRICS["multi-class"], "accuracy"

        def candidates(self):  # type: ignore[no-untyped-def]
            return (Candidate(self.baseline, self.baseline, {"from_logits": True}),)

        def description(self, quick):  # type: ignore[no-untyped-def]
            return "digits"

        def prepare(self, repeat, quick):  # type: ignore[no-untyped-def]
            fit, val = carve_validation(len(y), 0.2, repeat, y)
            return x[fit], y[fit], x[val], y[val], x_test, y_test

        def config(self, quick):  # type: ignore[no-untyped-def]
            return TrainConfig(epochs=4, lr=1e-3, batch_size=32)

        def build_model(self, data, candidate):  # type: ignore[no-untyped-def]
            return small_net()

        def training_pairs(self, data, candidate):  # type: ignore[no-untyped-def]
            return torch.from_numpy(data[0]), torch.from_numpy(data[1])

        def measure(self, model, data, part):  # type: ignore[no-untyped-def]
            xs, ys = data[2:4] if part == "val" else data[4:6]
            return m.task_scores("multi-class", model(torch.from_numpy(xs)).numpy(), ys)

    by_hand = _metrics(run_scenarios([Digits()], seeds=2, progress=False))
    assert _metrics(_run((x, y), (x_test, y_test))) == by_hand


def test_arrays_tensors_and_loaders_give_the_same_numbers(digits) -> None:  # type: ignore[no-untyped-def]
    from torch.utils.data import DataLoader, TensorDataset

    (x, y), test = digits
    arrays = _metrics(_run((x, y), test, seeds=1))
    tensors = _metrics(_run((torch.from_numpy(x), torch.from_numpy(y)), test, seeds=1))
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=50)
    loaded = _metrics(_run(loader, test, seeds=1))
    assert arrays == tensors == loaded
    held = (x[:60], y[:60])
    given = _metrics(_run((x[60:], y[60:]), test, seeds=1, validation=held))
    held_loader = DataLoader(TensorDataset(*map(torch.from_numpy, held)), batch_size=25)
    assert _metrics(_run((x[60:], y[60:]), test, seeds=1, validation=held_loader)) == given
    assert given != arrays


def test_every_kind_of_loss_trains_and_is_labelled(digits, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    train, test = digits

    def my_cross_entropy(pred, target):  # type: ignore[no-untyped-def]
        return torch.nn.functional.cross_entropy(pred, target)

    losses = {
        "spec": "sparse_categorical_focal:gamma=2",
        "module": losskit.torch.SparseCategoricalCrossEntropy(label_smoothing=0.1),
        "combine": losskit.combine(
            {"sparse_categorical_cross_entropy": 1.0, "sparse_categorical_focal": 0.5},
            from_logits=True,
        ),
        "callable": my_cross_entropy,
        "one-hot": "categorical_cross_entropy",
    }
    lab = compare(small_net, train, test, losses=losses, task="multi-class", seeds=1, epochs=3)
    numbers = lab_numbers(lab)
    (scenario,) = numbers["scenarios"]
    assert [loss["label"] for loss in scenario["losses"]] == list(losses)
    # a compare() run has its own budget: the report does not call it a full run
    assert numbers["what_was_run"][0].startswith("Your model (losskit.lab.compare)")
    assert all(run["error"] is None for loss in scenario["losses"] for run in loss["runs"])
    # the same weights at the start: the callable is PyTorch's cross-entropy, which
    # is losskit's with integer labels, and the one-hot form gives the same loss
    values = _metrics(lab)
    for key, value in values["callable"][0].items():
        assert value == pytest.approx(values["one-hot"][0][key], rel=1e-4), key
    files = write_report(lab, tmp_path / "report")
    saved = json.loads(files.json.read_text())
    assert [loss["label"] for loss in saved["scenarios"][0]["losses"]] == list(losses)
    assert "callable" in files.html.read_text()
    labels = [
        c.label
        for c in compare(
            small_net,
            train,
            test,
            losses=[losses["module"], "sparse_categorical_focal"],
            task="multiclass",
            seeds=1,
            epochs=1,
        )
        .scenarios[0]
        .candidates
    ]
    assert labels == [
        "SparseCategoricalCrossEntropy(label_smoothing=0.1)",
        "sparse_categorical_focal",
    ]


def test_the_kept_epoch_is_the_best_validation_epoch(digits) -> None:  # type: ignore[no-untyped-def]
    train, test = digits
    lab = _run(train, test, seeds=1, epochs=11, lr=0.2)
    (record,) = lab.scenarios[0].runs["sparse_categorical_cross_entropy"]
    curve = record.result.curve
    assert curve.epochs == list(range(1, 12))
    best = max(range(len(curve.heldout)), key=lambda i: (curve.heldout[i], i))
    assert curve.best_epoch == curve.epochs[best]
    # the held-out numbers are those of the kept model: refit to that epoch and compare
    again = _run(train, test, seeds=1, epochs=curve.best_epoch, lr=0.2)
    (kept,) = again.scenarios[0].runs["sparse_categorical_cross_entropy"]
    assert kept.result.curve.best_epoch == curve.best_epoch
    assert kept.result.metrics == record.result.metrics
    assert curve.best_epoch < 11  # this run peaks early: the last epoch is not the kept one


def test_binary_and_regression_with_user_metrics() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)).astype(np.float32)
    y_value = x @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + 0.1 * rng.normal(size=200)
    y_class = (y_value > 0).astype(np.int64)

    def net() -> torch.nn.Module:
        return torch.nn.Linear(5, 1)

    binary = compare(
        net,
        (x[:150], y_class[:150]),
        (x[150:], y_class[150:]),
        losses=["binary_cross_entropy:pos_weight=auto", "hinge"],
        task="binary",
        seeds=1,
        epochs=30,
        lr=0.05,
    )
    scores = _metrics(binary)
    assert scores["hinge"][0]["average_precision"] > 0.9  # -1/+1 labels reach the hinge

    def bias(outputs: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(outputs[:, 0] - y))

    regression = compare(
        net,
        (x[:150], y_value[:150]),
        (x[150:], y_value[150:]),
        losses=["mse", "huber:delta=0.5"],
        task="regression",
        metrics={"bias": bias, "max_error": lambda p, y: float(np.max(np.abs(p[:, 0] - y)))},
        better={"bias": "zero", "max_error": "lower"},
        seeds=1,
        epochs=30,
        lr=0.05,
    )
    scenario = regression.scenarios[0].scenario
    assert [m.key for m in scenario.metrics] == ["bias", "max_error"]
    assert scenario.primary == "bias" and scenario.metric("bias").better == "zero"
    assert abs(_metrics(regression)["mse"][0]["bias"]) < 0.5


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        ({"losses": ["no_such_loss"]}, "losses"),
        ({"losses": ["dice"]}, "losses"),  # a segmentation loss for a multi-class task
        ({"losses": [42]}, "losses"),
        ({"losses": ["mse", "mse"]}, "losses"),
        ({"task": "segmentation"}, "task"),
        ({"train": (np.zeros((10, 64), np.float32), np.zeros(9, np.int64))}, "train"),
        ({"test": "not data"}, "test"),
        ({"validation": 1.5}, "validation"),
        ({"seeds": 0}, "seeds"),
        ({"primary": "f1"}, "primary"),
        ({"name": "multiclass"}, "name"),  # a built-in scenario's
        ({"model": lambda: "not a model"}, "model"),
        ({"train": (np.zeros((10, 64), np.float32), np.full(10, 12))}, "train"),
    ],
)
def test_bad_arguments_name_the_argument(digits, change, argument) -> None:  # type: ignore[no-untyped-def]
    train, test = digits
    kwargs = {
        "model": small_net,
        "train": train,
        "test": test,
        "losses": ["sparse_categorical_cross_entropy"],
        "task": "multi-class",
        "seeds": 1,
        "epochs": 1,
        **change,
    }
    with pytest.raises(LossInputError) as error:
        compare(**kwargs)
    assert str(error.value).startswith(argument)


def test_a_loss_that_does_not_fit_the_model_fails_before_training(digits) -> None:  # type: ignore[no-untyped-def]
    train, test = digits

    def no_reduction(pred, target):  # type: ignore[no-untyped-def]
        return torch.nn.functional.cross_entropy(pred, target, reduction="none")

    with pytest.raises(LossInputError, match="losses: no_reduction returns shape"):
        _run(train, test, losses=[no_reduction])


def test_a_lambda_with_jobs_runs_in_process_with_a_warning(digits) -> None:  # type: ignore[no-untyped-def]
    train, test = digits
    with pytest.warns(UserWarning, match="training in this process"):
        lab = compare(
            lambda: small_net(),
            train,
            test,
            losses=["sparse_categorical_cross_entropy"],
            task="multi-class",
            seeds=1,
            epochs=2,
            jobs=2,
        )
    assert lab.jobs == 1


def test_print_report_prints_the_lab_tables(digits, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    train, test = digits
    lab = _run(
        train,
        test,
        losses=["sparse_categorical_cross_entropy", "categorical_focal"],
        seeds=2,
        epochs=2,
    )
    print_report(lab, write_report(lab, tmp_path))
    out = capsys.readouterr().out
    assert "Your model: multi-class (mean ± spread over 2 seeds)" in out
    assert "Best loss per scenario" in out and "categorical_focal" in out
    assert f"Report: {tmp_path / 'report.html'}" in out


def _example(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_pytorch_example_runs(tmp_path: Path) -> None:
    example = _example("own_model_torch")
    lab = example.run(seeds=1, epochs=2)
    files = write_report(lab, tmp_path)
    (scenario,) = json.loads(files.json.read_text())["scenarios"]
    assert [loss["label"] for loss in scenario["losses"]] == [
        "cross-entropy",
        "focal, gamma=2",
        "label smoothing 0.1",
    ]
    assert all(loss["summary"]["accuracy"]["mean"] > 0.5 for loss in scenario["losses"])


def test_the_keras_example_trains_and_reports(tmp_path: Path) -> None:
    """The Keras example, in a fresh process on the suite's Keras backend (JAX): Keras
    picks its backend on first import."""
    pytest.importorskip("keras")
    pytest.importorskip("jax")
    script = """
import importlib.util, json, sys
from losskit.lab import write_report
spec = importlib.util.spec_from_file_location("example", sys.argv[2])
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)
write_report(example.run(seeds=2, epochs=3), sys.argv[1])
# the example's first loss again, and a plain callable that gets (pred, target) in
# losskit's order, not Keras's (y_true, y_pred)
import losskit
from losskit.lab import compare
def bce(pred, target):
    return losskit.binary_cross_entropy(pred, target, from_logits=True)
train, test = example.breast_cancer()
lab = compare(example.small_net, train, test, losses={"spec": "binary_cross_entropy",
              "callable": bce}, task="binary", seeds=1, epochs=3, lr=1e-2, batch_size=32)
print(json.dumps({label: runs[0].result.metrics for label, runs in lab.scenarios[0].runs.items()}))
"""
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(tmp_path),
            str(ROOT / "examples" / "own_model_keras.py"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (scenario,) = json.loads((tmp_path / "results.json").read_text())["scenarios"]
    assert "Keras model" in scenario["description"]
    losses = scenario["losses"]
    assert [loss["label"] for loss in losses] == ["cross-entropy", "focal", "cross-entropy + focal"]
    callable_run = json.loads(done.stdout.strip().splitlines()[-1])
    # deterministic: the same loss, seed and training give the same numbers
    assert callable_run["spec"] == losses[0]["runs"][0]["metrics"]
    for key, value in callable_run["spec"].items():
        assert callable_run["callable"][key] == pytest.approx(value, abs=1e-4), key
    for loss in losses:
        assert len(loss["runs"]) == 2 and loss["runs"][0]["metrics"] != loss["runs"][1]["metrics"]
        for run in loss["runs"]:
            assert run["metrics"]["average_precision"] > 0.9
            curve = run["curve"]
            assert curve["epoch"] == [1, 2, 3]
            best = max(range(3), key=lambda i: (curve["heldout"][i], i))
            assert curve["best_epoch"] == best + 1

"""The quick mode of every built-in scenario, end to end through ``losskit lab``."""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape as html_escape
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from losskit.lab.scenarios import builtin_scenarios

SCENARIOS = [s.name for s in builtin_scenarios()]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def values(scenario: dict[str, Any], metric: str) -> dict[str, list[float]]:
    """{loss label: [metric in each repeat]}"""
    return {
        loss["label"]: [run["metrics"][metric] for run in loss["runs"]]
        for loss in scenario["losses"]
    }


def all_values(scenario: dict[str, Any], metric: str) -> np.ndarray:
    return np.concatenate([v for v in values(scenario, metric).values()])


def check_regression(s: dict[str, Any]) -> None:
    rmse, mae = all_values(s, "rmse"), all_values(s, "mae")
    assert np.all(mae > 0) and np.all(mae <= rmse + 1e-9)  # MAE <= RMSE always
    best = min(loss["summary"]["rmse"]["mean"] for loss in s["losses"])
    # better than predicting a constant: the diabetes targets' standard deviation is 77
    assert best < 77
    assert np.all(np.abs(all_values(s, "bias")) < rmse + 1e-9)  # |mean error| <= RMSE


def check_imbalanced(s: dict[str, Any]) -> None:
    for key in ("average_precision", "recall_at_precision", "f1"):
        v = all_values(s, key)
        assert np.all((v >= 0) & (v <= 1))
    # far better than a random ranking (about 0.05 with one positive in twenty)
    assert np.all(all_values(s, "average_precision") > 0.3)


def check_multiclass(s: dict[str, Any]) -> None:
    assert np.all(all_values(s, "accuracy") > 0.5)  # chance is 0.1
    ece = all_values(s, "ece")
    assert np.all((ece >= 0) & (ece <= 1))
    assert np.all(all_values(s, "nll") > 0)
    accuracy = values(s, "accuracy")
    # one-hot and sparse cross-entropy are the same loss
    np.testing.assert_allclose(accuracy["CE one-hot"], accuracy["sparse CE"], atol=0.02)


def check_segmentation(s: dict[str, Any]) -> None:
    iou, dice = all_values(s, "iou"), all_values(s, "dice")
    assert np.all((iou >= 0) & (iou <= 1))
    assert np.all(dice >= iou - 1e-12)  # per image Dice = 2 IoU / (1 + IoU) >= IoU
    for key in ("empty_correct", "shape_iou"):
        v = all_values(s, key)
        assert np.all((v >= 0) & (v <= 1))
    best = max(loss["summary"]["iou"]["mean"] for loss in s["losses"])
    assert best > 0.4  # predicting nothing scores the share of empty images, about 0.25


def check_gan(s: dict[str, Any]) -> None:
    modes = all_values(s, "modes")
    assert np.all((modes >= 0) & (modes <= 8)) and np.all(modes == np.round(modes))
    assert np.all(all_values(s, "distance") >= 0)
    quality = all_values(s, "quality")
    assert np.all((quality >= 0) & (quality <= 1))


def check_boxes(s: dict[str, Any]) -> None:
    iou = all_values(s, "iou")
    assert np.all((iou >= 0) & (iou <= 1))
    hits = all_values(s, "hit_rate")
    assert np.all((hits >= 0) & (hits <= 1))
    assert max(loss["summary"]["iou"]["mean"] for loss in s["losses"]) > 0.3


def check_denoising(s: dict[str, Any]) -> None:
    # the noisy inputs score about 20 dB and SSIM 0.36: every loss denoises
    assert np.all(all_values(s, "psnr") > 21)
    ssim = all_values(s, "ssim")
    assert np.all((ssim > 0.4) & (ssim <= 1))
    assert np.all((all_values(s, "mae") > 0) & (all_values(s, "mae") < 0.08))  # noise: 0.08


def check_embedding(s: dict[str, Any]) -> None:
    for key in ("recall_at_1", "knn_accuracy"):
        v = all_values(s, key)
        assert np.all((v >= 0) & (v <= 1))
    # chance is about 0.1 for ten digits; every loss learns an embedding that separates them
    assert np.all(all_values(s, "recall_at_1") > 0.8)
    assert np.all(all_values(s, "knn_accuracy") > 0.8)


def check_distillation(s: dict[str, Any]) -> None:
    for key in ("accuracy", "ece", "agreement"):
        v = all_values(s, key)
        assert np.all((v >= 0) & (v <= 1))
    assert np.all(all_values(s, "nll") > 0)
    # chance is 0.1; a student of 8 hidden units learns the digits from 100 of them
    assert np.all(all_values(s, "accuracy") > 0.5)
    accuracy = values(s, "accuracy")
    # at T=1 the teacher's soft targets on its training digits are almost the labels
    np.testing.assert_allclose(
        accuracy["KD T=1, 0.9 soft + 0.1 CE"], accuracy["CE, no teacher"], atol=0.03
    )


def check_sequences(s: dict[str, Any]) -> None:
    assert np.all(
        (all_values(s, "sequence_accuracy") >= 0) & (all_values(s, "sequence_accuracy") <= 1)
    )
    assert np.all(all_values(s, "cer") >= 0)
    accuracy, cer = values(s, "sequence_accuracy"), values(s, "cer")
    # chance of reading a row of 1 to 4 digits exactly is near 0: the aligned baseline
    # reads most rows, and CTC, given no alignment, gets most digits right
    assert np.all(np.asarray(accuracy["frame CE, true alignment"]) > 0.3)
    for label in ("CTC, mean per target length", "CTC, sum per row"):
        assert np.all(np.asarray(cer[label]) < 0.8), (label, cer[label])


def check_preference(s: dict[str, Any]) -> None:
    reward = all_values(s, "reward")
    assert np.all((reward > -1) & (reward <= 1))  # 0 is the reference, 1 the best response
    assert np.all(all_values(s, "kl") >= 0)
    accuracy = all_values(s, "pair_accuracy")
    assert np.all((accuracy >= 0) & (accuracy <= 1))
    # the pairs teach DPO the better responses: a gain over the reference in every seed
    assert np.all(np.asarray(values(s, "reward")[s["baseline"]]) > 0.3)


RANGE_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "regression": check_regression,
    "imbalanced": check_imbalanced,
    "multiclass": check_multiclass,
    "segmentation": check_segmentation,
    "gan": check_gan,
    "boxes": check_boxes,
    "denoising": check_denoising,
    "embedding": check_embedding,
    "distillation": check_distillation,
    "sequences": check_sequences,
    "preference": check_preference,
}


def check_structure(numbers: dict[str, Any], name: str) -> dict[str, Any]:
    assert numbers["mode"] == "quick"
    (scenario,) = numbers["scenarios"]
    assert scenario["name"] == name
    keys = [m["key"] for m in scenario["metrics"]]
    assert scenario["primary_metric"] in keys
    labels = [loss["label"] for loss in scenario["losses"]]
    assert scenario["baseline"] in labels and len(set(labels)) == len(labels) >= 3
    repeats = scenario["repeats"]
    assert len(repeats) >= 2
    for loss in scenario["losses"]:
        assert "losskit.torch." in loss["code"] or loss["code"].startswith("losskit.combine(")
        assert [run["repeat"] for run in loss["runs"]] == repeats
        for run in loss["runs"]:
            assert run["error"] is None
            assert set(run["metrics"]) == set(keys)
            assert all(np.isfinite(v) for v in run["metrics"].values())
            curve = run["curve"]
            assert len(curve["epoch"]) == len(curve["train_loss"]) == len(curve["heldout"]) >= 2
            assert curve["epoch"] == sorted(curve["epoch"])
            # the model kept is the one of the best validation value (the later on a tie)
            chooser = scenario["selection_metric"]
            metric = next(m for m in scenario["metrics"] if m["key"] == chooser)
            sign = {"higher": 1.0, "lower": -1.0}[metric["better"]]
            goodness = [sign * v for v in curve["heldout"]]
            best = max(i for i, g in enumerate(goodness) if g == max(goodness))
            assert curve["best_epoch"] == curve["epoch"][best]
        for key in keys:
            summary = loss["summary"][key]
            runs = [run["metrics"][key] for run in loss["runs"]]
            assert summary["n"] == len(runs)
            assert summary["mean"] == pytest.approx(np.mean(runs))
            assert summary["std"] == pytest.approx(np.std(runs, ddof=1))
    best = scenario["best"]
    assert best["label"] in labels and best["metric"] == scenario["primary_metric"]
    assert scenario["findings"] and scenario["findings"][0].startswith("Best ")
    assert best["label"] in scenario["findings"][0]
    return scenario


@pytest.mark.parametrize("name", SCENARIOS)
def test_quick_scenario_end_to_end(name: str, run_lab, check_html) -> None:  # type: ignore[no-untyped-def]
    run = run_lab("--quick", "--scenarios", name)
    assert run.code == 0, run.err
    numbers = json.loads((run.report / "results.json").read_text())
    scenario = check_structure(numbers, name)
    RANGE_CHECKS[name](scenario)
    # every figure is a PNG on disk and embedded in the self-contained HTML
    figures = scenario["figures"]
    assert {f"{name}-metrics.png", f"{name}-curves.png"} <= set(figures)
    on_disk = []
    for figure in figures:
        png = (run.report / figure).read_bytes()
        assert png.startswith(PNG_SIGNATURE) and len(png) > 5000
        on_disk.append(png)
    html = (run.report / "report.html").read_text()
    assert check_html(run.report / "report.html") == on_disk
    # the terminal table: each loss's mean ± spread of every metric, the best loss in
    # the summary table, and every finding
    for loss in scenario["losses"]:
        for metric in scenario["metrics"]:
            summary = loss["summary"][metric["key"]]
            digits = metric["digits"]
            assert f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f}" in run.out
    # labelled as indicative, said in words, and ending with the command that reproduces it
    assert numbers["command"] == f"losskit lab --scenarios {name} --quick"
    assert f"Reproduce: losskit lab --scenarios {name} --quick" in run.out
    assert "Quick run: indicative only" in run.out and "(quick run: indicative)" in html
    assert html_escape(numbers["command"]) in html.split("Reproduce this report")[1]
    summary_table = run.out.split("Best loss per scenario")[1]
    # the verdict (it may wrap inside its column): each of its words is there
    assert all(word in summary_table for word in scenario["verdict"]["text"].split())
    # the label may wrap inside its column (80 columns here): each of its words is there
    assert all(word in summary_table for word in scenario["best"]["label"].split())
    text = "".join(run.out.split())  # plain text is wrapped, also at hyphens
    for sentence in scenario["findings"]:
        assert "".join(sentence.split()) in text
        assert html_escape(sentence) in html


def test_json_output_is_the_json_file(run_lab) -> None:  # type: ignore[no-untyped-def]
    run = run_lab("--quick", "--scenarios", "imbalanced", "--seeds", "1", "--json")
    assert run.code == 0, run.err
    assert run.numbers == json.loads((run.report / "results.json").read_text())
    assert run.numbers["scenarios"][0]["repeats"] == [0]


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    from losskit.lab.run import run_scenarios
    from losskit.lab.scenarios import ImbalancedBinary, Segmentation

    def runs(scenarios: list[Any], first_seed: int) -> list[Any]:
        lab = run_scenarios(
            scenarios, quick=True, seeds=1, first_seed=first_seed, threads=1, progress=False
        )
        return [
            (label, record.repeat, record.result.metrics, record.result.curve.as_dict())
            for result in lab.scenarios
            for label, records in result.runs.items()
            for record in records
        ]

    both = [ImbalancedBinary(), Segmentation()]
    assert runs(both, 0) == runs(both, 0)
    first, other = runs([ImbalancedBinary()], 0), runs([ImbalancedBinary()], 1)
    assert [r[1] for r in other] == [1] * len(other)
    assert [r[2] for r in other] != [r[2] for r in first]


def test_thread_setting_is_restored() -> None:
    import torch

    from losskit.lab.run import run_scenarios
    from losskit.lab.scenarios import RegressionOutliers

    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    lab = run_scenarios([RegressionOutliers()], quick=True, seeds=1, threads=target, progress=False)
    assert torch.get_num_threads() == before
    assert lab.threads == target


def test_unknown_scenario_and_flags_without_data(run_lab) -> None:  # type: ignore[no-untyped-def]
    run = run_lab("--scenarios", "regression,teleport")
    assert run.code == 2 and "teleport" in run.err and "regression" in run.err
    run = run_lab("--target", "y")
    assert run.code == 2 and "--target goes with --data" in run.err


def test_worker_processes_give_the_same_numbers() -> None:
    from losskit.lab.run import run_scenarios
    from losskit.lab.scenarios import ImbalancedBinary

    def metrics(jobs: int) -> list[Any]:
        lab = run_scenarios(
            [ImbalancedBinary()], quick=True, seeds=1, threads=1, jobs=jobs, progress=False
        )
        return [
            (label, record.repeat, record.result.metrics, record.result.curve.as_dict())
            for label, records in lab.scenarios[0].runs.items()
            for record in records
        ]

    assert metrics(2) == metrics(1)


def test_denoising_one_seed_one_thread(run_lab) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("skimage")
    run = run_lab("--quick", "--scenarios", "denoising", "--seeds", "1")
    assert run.code == 0, run.err
    (scenario,) = json.loads((run.report / "results.json").read_text())["scenarios"]
    assert scenario["repeats"] == [0]
    check_denoising(scenario)


def test_segmentation_boundary_candidate_trains_on_masks_and_their_distance_maps() -> None:
    import torch

    import losskit
    from losskit.lab.scenarios.segmentation import DiceWithBoundary, Segmentation

    scenario = Segmentation()
    data = scenario.prepare(0, quick=True)
    (boundary,) = [c for c in scenario.candidates() if isinstance(c, DiceWithBoundary)]
    x, target = scenario.training_pairs(data, boundary)
    np.testing.assert_array_equal(target[:, :1].numpy(), data.y_train)
    np.testing.assert_array_equal(target[:, 1:].numpy(), losskit.distance_maps(data.y_train))
    # the loss is Dice plus the weighted boundary loss, from the two channels
    logits = torch.randn_like(x)
    loss = scenario.loss_of_batch(boundary, data, torch.nn.Identity(), 0)(logits, target)
    dice = scenario.loss_of_batch(scenario.candidates()[1], data, torch.nn.Identity(), 0)
    expected = dice(logits, target[:, :1]) + boundary.weight * losskit.boundary_loss(
        logits, target[:, 1:], from_logits=True
    )
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    # the other candidates train on the masks alone
    assert scenario.training_pairs(data, scenario.candidates()[0])[1].shape[1] == 1

"""Fair training: each run keeps its best epoch on a validation part, not its last one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from losskit.lab.training import BestCheckpoint, TrainConfig, fit, mlp  # noqa: E402


def test_best_checkpoint_keeps_the_best_weights_and_the_later_of_a_tie() -> None:
    model = torch.nn.Linear(1, 1)
    best = BestCheckpoint(lambda value: -value)  # lower is better
    for step, value in [(1, 5.0), (2, 2.0), (3, 3.0), (4, 2.0), (5, 9.0)]:
        with torch.no_grad():
            model.weight.fill_(float(step))
        best.offer(model, step, value)
    assert best.restore(model) == 4
    assert float(model.weight.detach()) == 4.0


def test_fit_ends_with_the_weights_of_the_best_validation_epoch() -> None:
    # a net that memorises noise: the validation error first falls, then rises
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(40, 5)).astype(np.float32))
    y = x[:, :1] + torch.from_numpy(rng.normal(0, 1.0, size=(40, 1)).astype(np.float32))
    x_val = torch.from_numpy(rng.normal(size=(200, 5)).astype(np.float32))
    y_val = x_val[:, :1]
    torch.manual_seed(0)
    model = mlp(5, (64,), 1)

    def val_error(mod: torch.nn.Module) -> float:
        return float(torch.mean((mod(x_val) - y_val) ** 2))

    curve = fit(
        model,
        torch.nn.functional.mse_loss,
        x,
        y,
        TrainConfig(epochs=300, lr=0.01),
        seed=0,
        heldout_metric=val_error,
        goodness=lambda value: -value,
    )
    assert curve.best_epoch is not None and curve.best_epoch < 300  # it did overfit
    best = curve.heldout[curve.epochs.index(curve.best_epoch)]
    assert best == min(curve.heldout) < curve.heldout[-1]
    with torch.no_grad():
        assert val_error(model) == pytest.approx(best, rel=1e-6)


def test_user_regression_trains_in_the_target_units(tmp_path: Path) -> None:
    from losskit.lab.userdata import UserDataScenario, load_user_data, parse_losses

    rng = np.random.default_rng(0)
    a = rng.normal(size=60)
    y = 5000 + 800 * a + rng.normal(0, 50, size=60)  # targets in the thousands
    path = tmp_path / "t.csv"
    path.write_text("a,y\n" + "".join(f"{u:.4f},{v:.2f}\n" for u, v in zip(a, y, strict=True)))
    data = load_user_data(str(path), "y", "regression", folds=3)
    scenario = UserDataScenario(data, parse_losses("huber:delta=100", "regression"), folds=3)
    fold = scenario.prepare(0, quick=True)
    candidate = scenario.candidates()[0]
    torch.manual_seed(0)
    model = scenario.build_model(fold, candidate)
    x, targets = scenario.training_pairs(fold, candidate)
    # the loss sees the table's values, and the untrained model already predicts about
    # their mean: Huber's delta=100 is 100 in the target's units
    np.testing.assert_allclose(targets[:, 0].numpy(), fold.y_train, rtol=1e-6)
    assert targets.abs().min() > 1000
    with torch.no_grad():
        assert abs(float(model(x).mean()) - float(fold.y_train.mean())) < 800
    # the validation part is carved out of the training folds, disjoint from the test fold
    rows = len(fold.y_train) + len(fold.y_val)
    assert rows == 40 and len(fold.y_val) == 8 and len(fold.y_test) == 20
    assert "in the target's units" in scenario.description(quick=True)

"""The lab on the user's own table: ``losskit lab --data FILE --target COLUMN --task ...``.

The file (CSV with a header row, or Parquet) is read as text cells, checked, and turned
into a numeric feature matrix: numeric columns as they are, text columns with few
distinct values one-hot encoded, anything else refused with a message naming the
column.  Nothing is imputed: a missing value is an error naming the column and row.
The comparison is k-fold cross-validation (stratified for classification) of a small
MLP, features standardised with the training folds' statistics.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from losskit.core.names import normalise_task
from losskit.core.registry import available, get_loss
from losskit.core.specs import parse_loss_specs
from losskit.errors import LossInputError
from losskit.guide.entries import guide_entry
from losskit.lab import metrics as m
from losskit.lab.data import Splits, standardize
from losskit.lab.scenario import (
    AUTO_RULES,
    Candidate,
    Scenario,
    takes_integer_labels,
    takes_sign_labels,
)
from losskit.lab.training import TrainConfig, mlp

__all__ = [
    "DEFAULT_LOSSES",
    "USER_TASKS",
    "UserData",
    "UserDataScenario",
    "load_user_data",
    "parse_losses",
    "read_table",
    "trainable_losses",
]

#: The tasks the lab runs on a user's table (canonical names; ``multiclass`` works too).
USER_TASKS: tuple[str, ...] = ("regression", "binary", "multi-class")

#: The comparison run when ``--losses`` is not given, in ``--losses`` syntax: a curated
#: choice per task (the baseline first, then the usual alternatives), not every loss.
DEFAULT_LOSSES: dict[str, str] = {
    "regression": "mse,mae,huber,log_cosh",
    "binary": "binary_cross_entropy,binary_cross_entropy:pos_weight=auto,binary_focal",
    "multi-class": (
        "sparse_categorical_cross_entropy,"
        "sparse_categorical_cross_entropy:label_smoothing=0.1,sparse_categorical_focal"
    ),
}

#: Options the lab sets itself: the model outputs logits, with classes on the last axis.
_LAB_SET_OPTIONS = ("from_logits", "axis")

#: Cells read as missing values (compared in lower case).
MISSING = frozenset({"", "na", "nan", "n/a", "null", "none"})

#: Text columns with at most this many distinct values are one-hot encoded.
MAX_CATEGORIES = 20

#: Fewest data rows the lab accepts.
MIN_ROWS = 20


# ------------------------------------------------------------------------ reading


@dataclasses.dataclass(frozen=True)
class Table:
    """A table read from a file: column names and, per column, its cells as text (None
    for a missing value)."""

    path: Path
    columns: list[str]
    cells: dict[str, list[str | None]]

    @property
    def rows(self) -> int:
        return len(self.cells[self.columns[0]]) if self.columns else 0


def _cell(text: str) -> str | None:
    text = text.strip()
    return None if text.lower() in MISSING else text


def _read_csv(path: Path) -> Table:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LossInputError(f"--data {path}: not a readable CSV file ({error})") from None
    if not rows:
        raise LossInputError(
            f"--data {path}: the file is empty; expected a header row and data rows"
        )
    header = [c.strip() for c in rows[0]]
    if any(not name for name in header):
        raise LossInputError(
            f"--data {path}: the header row (line 1) has an empty column name; every column "
            "needs a name"
        )
    duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicates:
        raise LossInputError(f"--data {path}: column name(s) {duplicates} appear more than once")
    cells: dict[str, list[str | None]] = {name: [] for name in header}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise LossInputError(
                f"--data {path}: line {line} has {len(row)} values; the header has {len(header)}"
            )
        for name, text in zip(header, row, strict=True):
            cells[name].append(_cell(text))
    return Table(path, header, cells)


def _read_parquet(path: Path) -> Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise LossInputError(
            f"--data {path}: reading .parquet files needs pyarrow (pip install pyarrow); "
            "or save the table as .csv"
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises its own error types for malformed files
        raise LossInputError(f"--data {path}: not a valid Parquet file ({error})") from None
    cells: dict[str, list[str | None]] = {}
    for name in table.column_names:
        values = table.column(name).to_pylist()
        cells[name] = [
            None
            if v is None or (isinstance(v, float) and math.isnan(v))
            else str(int(v))
            if isinstance(v, bool)
            else str(v)
            for v in values
        ]
    return Table(path, list(table.column_names), cells)


def read_table(path: str | Path) -> Table:
    """Read a ``.csv`` (header row first) or ``.parquet`` file as text cells."""
    path = Path(path)
    if not path.exists():
        raise LossInputError(f"--data {path}: no such file")
    if not path.is_file():
        raise LossInputError(f"--data {path}: not a file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise LossInputError(
        f"--data {path}: expected a .csv or .parquet file; got {suffix or 'no suffix'!r}"
    )


# ---------------------------------------------------------------------- checking


def _numbers(cells: list[str | None]) -> tuple[np.ndarray | None, int | None]:
    """(values as float64, None) when every present cell is a number, else
    (None, index of the first cell that is not)."""
    values = np.full(len(cells), np.nan)
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        try:
            values[i] = float(cell)
        except ValueError:
            return None, i
    return values, None


@dataclasses.dataclass(frozen=True)
class UserData:
    """A checked table: features ``x`` [N, F] and targets ``y`` (float targets for
    regression, class indices 0..C-1 for classification)."""

    path: Path
    task: str
    target: str
    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    #: text columns that were one-hot encoded, with their number of categories
    encoded: dict[str, int]
    #: class names in index order (classification), as written in the file
    classes: list[str]


def _row(index: int) -> str:
    return f"data row {index + 1} (line {index + 2})"


def load_user_data(path: str | Path, target: str, task: str, *, folds: int) -> UserData:
    """Read and check the user's table for ``task``; see the module docstring."""
    task = normalise_task(task, among=USER_TASKS, argument="--task")
    table = read_table(path)
    where = f"--data {table.path}"
    if target not in table.columns:
        shown = ", ".join(table.columns[:30]) + (" ..." if len(table.columns) > 30 else "")
        raise LossInputError(
            f"{where}: has no column {target!r} (--target); its columns are {shown}"
        )
    needed = max(MIN_ROWS, 2 * folds)
    if table.rows < needed:
        raise LossInputError(
            f"{where}: has {table.rows} data rows; the lab needs at least {needed} "
            f"(at least {MIN_ROWS}, and 2 per fold with --folds {folds})"
        )
    y, classes = _target(table, target, task, folds, where)
    features = [c for c in table.columns if c != target]
    if not features:
        raise LossInputError(f"{where}: has no feature column besides the target {target!r}")
    blocks, names, encoded = [], [], {}
    for column in features:
        cells = table.cells[column]
        missing = [i for i, c in enumerate(cells) if c is None]
        if missing:
            raise LossInputError(
                f"{where}: feature column {column!r} has {len(missing)} missing value(s), the "
                f"first in {_row(missing[0])}; the lab does not impute: fill or drop them"
            )
        values, bad = _numbers(cells)
        if values is not None:
            if not np.all(np.isfinite(values)):
                first = int(np.flatnonzero(~np.isfinite(values))[0])
                raise LossInputError(
                    f"{where}: feature column {column!r} holds an infinite value in {_row(first)}"
                )
            blocks.append(values[:, None])
            names.append(column)
            continue
        categories = sorted(set(cells))  # type: ignore[type-var]
        numeric_share = sum(_numbers([c])[0] is not None for c in cells) / len(cells)
        if numeric_share >= 0.9:
            raise LossInputError(
                f"{where}: feature column {column!r} is numeric except for {cells[bad]!r} in "
                f"{_row(bad)}; fix that cell or drop the column"  # type: ignore[index]
            )
        if len(categories) > MAX_CATEGORIES:
            raise LossInputError(
                f"{where}: feature column {column!r} is not numeric and has {len(categories)} "
                f"distinct values; the lab one-hot encodes text columns with at most "
                f"{MAX_CATEGORIES} values: drop the column or encode it as numbers"
            )
        encoded[column] = len(categories)
        index = {c: i for i, c in enumerate(categories)}
        blocks.append(np.eye(len(categories))[[index[c] for c in cells]])  # type: ignore[index]
        names += [f"{column}={c}" for c in categories]
    x = np.concatenate(blocks, axis=1).astype(np.float32)
    return UserData(table.path, task, target, x, y, names, encoded, classes)


def _target(
    table: Table, target: str, task: str, folds: int, where: str
) -> tuple[np.ndarray, list[str]]:
    cells = table.cells[target]
    missing = [i for i, c in enumerate(cells) if c is None]
    if missing:
        raise LossInputError(
            f"{where}: target column {target!r} has {len(missing)} missing (empty or NaN) "
            f"value(s), the first in {_row(missing[0])}; drop those rows or fill them"
        )
    if task == "regression":
        values, bad = _numbers(cells)
        if values is None:
            raise LossInputError(
                f"{where}: target column {target!r} must be numeric for --task regression; "
                f"{_row(bad)} holds {cells[bad]!r}"  # type: ignore[index]
            )
        if not np.all(np.isfinite(values)):
            raise LossInputError(f"{where}: target column {target!r} holds infinite values")
        if np.ptp(values) == 0:
            raise LossInputError(
                f"{where}: target column {target!r} has the same value in every row; there is "
                "nothing to regress"
            )
        return values.astype(np.float32), []
    classes = _ordered_classes(cells)
    counts = Counter(cells)
    if len(classes) == 1:
        raise LossInputError(
            f"{where}: target column {target!r} holds a single class ({classes[0]!r}); "
            f"--task {task} needs examples of at least two classes"
        )
    if task == "binary" and len(classes) != 2:
        raise LossInputError(
            f"{where}: target column {target!r} holds {len(classes)} classes "
            f"({', '.join(repr(c) for c in classes[:10])}{' ...' if len(classes) > 10 else ''}); "
            "--task binary needs exactly two: use --task multi-class"
        )
    if task == "multi-class" and len(classes) > max(50, len(cells) // 5):
        raise LossInputError(
            f"{where}: target column {target!r} holds {len(classes)} distinct values in "
            f"{len(cells)} rows, too many for classes; is it a regression target?"
        )
    rare = [c for c in classes if counts[c] < folds]
    if rare:
        raise LossInputError(
            f"{where}: class {rare[0]!r} of target column {target!r} has {counts[rare[0]]} "
            f"row(s); with --folds {folds} every class needs at least {folds} rows (use fewer "
            "folds or merge rare classes)"
        )
    if task == "binary":
        classes = _binary_order(classes, counts)
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[c] for c in cells], dtype=np.int64), classes  # type: ignore[index]


def _ordered_classes(cells: list[str | None]) -> list[str]:
    """Distinct values, numerically sorted when they are all numbers, else alphabetically."""
    distinct = sorted(set(cells))  # type: ignore[type-var]
    try:
        return sorted(distinct, key=float)  # type: ignore[arg-type]
    except ValueError:
        return distinct  # type: ignore[return-value]


def _binary_order(classes: list[str], counts: Counter[Any]) -> list[str]:
    """[negative, positive]: with labels 0/1, -1/1, false/true or no/yes the positive
    class is 1, true or yes; otherwise it is the rarer class (the later one on a tie)."""
    try:
        numbers = {float(c): c for c in classes}
    except ValueError:
        numbers = {}
    if set(numbers) in ({0.0, 1.0}, {-1.0, 1.0}):
        return [c for c in classes if c != numbers[1.0]] + [numbers[1.0]]
    lowered = {c.lower(): c for c in classes}
    for positive in ("true", "yes"):
        if positive in lowered and set(lowered) in ({"false", "true"}, {"no", "yes"}):
            return [c for c in classes if c != lowered[positive]] + [lowered[positive]]
    first, second = classes
    return [second, first] if counts[first] < counts[second] else [first, second]


# --------------------------------------------------------------------- the losses


def trainable_losses(task: str) -> tuple[str, ...]:
    """The registered losses the lab can train on a table for ``task``: one model output
    per row (not masks, whose losses score a set of pixels) against the task's target,
    read from each loss's metadata.

    - regression: real-valued predictions and targets, and no third array;
    - binary: logits against 0/1 labels, or scores against -1/1 labels;
    - multi-class: logits against integer or one-hot class labels.
    """
    task = normalise_task(task, among=USER_TASKS, argument="--task")
    wanted = {
        "regression": lambda forms: "real values" in forms,
        "binary": lambda forms: (
            {"logits", "binary labels"} <= forms or {"scores", "sign labels"} <= forms
        ),
        "multi-class": lambda forms: (
            "logits" in forms and bool({"integer labels", "one-hot labels"} & forms)
        ),
    }[task]
    names = []
    for name in available(task):
        info = get_loss(name)
        forms = set(guide_entry(info.name).input_forms)
        if info.arrays == ("pred", "target") and "masks" not in forms and wanted(forms):
            names.append(name)
    return tuple(names)


def parse_losses(spec: str | None, task: str) -> tuple[Candidate, ...]:
    """Candidates from ``--losses``: comma-separated ``NAME`` or ``NAME:OPTION=VALUE:...``,
    for example ``mse,huber:delta=2,quantile:q=0.5`` (the syntax of
    :func:`losskit.core.specs.parse_loss_specs`); ``pos_weight=auto`` is the class
    ratio negatives / positives of the training folds."""
    task = normalise_task(task, among=USER_TASKS, argument="--task")
    spec = DEFAULT_LOSSES[task] if spec is None else spec
    allowed = trainable_losses(task)
    try:
        parsed = parse_loss_specs(spec, auto_options=tuple(AUTO_RULES))
    except LossInputError as error:
        raise LossInputError(f"--losses: {error}") from None
    candidates = []
    for text, name, options in parsed:
        if name not in allowed:
            raise LossInputError(
                f"--losses: {name!r} is not a loss the lab trains for --task {task}; choose "
                f"from {', '.join(allowed)}"
            )
        info = get_loss(name)
        fixed = [key for key in options if key in _LAB_SET_OPTIONS]
        if fixed:
            settable = [o for o in info.options if o not in _LAB_SET_OPTIONS]
            raise LossInputError(
                f"--losses: the lab sets {fixed[0]} of {name} itself; the options you can set "
                f"are {', '.join(settable) or 'none'}"
            )
        if "from_logits" in info.options:
            options = {"from_logits": True, **options}
        candidate = Candidate(text, name, options)
        candidate.build({"pos_weight": 1.0})  # a bad option value fails now, not mid-run
        candidates.append(candidate)
    if not candidates:
        raise LossInputError("--losses: no loss given")
    labels = [c.label for c in candidates]
    repeated = sorted(label for label, count in Counter(labels).items() if count > 1)
    if repeated:
        raise LossInputError(f"--losses: {repeated} given more than once")
    return tuple(candidates)


# ---------------------------------------------------------------------- scenario


def _folds(y: np.ndarray, folds: int, seed: int, stratified: bool) -> np.ndarray:
    """Fold index of every row: scikit-learn's shuffled ``StratifiedKFold`` (for
    classes) or ``KFold``."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (
        StratifiedKFold(folds, shuffle=True, random_state=seed)
        if stratified
        else KFold(folds, shuffle=True, random_state=seed)
    )
    assignment = np.empty(len(y), dtype=np.int64)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        assignment[test] = fold
    return assignment


@dataclasses.dataclass(frozen=True)
class _Fold(Splits):
    """One fold: the training part (``x_train``, ``y_train``), the validation part carved
    out of it, and the held-out fold; targets as in the table (regression targets in
    the target's units)."""

    #: the training targets' mean and standard deviation (regression)
    center: float = 0.0
    scale: float = 1.0


class _TargetUnits(torch.nn.Module):
    """The network's output ``z`` to the target's units, ``center + scale * z``: the net
    works on standardised numbers while the loss (and every option of it, such as
    Huber's delta) sees the target's units."""

    def __init__(self, net: torch.nn.Module, center: float, scale: float) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("center", torch.tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.center + self.scale * self.net(x)


#: Share of each fold's training part set aside to choose the epoch.
VALIDATION_SHARE = 0.2


class UserDataScenario(Scenario):
    """k-fold cross-validation of each candidate loss on the user's table."""

    repeat_name = "fold"

    def __init__(
        self,
        data: UserData,
        candidates: tuple[Candidate, ...],
        *,
        folds: int = 5,
        seed: int = 0,
    ) -> None:
        if not 2 <= folds <= len(data.y) // 2:
            raise LossInputError(
                f"--folds must be between 2 and {len(data.y) // 2} for {len(data.y)} rows; got {folds}"
            )
        self.data = data
        self._candidates = candidates
        self.folds = folds
        self.seed = seed
        self.name = "user"
        self.title = f"{data.path.name}: {data.task}, target {data.target!r}"
        self.metrics = m.TASK_METRICS[data.task]
        if data.task == "regression":
            # errors are in the target's units: show about three significant digits
            digits = int(np.clip(2 - math.floor(math.log10(float(np.std(data.y)))), 0, 6))
            self.metrics = tuple(
                dataclasses.replace(metric, digits=digits) if metric.key != "r2" else metric
                for metric in self.metrics
            )
        self.primary = m.TASK_PRIMARY[data.task]
        self.baseline = candidates[0].label
        self.curve_metric = f"validation {self.metric(self.primary).label}"
        self.assignment = _folds(data.y, folds, seed, stratified=data.task != "regression")

    def candidates(self) -> tuple[Candidate, ...]:
        return self._candidates

    def repeats(self, quick: bool, count: int | None, first_seed: int) -> list[int]:
        return list(range(self.folds))

    def _config(self, quick: bool, rows: int) -> TrainConfig:
        steps = 150 if quick else 400
        if rows <= 2048:
            return TrainConfig(epochs=steps, lr=0.003, weight_decay=1e-4)
        batch = 256
        epochs = max(2, math.ceil(steps / math.ceil(rows / batch)))
        return TrainConfig(epochs=epochs, lr=0.003, batch_size=batch, weight_decay=1e-4)

    def _fit_rows(self) -> int:
        """Rows a model trains on: the training folds less the validation part."""
        rows = len(self.data.y) - len(self.data.y) // self.folds
        return rows - math.ceil(VALIDATION_SHARE * rows)

    def config(self, quick: bool) -> TrainConfig:
        return self._config(quick, self._fit_rows())

    def command_args(self) -> list[str]:
        d = self.data
        return [
            "--data", str(d.path), "--target", d.target, "--task", d.task,
            "--losses", ",".join(c.label for c in self._candidates),
            "--folds", str(self.folds),
        ]  # fmt: skip

    def description(self, quick: bool) -> str:
        d = self.data
        rows, features = d.x.shape
        parts = [
            f"{d.path.name}: {rows} rows, {features} features after encoding; target "
            f"{d.target!r}, task {d.task}."
        ]
        if d.encoded:
            parts.append(
                "One-hot encoded text columns: "
                + ", ".join(f"{c} ({n} values)" for c, n in d.encoded.items())
                + "."
            )
        if d.task == "binary":
            positives = int(d.y.sum())
            parts.append(
                f"Positive class: {d.classes[1]!r} ({positives} of {rows} rows); negative: "
                f"{d.classes[0]!r}."
            )
        elif d.task == "multi-class":
            parts.append(f"{len(d.classes)} classes.")
        config = self.config(quick)
        batch = (
            "the full training part"
            if config.batch_size is None
            else f"batches of {config.batch_size}"
        )
        parts.append(
            f"{self.folds}-fold cross-validation"
            + (" (stratified by class)" if d.task != "regression" else "")
            + f", split with seed {self.seed}; in each fold, {VALIDATION_SHARE:.0%} of the "
            "training folds"
            + (" (stratified)" if d.task != "regression" else "")
            + " is the validation set, and features are standardised with the rest's "
            "statistics. Model: a multi-layer perceptron with one hidden layer of 64 units, "
            f"trained with Adam on {batch} for up to {config.epochs} epochs."
        )
        if d.task == "regression":
            parts.append(
                "The network works on standardised targets and its output is converted to "
                "the target's units before the loss, so the losses and their options (such "
                "as Huber's delta) and every error below are in the target's units."
            )
        return " ".join(parts)

    def prepare(self, repeat: int, quick: bool) -> _Fold:
        from losskit.lab.data import carve_validation

        test = self.assignment == repeat
        x, y = self.data.x[~test], self.data.y[~test]
        classes = self.data.task != "regression"
        # stratified when every class has two rows to share out
        counts = np.bincount(y) if classes else np.zeros(1)
        stratify = y if classes and counts[counts > 0].min() >= 2 else None
        fit, val = carve_validation(len(y), VALIDATION_SHARE, self.seed + repeat, stratify)
        x_fit, x_val, x_test = standardize(x[fit], x[val], self.data.x[test])
        y_fit, y_val, y_test = y[fit], y[val], self.data.y[test]
        if classes:
            return _Fold(x_fit, y_fit, x_val, y_val, x_test, y_test)
        return _Fold(
            x_fit,
            y_fit.astype(np.float32),
            x_val,
            y_val.astype(np.float64),
            x_test,
            y_test.astype(np.float64),
            float(y_fit.mean()),
            float(y_fit.std()) or 1.0,
        )

    def model_seed(self, repeat: int) -> int:
        return self.seed + repeat

    def _outputs(self) -> int:
        return len(self.data.classes) if self.data.task == "multi-class" else 1

    def build_model(self, data: _Fold, candidate: Candidate) -> torch.nn.Module:
        net = mlp(data.x_train.shape[1], (64,), self._outputs())
        if self.data.task == "regression":
            return _TargetUnits(net, data.center, data.scale)
        return net

    def loss_of_batch(
        self, candidate: Candidate, data: _Fold, model: torch.nn.Module, seed: int
    ) -> Any:
        negatives_per_positive = float(
            (data.y_train == 0).sum() / max((data.y_train == 1).sum(), 1)
        )
        return candidate.build({"pos_weight": negatives_per_positive})

    def training_pairs(
        self, data: _Fold, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        task = self.data.task
        labels = torch.from_numpy(data.y_train)
        if task == "regression":
            targets = labels[:, None]
        elif task == "binary":
            targets = labels[:, None].float()
            if takes_sign_labels(candidate.name):
                targets = 2.0 * targets - 1.0
        elif takes_integer_labels(candidate.name):
            targets = labels
        else:
            targets = torch.nn.functional.one_hot(labels, self._outputs()).float()
        return torch.from_numpy(data.x_train), targets

    def measure(self, model: torch.nn.Module, data: _Fold, part: str) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        return m.task_scores(self.data.task, model(torch.from_numpy(x)).numpy(), y)

"""Figures of the lab report (matplotlib, drawn off-screen)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from losskit.lab.findings import spread
from losskit.lab.run import ScenarioResult
from losskit.lab.scenario import RunResult

__all__ = [
    "box_examples_figure",
    "curves_figure",
    "denoising_examples_figure",
    "gan_samples_figure",
    "metrics_figure",
    "png_bytes",
    "regression_fit_figure",
    "segmentation_examples_figure",
]

Figure = Any


def _colors(labels: list[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("tab10")
    return {label: cmap(i % 10) for i, label in enumerate(labels)}


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG; the figure is closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def curves_figure(result: ScenarioResult) -> Figure:
    """Training curves, mean over the repeats: the training loss (each loss relative to its
    first point, on a log scale, when every value is positive, since losses differ in
    scale; as it is otherwise) and the held-out metric, with the range as a band."""
    scenario = result.scenario
    labels = [c.label for c in result.candidates]
    colors = _colors(labels)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    finished = {label: runs for label, runs in result.results().items() if runs}
    relative = all(v > 0 for runs in finished.values() for r in runs for v in r.curve.train_loss)
    for label, runs in finished.items():
        epochs = runs[0].curve.epochs
        train = np.array([r.curve.train_loss for r in runs])
        if relative:
            train = train / train[:, :1]
        heldout = np.array([r.curve.heldout for r in runs])
        left.plot(epochs, np.mean(train, axis=0), color=colors[label], label=label)
        right.plot(epochs, np.mean(heldout, axis=0), color=colors[label], label=label)
        right.fill_between(
            epochs, heldout.min(axis=0), heldout.max(axis=0), color=colors[label], alpha=0.15
        )
        # the point each run kept (its best validation value)
        kept = [
            (r.curve.best_epoch, r.curve.heldout[r.curve.epochs.index(r.curve.best_epoch)])
            for r in runs
            if r.curve.best_epoch in r.curve.epochs
        ]
        if kept:
            right.scatter(*zip(*kept, strict=True), marker="x", s=22, color=colors[label])
    if relative:
        left.set_yscale("log")
        left.set_title(f"{scenario.train_loss_label} (relative to its first point)")
        left.set_ylabel("loss / first value")
    else:
        left.set_title(scenario.train_loss_label)
        left.set_ylabel("loss")
    right.set_title(
        f"{scenario.curve_metric} (band: range over {scenario.repeat_name}s; ×: kept)",
        fontsize=10,
    )
    right.set_ylabel(scenario.curve_metric)
    for axis in (left, right):
        axis.set_xlabel(scenario.curve_unit)
        axis.grid(alpha=0.3)
    right.legend(fontsize=8, loc="best")
    figure.suptitle(f"{scenario.title}: training curves", fontsize=11)
    figure.tight_layout()
    return figure


def metrics_figure(result: ScenarioResult) -> Figure:
    """Final metrics: one dot per repeat, the mean as a bar, the spread as an error bar."""
    scenario = result.scenario
    labels = [c.label for c in result.candidates]
    colors = _colors(labels)
    metrics = scenario.metrics
    figure, axes = plt.subplots(
        1, len(metrics), figsize=(3.7 * len(metrics), 0.45 * len(labels) + 1.6)
    )
    axes = np.atleast_1d(axes)
    positions = np.arange(len(labels))[::-1]
    for axis, metric in zip(axes, metrics, strict=True):
        for y, label in zip(positions, labels, strict=True):
            values = result.values(label, metric.key)
            if not values:
                continue
            axis.errorbar(
                np.mean(values),
                y,
                xerr=spread(values),
                fmt="o",
                color=colors[label],
                markersize=7,
                capsize=4,
            )
            axis.scatter(
                values, np.full(len(values), y - 0.22), s=12, color=colors[label], alpha=0.6
            )
        if metric.better == "zero":
            axis.axvline(0.0, color="grey", lw=0.8)
        axis.set_yticks(positions)
        axis.set_yticklabels(labels if axis is axes[0] else [])
        arrow = {
            "higher": "higher is better →",
            "lower": "← lower is better",
            "zero": "closer to 0 is better",
        }
        axis.set_xlabel(f"{metric.label}\n({arrow[metric.better]})", fontsize=9)
        axis.grid(axis="x", alpha=0.3)
    figure.suptitle(
        f"{scenario.title}: held-out metrics (large dot: mean ± spread; small dots: each "
        f"{scenario.repeat_name})",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


def regression_fit_figure(results: Mapping[str, list[RunResult]]) -> Figure:
    """Predicted against true held-out targets, one panel per loss (first repeat)."""
    labels = [label for label, runs in results.items() if runs]
    figure, axes = plt.subplots(
        1, len(labels), figsize=(2.6 * len(labels), 2.9), sharex=True, sharey=True
    )
    axes = np.atleast_1d(axes)
    all_true = np.concatenate([results[label][0].artifacts["y_true"] for label in labels])
    low, high = float(all_true.min()), float(all_true.max())
    colors = _colors(labels)
    for axis, label in zip(axes, labels, strict=True):
        run = results[label][0]
        axis.scatter(
            run.artifacts["y_true"], run.artifacts["y_pred"], s=8, alpha=0.6, color=colors[label]
        )
        axis.plot([low, high], [low, high], color="black", lw=0.8)
        axis.set_title(label, fontsize=10)
        axis.set_xlabel("true target")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("prediction")
    figure.suptitle(
        "Regression with outliers: held-out predictions against the truth (first seed; the "
        "black line is a perfect fit)",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


def _image_grid(names: list[str], columns: list[list[Any]], title: str, **imshow: Any) -> Figure:
    """A grid of grey panels: ``columns[j][i]`` at row ``i``, column ``j``; the rows are
    labelled with ``names`` on the left."""
    rows = len(names)
    figure, axes = plt.subplots(
        rows, len(columns), figsize=(1.6 * len(columns) + 1.2, 1.5 * rows), squeeze=False
    )
    for column, panels in enumerate(columns):
        for row, panel in enumerate(panels):
            axis = axes[row, column]
            axis.imshow(panel, cmap="gray", interpolation="nearest", **imshow)
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(names[row], fontsize=8, rotation=0, ha="right", va="center")
    figure.suptitle(title, fontsize=10)
    # fixed margins: tight_layout on a grid of many small panels is slow
    figure.subplots_adjust(left=0.22, right=0.98, top=0.93, bottom=0.02, wspace=0.05, hspace=0.08)
    return figure


def segmentation_examples_figure(results: Mapping[str, list[RunResult]], count: int = 4) -> Figure:
    """Held-out images, their true masks and each loss's predicted masks (first repeat)."""
    labels = [label for label, runs in results.items() if runs]
    first = results[labels[0]][0].artifacts
    images, masks = first["images"][:count], first["masks"][:count]
    columns = [
        [images[j], masks[j]] + [results[label][0].artifacts["predicted"][j] for label in labels]
        for j in range(len(images))
    ]
    return _image_grid(
        ["image", "true mask", *labels],
        columns,
        "Segmentation: held-out images and predicted masks (first seed)",
    )


def denoising_examples_figure(results: Mapping[str, list[RunResult]]) -> Figure:
    """Held-out noisy patches, their clean versions and each loss's denoised ones (first
    repeat), one column per patch, on the same grey scale."""
    labels = [label for label, runs in results.items() if runs]
    first = results[labels[0]][0].artifacts
    columns = [
        [first["noisy"][j], first["clean"][j]]
        + [results[label][0].artifacts["denoised"][j] for label in labels]
        for j in range(len(first["clean"]))
    ]
    return _image_grid(
        ["noisy", "clean", *labels],
        columns,
        "Denoising: held-out patches and each loss's output (first seed)",
        vmin=0.0,
        vmax=1.0,
    )


def gan_samples_figure(results: Mapping[str, list[RunResult]]) -> Figure:
    """Generated samples over the real mixture's modes, one panel per loss (first repeat)."""
    labels = [label for label, runs in results.items() if runs]
    figure, axes = plt.subplots(
        1, len(labels), figsize=(2.8 * len(labels), 3.0), sharex=True, sharey=True
    )
    axes = np.atleast_1d(axes)
    colors = _colors(labels)
    for axis, label in zip(axes, labels, strict=True):
        artifacts = results[label][0].artifacts
        samples, modes = artifacts["samples"], artifacts["modes"]
        axis.scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.4, color=colors[label])
        axis.scatter(modes[:, 0], modes[:, 1], marker="x", color="black", s=30)
        axis.set_title(label, fontsize=10)
        axis.set_aspect("equal")
        axis.set_xlim(-3.2, 3.2)
        axis.set_ylim(-3.2, 3.2)
        axis.grid(alpha=0.3)
    figure.suptitle(
        "GAN: generated samples (dots) and the real modes (crosses), first seed", fontsize=10
    )
    figure.tight_layout()
    return figure


def box_examples_figure(results: Mapping[str, list[RunResult]], count: int = 5) -> Figure:
    """Held-out images with the true box and each loss's predicted box (first repeat)."""
    labels = [label for label, runs in results.items() if runs]
    first = results[labels[0]][0].artifacts
    images, boxes = first["images"][:count], first["boxes"][:count]
    colors = _colors(labels)
    figure, axes = plt.subplots(1, len(images), figsize=(2.3 * len(images), 2.7))
    size = images.shape[-1]
    for i, axis in enumerate(np.atleast_1d(axes)):
        axis.imshow(images[i], cmap="gray", interpolation="nearest")
        for label, box, style, width in [("truth", boxes[i], "-", 2.0)] + [
            (label, results[label][0].artifacts["predicted"][i], "--", 1.2) for label in labels
        ]:
            x1, y1, x2, y2 = np.asarray(box) * size - 0.5
            color = "gold" if label == "truth" else colors[label]
            axis.plot(
                [x1, x2, x2, x1, x1],
                [y1, y1, y2, y2, y1],
                style,
                color=color,
                lw=width,
                label=label,
            )
        axis.set_xticks([])
        axis.set_yticks([])
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    figure.suptitle(
        "Boxes: the true box (gold) and each loss's prediction (first seed)", fontsize=10
    )
    figure.tight_layout()
    return figure

"""``losskit eval NAME --pred FILE --target FILE``: a loss on arrays stored in files.

Prints the reduced loss and a breakdown: per class (the mean unreduced loss of the
elements of each class, or of each label for multi-label targets) for classification
losses, and the samples with the largest loss otherwise.  Weighted means use
``--weights``; ``--save FILE`` writes the per-element (unreduced) loss to a ``.npy`` or
``.csv`` file.  Table columns are picked by name (``data.csv:pred``); identical
predictions and targets get a warning on standard error (the same file twice is a
common slip that prints a loss of 0).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from losskit.cli import at_least
from losskit.cli.files import SUFFIXES, load_array
from losskit.cli.output import CommandError, Output
from losskit.core.reduction import REDUCTIONS
from losskit.core.registry import LossInfo, get_loss
from losskit.core.specs import parse_loss_spec
from losskit.errors import LossInputError

HELP = "compute a loss on arrays stored in .npy, .npz, .csv or .parquet files"

#: At most this many distinct target values are treated as classes.
_MAX_CLASSES = 50
_CLASSIFICATION = {"binary", "multi-class", "multi-label"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    files = (
        f"({', '.join(SUFFIXES)}; FILE:KEY picks an .npz array or a table column, "
        "FILE:A,B,C several columns)"
    )
    parser.add_argument(
        "loss", metavar="NAME", help="a loss name, optionally with options: huber:delta=2"
    )
    parser.add_argument("--pred", metavar="FILE", help=f"predictions {files}")
    parser.add_argument("--target", metavar="FILE", help="targets")
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="any other array of the loss by its name, e.g. --input var=var.npy",
    )
    parser.add_argument("--weights", metavar="FILE", help="per-element weights")
    parser.add_argument("--reduction", choices=REDUCTIONS, default="mean")
    parser.add_argument(
        "--breakdown",
        choices=("auto", "class", "sample", "none"),
        default="auto",
        help="per-class or per-sample breakdown (default: per class for classification)",
    )
    parser.add_argument(
        "--save",
        metavar="FILE",
        help="write the per-element (unreduced) loss to FILE, .npy or .csv",
    )
    parser.add_argument(
        "--top",
        type=at_least(0),
        default=10,
        help="per-sample breakdown: show the N largest losses (0: all; default 10)",
    )


def _files(info: LossInfo, args: argparse.Namespace) -> dict[str, str]:
    """Which file holds each of the loss's arrays."""
    bound: dict[str, str] = {}
    if args.pred is not None:
        bound[info.arrays[0]] = args.pred
    if args.target is not None:
        if len(info.arrays) < 2:
            raise CommandError(f"{info.name} takes only {info.arrays[0]}; drop --target")
        bound[info.arrays[1]] = args.target
    for item in args.input:
        name, sep, file = item.partition("=")
        if not sep or not file:
            raise CommandError(f"--input must be NAME=FILE; got {item!r}")
        if name not in info.arrays:
            raise CommandError(
                f"{info.name} has no array {name!r}; its arrays are {', '.join(info.arrays)}"
            )
        if name in bound:
            raise CommandError(f"array {name!r} is given twice")
        bound[name] = file
    missing = [a for a in info.arrays if a not in bound]
    if missing:
        flags = {info.arrays[0]: "--pred FILE"}
        if len(info.arrays) > 1:
            flags[info.arrays[1]] = "--target FILE"
        hint = ", ".join(flags.get(m, f"--input {m}=FILE") for m in missing)
        raise CommandError(f"{info.name} needs {', '.join(missing)}: pass {hint}")
    return bound


def _describe(files: dict[str, str], arrays: dict[str, np.ndarray]) -> str:
    return "; ".join(
        f"{name} = {files[name]} {tuple(arrays[name].shape)} {arrays[name].dtype}" for name in files
    )


def _class_groups(
    info: LossInfo, options: dict[str, Any], arrays: dict[str, np.ndarray], shape: tuple
) -> list[tuple[str, np.ndarray]] | None:
    """(label, mask over the unreduced loss) per class, or None when it does not apply."""
    target = arrays.get("target")
    if target is None or not _CLASSIFICATION & set(info.tasks):
        return None
    pred = arrays[info.arrays[0]]
    axis = {**info.options, **options}.get(info.class_axis) if info.class_axis else None
    if axis is not None:
        labels = np.argmax(target, axis=axis) if target.ndim == pred.ndim else target
        if labels.shape != shape:
            return None
        ignore = options.get("ignore_index", info.options.get("ignore_index"))
        classes = [c for c in np.unique(labels) if ignore is None or c != ignore]
        return [(f"class {int(c)}", labels == c) for c in classes]
    if target.shape != shape:
        return None
    if target.ndim >= 2 and "multi-label" in info.tasks:
        columns = []
        for j in range(target.shape[-1]):
            mask = np.zeros(shape, dtype=bool)
            mask[..., j] = True
            columns.append((f"label {j}", mask))
        return columns
    values = np.unique(target)
    if values.size > _MAX_CLASSES or not np.all(values == np.round(values)):
        return None
    return [(f"target {v:g}", target == v) for v in values]


def _class_rows(
    groups: list[tuple[str, np.ndarray]], unreduced: np.ndarray, weights: np.ndarray
) -> list[dict[str, Any]]:
    total = float(np.sum(weights * unreduced)) or 1.0
    rows = []
    for label, mask in groups:
        w = weights[mask]
        weighted = float(np.sum(w * unreduced[mask]))
        rows.append(
            {
                "class": label,
                "count": int(mask.sum()),
                "mean_loss": weighted / float(np.sum(w)) if np.sum(w) > 0 else 0.0,
                "share": weighted / total,
            }
        )
    return rows


def _sample_rows(unreduced: np.ndarray, weights: np.ndarray, top: int) -> list[dict[str, Any]]:
    # an explicit width: reshape(n, -1) is ambiguous when there are no samples
    flat = unreduced.reshape(unreduced.shape[0], math.prod(unreduced.shape[1:]))
    w = weights.reshape(flat.shape)
    sums = np.sum(w, axis=1)
    per_sample = np.divide(
        np.sum(w * flat, axis=1), sums, out=np.zeros(flat.shape[0]), where=sums > 0
    )
    order = np.argsort(-per_sample, kind="stable")
    if top > 0:
        order = order[:top]
    return [{"sample": int(i), "loss": float(per_sample[i])} for i in order]


def run(args: argparse.Namespace, out: Output) -> int:
    name, options = parse_loss_spec(args.loss)
    info = get_loss(name)
    files = _files(info, args)
    arrays = {}
    for array_name, file in files.items():
        array = load_array(file)
        if array_name != "target" and np.issubdtype(array.dtype, np.integer):
            array = array.astype(np.float64)  # predictions are floating
        arrays[array_name] = array
    weights = None if args.weights is None else load_array(args.weights).astype(np.float64)
    _warn_if_identical(files, arrays)
    ordered = [arrays[a] for a in info.arrays]
    try:
        value = info.fn(*ordered, reduction=args.reduction, weights=weights, **options)
        unreduced = np.asarray(info.fn(*ordered, reduction="none", **options), dtype=np.float64)
    except LossInputError as error:
        inputs = _describe(files, arrays)
        if weights is not None:
            inputs += f"; weights = {args.weights} {tuple(weights.shape)}"
        raise CommandError(f"{error} [{inputs}]") from None
    value = np.asarray(value, dtype=np.float64)
    saved = None if args.save is None else _save(args.save, unreduced)
    w = np.ones_like(unreduced) if weights is None else np.broadcast_to(weights, unreduced.shape)

    kind = args.breakdown
    groups = None
    if kind in ("auto", "class"):
        groups = _class_groups(info, options, arrays, unreduced.shape)
        if kind == "class" and groups is None:
            raise CommandError(
                f"{name}: no per-class breakdown for these inputs (it needs class labels in "
                "the target); use --breakdown sample"
            )
        kind = "class" if groups is not None else "sample"
    if kind == "sample" and unreduced.ndim == 0:
        kind = "none"
    breakdown: dict[str, Any] = {"kind": kind}
    if kind == "class":
        breakdown["rows"] = _class_rows(groups or [], unreduced, w)
    elif kind == "sample":
        breakdown["samples"] = int(unreduced.shape[0])
        breakdown["rows"] = _sample_rows(unreduced, w, args.top)

    result = {
        "loss": name,
        "options": options,
        "reduction": args.reduction,
        "value": value.tolist(),
        "inputs": {
            n: {"file": files[n], "shape": list(a.shape), "dtype": str(a.dtype)}
            for n, a in arrays.items()
        },
        "breakdown": breakdown,
        **({"saved": {"file": saved, "shape": list(unreduced.shape)}} if saved else {}),
    }
    if out.json_mode:
        out.json(result)
        return 0
    shown = f"{float(value):.6g}" if value.ndim == 0 else f"array of shape {value.shape}"
    out.title(f"{args.loss} = {shown}", f"(reduction {args.reduction})")
    out.fields([(n, f"{files[n]} {tuple(a.shape)} {a.dtype}") for n, a in arrays.items()])
    if kind == "class":
        rows = [
            (r["class"], str(r["count"]), f"{r['mean_loss']:.6g}", f"{100 * r['share']:.1f}%")
            for r in breakdown["rows"]
        ]
        out.table(("class", "count", "mean loss", "share of total"), rows, title="per class")
    elif kind == "sample":
        rows = [(str(r["sample"]), f"{r['loss']:.6g}") for r in breakdown["rows"]]
        title = (
            f"per sample: the {len(rows)} largest of {breakdown['samples']}"
            if len(rows) < breakdown["samples"]
            else f"per sample ({breakdown['samples']})"
        )
        out.table(("sample", "loss"), rows, title=title)
    if saved:
        out.paragraph(f"per-element loss {tuple(unreduced.shape)} saved to {saved}")
    return 0


def _warn_if_identical(files: dict[str, str], arrays: dict[str, np.ndarray]) -> None:
    """A warning on standard error when two arrays are the same (one file given twice)."""
    names = list(arrays)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            x, y = arrays[a], arrays[b]
            if x.shape == y.shape and np.array_equal(x, y):
                source = (
                    f"both read from {files[a]}"
                    if files[a] == files[b]
                    else f"{files[a]} and {files[b]} hold the same values"
                )
                print(
                    f"losskit eval: warning: {a} and {b} are identical ({source}); "
                    "most losses are then 0",
                    file=sys.stderr,
                )


def _save(path: str, unreduced: np.ndarray) -> str:
    """Write the per-element loss to ``path`` (.npy, or .csv for at most 2 axes)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".npy":
        np.save(target, unreduced)
    elif suffix == ".csv":
        if unreduced.ndim > 2:
            raise CommandError(
                f"--save {path}: a .csv holds at most 2 axes; the loss has shape "
                f"{tuple(unreduced.shape)}: use .npy"
            )
        np.savetxt(target, np.atleast_1d(unreduced), delimiter=",", fmt="%.17g")
    else:
        raise CommandError(f"--save {path}: use a .npy or .csv file")
    return str(target)

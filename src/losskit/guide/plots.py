"""Loss and gradient curves: how losses behave as a prediction moves.

:func:`loss_curves` evaluates any set of losses (with options) along one axis and
differentiates them numerically; :func:`plot_losses` draws the curves with matplotlib
(Agg, no display needed) and writes a PNG or SVG.  The axis depends on the losses:

- ``error``: regression losses against the error :math:`e = \\hat y - y` (target 0);
- ``probability``: classification and segmentation losses against the predicted
  probability of the true class (target 1, or class 0 of two);
- ``logit``: the same against the logit (score) of the true class; losses taking
  probabilities get :math:`\\sigma(z)`; GAN losses against the discriminator's logit;
- ``shift``: box losses against the horizontal shift of a unit box, in box widths;
- ``similarity``: embedding losses against the cosine similarity of a matched pair
  (anchor and positive, or an embedding and its class centre), every other embedding
  orthogonal to both.
- ``margin``: preference losses against the log-probability margin of the chosen
  response over the rejected one (for KTO, of a desirable response over the reference):
  log-probabilities :math:`\\log\\sigma(m)` and :math:`\\log\\sigma(-m)`, whose difference
  is :math:`m`, with equal reference log-probabilities.

Only NumPy is needed to compute the curves; matplotlib only to draw them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from losskit.core.registry import LossInfo, get_loss
from losskit.errors import LossInputError
from losskit.guide.catalogue import parse_loss_spec
from losskit.guide.entries import guide_entry

__all__ = ["AXES", "Curve", "Curves", "draw_curves", "loss_curves", "plot_losses"]

#: Axis kind -> (default range, axis label).
AXES: dict[str, tuple[tuple[float, float], str]] = {
    "error": ((-3.0, 3.0), "error  e = pred - target  (target = 0)"),
    "probability": ((0.01, 0.99), "predicted probability of the true class"),
    "logit": ((-6.0, 6.0), "logit (score) of the true class"),
    "shift": ((-1.5, 1.5), "horizontal shift of the predicted box (box widths)"),
    "similarity": ((-0.99, 0.99), "cosine similarity of the matched pair (others orthogonal)"),
    "margin": ((-6.0, 6.0), "log-probability margin of the chosen over the rejected response"),
    "noise": ((-0.5, 0.5), "amplitude of a fixed noise pattern added to the target image"),
}

_FORMATS = (".png", ".svg")

#: A curve is drawn on this many points.
_POINTS = 401
#: Pixels of the mask drawn for each point of a segmentation loss.
_MASK_PIXELS = 100

LossSpec = str | tuple[str, Mapping[str, Any]]


@dataclasses.dataclass(frozen=True)
class Curve:
    """One loss along the axis: its label, values and derivative."""

    label: str
    name: str
    options: Mapping[str, Any]
    loss: np.ndarray
    gradient: np.ndarray


@dataclasses.dataclass(frozen=True)
class Curves:
    """Curves of several losses on a shared axis."""

    kind: str
    x: np.ndarray
    curves: tuple[Curve, ...]

    @property
    def xlabel(self) -> str:
        return AXES[self.kind][1]


def _parse(spec: LossSpec) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return parse_loss_spec(spec)
    name, options = spec
    info = get_loss(name)
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise LossInputError(
            f"options of {name!r} must be among {sorted(info.options)}; got {unknown}"
        )
    return name, dict(options)


def _label(name: str, options: Mapping[str, Any]) -> str:
    if not options:
        return name
    return f"{name} ({', '.join(f'{k}={v!r}' for k, v in options.items())})"


def _natural_kind(info: LossInfo) -> str:
    """The axis a loss is naturally drawn against."""
    if "images" in guide_entry(info.name).input_forms:
        return "noise"
    if "regression" in info.tasks:
        return "error"
    if "preference" in info.tasks:
        return "margin"
    if "boxes" in guide_entry(info.name).input_forms:
        return "shift"
    if "embeddings" in guide_entry(info.name).input_forms:
        return "similarity"
    if _takes_scores(info) or _is_gan(info):
        return "logit"
    return "probability"


def _image_evaluator(
    fn: Callable[..., Any], options: dict[str, Any], reduction: str
) -> Callable[[np.ndarray], np.ndarray]:
    """Image losses: one grey image per point x, a fixed smooth target of 176 x 176
    pixels (the smallest that MS-SSIM's five scales take) plus x times a fixed pattern
    of uniform noise; values in [0.25, 0.75] before the noise, data range 1."""
    rows, cols = np.mgrid[0:176, 0:176] / 176.0
    target = 0.5 + 0.25 * np.sin(6.0 * rows) * np.cos(4.0 * cols)
    noise = np.random.default_rng(0).uniform(-1.0, 1.0, target.shape)

    def images(x: np.ndarray) -> np.ndarray:
        pred = target + x[:, None, None, None] * noise
        loss = fn(pred, np.broadcast_to(target, pred.shape), reduction=reduction, **options)
        return loss[:, 0] if reduction == "none" else loss

    return images


def _is_gan(info: LossInfo) -> bool:
    """GAN losses take discriminator outputs and no target."""
    return "generative" in info.tasks and "target" not in info.arrays


def _pick_kind(entries: Sequence[tuple[LossInfo, dict[str, Any]]], x: str) -> str:
    natural = {info.name: _natural_kind(info) for info, _ in entries}
    if x != "auto":
        if x not in AXES:
            raise LossInputError(f"x must be 'auto' or one of {sorted(AXES)}; got {x!r}")
        for name, kind in natural.items():
            compatible = kind == x or {kind, x} <= {"probability", "logit"}
            if not compatible:
                raise LossInputError(
                    f"{name} is drawn against the {kind} axis; it cannot be drawn against {x!r}"
                )
            if x == "probability" and kind == "logit" and _takes_scores(get_loss(name)):
                raise LossInputError(
                    f"{name} takes scores, not probabilities; draw it with x='logit'"
                )
        return x
    kinds = set(natural.values())
    if kinds <= {"probability", "logit"}:
        return "logit" if "logit" in kinds else "probability"
    if len(kinds) > 1:
        groups = ", ".join(f"{n} ({k})" for n, k in natural.items())
        raise LossInputError(
            f"losses must share one axis to be drawn together; got {groups}. Draw them on "
            "separate figures"
        )
    return kinds.pop()


def _takes_scores(info: LossInfo) -> bool:
    forms = set(guide_entry(info.name).input_forms)
    return "probabilities" not in forms and bool(forms & {"scores", "logits"})


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid via tanh: no overflow for large |z|


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _class_layout(info: LossInfo, options: Mapping[str, Any]) -> str:
    """ "elementwise", "one-hot" or "integer": how the classification inputs are laid out."""
    axis_name = info.class_axis
    effective = {**info.options, **options}
    if not axis_name or effective.get(axis_name) is None:
        return "elementwise"
    forms = set(guide_entry(info.name).input_forms)
    if "integer labels" in forms and "one-hot labels" not in forms:
        return "integer"
    return "one-hot"


def _evaluator(
    info: LossInfo, options: dict[str, Any], kind: str, reduction: str = "none"
) -> Callable[[np.ndarray], np.ndarray]:
    """A function of the axis values x (shape [n]) giving the loss of each of the n points
    (``reduction="none"``) or of all of them (``"mean"``)."""
    fn = info.fn
    arrays = info.arrays

    if kind == "error":

        def regression(x: np.ndarray) -> np.ndarray:
            extra = [np.ones_like(x) for _ in arrays[2:]]
            return fn(x, np.zeros_like(x), *extra, reduction=reduction, **options)

        return regression

    if kind == "margin":
        return lambda x: fn(*_preference_arrays(arrays, x), reduction=reduction, **options)

    if kind == "noise":
        return _image_evaluator(fn, options, reduction)

    if kind == "shift":

        def boxes(x: np.ndarray) -> np.ndarray:
            target = np.tile(np.array([0.0, 0.0, 1.0, 1.0]), (x.size, 1))
            pred = target + np.stack([x, np.zeros_like(x), x, np.zeros_like(x)], axis=-1)
            return fn(pred, target, reduction=reduction, **options)

        return boxes

    if kind == "similarity":
        return _embedding_evaluator(info, options)

    effective = {**info.options, **options}
    takes_logits = bool(effective.get("from_logits", False)) or _takes_scores(info)

    def scores(x: np.ndarray) -> np.ndarray:
        """The model output for axis value x, as the loss expects it."""
        if kind == "probability":
            return _logit(x) if takes_logits else x
        return x if takes_logits else _sigmoid(x)

    if _is_gan(info):
        if len(arrays) == 1:
            return lambda x: fn(scores(x), reduction=reduction, **options)
        # a discriminator equally sure on both sides: x on real samples, -x on fakes
        return lambda x: fn(scores(x), scores(-x), reduction=reduction, **options)

    if "sequence" in info.tasks:
        return _sequence_evaluator(info, options, kind, reduction)
    if "edge distributions" in guide_entry(info.name).input_forms:
        # two bins with logits [z, 0] and the edge on bin 0: -log sigmoid(z)
        def edges(x: np.ndarray) -> np.ndarray:
            z = scores(x)
            pred = np.stack([z, np.zeros_like(z)], axis=-1)
            return fn(pred, np.zeros_like(z), reduction=reduction, **options)

        return edges

    if "distance maps" in guide_entry(info.name).input_forms:
        # a 1-D mask of ten pixels, the middle four foreground, and its maps
        # (losskit.distance_maps, signed and unsigned, written out); each point x is the
        # probability given to the right answer on every pixel
        mask = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0, 0], dtype=float)
        signed = np.array([3.0, 2, 1, 0, -1, -1, 0, 1, 2, 3])
        unsigned = np.array([3.0, 2, 1, 1, 2, 2, 1, 1, 2, 3])

        def distances(x: np.ndarray) -> np.ndarray:
            right = x if kind == "probability" else _sigmoid(x)
            prob = np.where(mask > 0, right[:, None], 1.0 - right[:, None])
            pred = _logit(prob) if takes_logits else prob
            target = np.broadcast_to(mask, pred.shape)
            if len(arrays) == 2:
                return fn(pred, np.broadcast_to(signed, pred.shape), reduction=reduction, **options)
            maps = np.broadcast_to(unsigned, pred.shape)
            return fn(pred, target, maps, reduction=reduction, **options)

        return distances

    layout = _class_layout(info, options)
    sign_labels = "sign labels" in guide_entry(info.name).input_forms
    log_probabilities = "log-probability predictions" in guide_entry(info.name).input_forms
    teacher_logits = "teacher logits" in guide_entry(info.name).input_forms

    # Overlap losses score whole masks: each point is a mask of _MASK_PIXELS equal
    # pixels, so the smoothing term does not dominate as it would on a single pixel.
    pixels = _MASK_PIXELS if "segmentation" in info.tasks else 1

    def classification(x: np.ndarray) -> np.ndarray:
        out = scores(x)[:, None].repeat(pixels, axis=1)  # [n, pixels]
        if layout == "elementwise":
            return fn(out, np.ones_like(out), reduction=reduction, **options)
        if takes_logits:
            # softmax([z, 0]) = [sigmoid(z), 1 - sigmoid(z)]
            z = out if kind == "logit" else _logit(out)
            pred = np.stack([z, np.zeros_like(z)], axis=-1)
        else:
            pred = np.stack([out, 1.0 - out], axis=-1)
            if log_probabilities:
                with np.errstate(divide="ignore"):  # log 0 = -inf, a class ruled out
                    pred = np.log(pred)
        axis = {info.class_axis: -1} if info.class_axis else {}
        if layout == "integer":
            target = np.zeros(out.shape, dtype=np.int64)
        else:
            target = np.stack([np.ones_like(out), np.zeros_like(out)], axis=-1)
        if pixels == 1:  # plain classification: one prediction per point, [n, 2]
            pred, target = pred[:, 0], target[:, 0]
        if teacher_logits:
            # a teacher 90% sure of class 0: softmax([log 9, 0]) = [0.9, 0.1]
            teacher = np.stack(
                [np.full_like(pred[..., 0], math.log(9.0)), np.zeros_like(pred[..., 0])], axis=-1
            )
            return fn(pred, target, teacher, reduction=reduction, **options, **axis)
        return fn(pred, target, reduction=reduction, **options, **axis)

    if sign_labels and len(arrays) == 3:
        # a ranking loss: the first item's score against 0 for the second, first preferred
        return lambda x: fn(
            scores(x), np.zeros_like(x), np.ones_like(x), reduction=reduction, **options
        )
    if sign_labels:
        return lambda x: fn(scores(x), np.ones_like(x), reduction=reduction, **options)
    return classification


def _sequence_evaluator(
    info: LossInfo, options: dict[str, Any], kind: str, reduction: str
) -> Callable[[np.ndarray], np.ndarray]:
    """A sequence loss at each point: a one-label target read off one frame of two classes,
    the blank (logit 0) and the label (logit x, or the logit of probability x)."""
    effective = {**info.options, **options}
    blank = int(effective.get("blank", 0))
    if blank not in (0, 1):
        raise LossInputError(f"{info.name} is drawn with two classes: blank must be 0 or 1")
    label = 1 - blank

    def sequence(x: np.ndarray) -> np.ndarray:
        z = x if kind == "logit" else _logit(x)
        logits = np.zeros((x.size, 1, 2))
        logits[:, 0, label] = z
        pred = (
            logits if effective.get("from_logits") else logits - np.logaddexp(0.0, z)[:, None, None]
        )
        ones = np.ones(x.size, dtype=np.int64)
        target = np.full((x.size, 1), label, dtype=np.int64)
        return info.fn(pred, target, ones, ones, reduction=reduction, **options)

    return sequence


def _embedding_evaluator(
    info: LossInfo, options: dict[str, Any]
) -> Callable[[np.ndarray], np.ndarray]:
    """The loss of one matched pair whose cosine similarity is each point x: the anchor
    (1, 0, 0) and its partner (x, sqrt(1 - x^2), 0); any other embedding, negative or
    other class, is (0, 0, 1), orthogonal to both.  Batch losses are evaluated one
    point at a time, and the anchor's own loss is drawn."""
    fn, arrays = info.fn, info.arrays
    forms = set(guide_entry(info.name).input_forms)
    anchor, other = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])

    def inputs(c: float) -> tuple[np.ndarray, ...]:
        partner = np.array([c, math.sqrt(max(0.0, 1.0 - c * c)), 0.0])
        if "class centres" in forms:
            return anchor[None], np.array([0]), np.stack([partner, other])
        if "group labels" in forms:
            return np.stack([anchor, partner, other, other]), np.array([0, 0, 1, 1])
        if "triplets" in forms:
            return anchor[None], partner[None], other[None]
        if "paired views" in forms:
            return np.stack([anchor, other]), np.stack([partner, other])
        if len(arrays) == 3:  # a pair and its label: similar
            return anchor[None], partner[None], np.ones(1)
        return partner[None], anchor[None]  # a prediction against its target vector

    def evaluate(x: np.ndarray) -> np.ndarray:
        return np.array([float(fn(*inputs(float(c)), reduction="none", **options)[0]) for c in x])

    return evaluate


def _preference_arrays(arrays: Sequence[str], m: np.ndarray) -> list[np.ndarray]:
    """A preference loss's arrays at margin m: log sigma(m) on the chosen (or desirable)
    side, log sigma(-m) on the rejected side (log sigma(m) - log sigma(-m) = m, and both
    are valid log-probabilities), log(1/2) for a paired reference; an unpaired reference
    (KTO's) stands on the rejected side, the response is desirable and the KL point 0."""
    chosen, rejected = -np.logaddexp(0.0, -m), -np.logaddexp(0.0, m)
    values = []
    for name in arrays:
        if name == "desirable":
            values.append(np.ones(m.shape, dtype=bool))
        elif name == "kl":
            values.append(np.zeros(()))
        elif "rejected" in name and name.startswith("reference"):
            values.append(np.full(m.shape, -math.log(2.0)))
        elif "rejected" in name or name == "reference_logps":
            values.append(rejected)
        elif name.startswith("reference"):
            values.append(np.full(m.shape, -math.log(2.0)))
        else:
            values.append(chosen)
    return values


def _values(info: LossInfo, options: dict[str, Any], kind: str, x: np.ndarray) -> np.ndarray:
    """The loss at each point of ``x``.

    Losses whose unreduced value holds several numbers per point (one per class, as
    ``lovasz_softmax``) are evaluated point by point with their ``"mean"`` reduction.
    """
    out = np.asarray(_evaluator(info, options, kind)(x), dtype=np.float64)
    if out.size == x.size:
        return out.reshape(x.shape)
    if out.ndim == 0 or out.shape[0] != x.size:
        raise LossInputError(
            f"{info.name} cannot be drawn as a curve: its unreduced value for {x.size} points "
            f"has shape {out.shape}"
        )
    mean = _evaluator(info, options, kind, reduction="mean")
    return np.array([float(mean(x[i : i + 1])) for i in range(x.size)])


def loss_curves(
    specs: Sequence[LossSpec],
    *,
    x: str = "auto",
    x_range: tuple[float, float] | None = None,
    points: int = _POINTS,
) -> Curves:
    """Loss values and their derivative along one axis, for each loss in ``specs``.

    Args:
        specs: losses as ``"name"``, ``"name:option=value,..."`` or ``(name, options)``.
        x: the axis: ``auto`` (chosen from the losses), ``error``, ``probability``,
            ``logit`` or ``shift`` (see the module docstring).
        x_range: the interval drawn; by default the axis's usual range.
        points: number of points.

    Returns:
        :class:`Curves` with the axis values and, per loss, the values and the
        derivative with respect to the axis value, by central finite differences.

    Examples:
        >>> curves = loss_curves(["mse", "huber:delta=1"], x_range=(-2.0, 2.0), points=5)
        >>> curves.kind, curves.x.tolist()
        ('error', [-2.0, -1.0, 0.0, 1.0, 2.0])
        >>> [round(float(g), 3) for g in curves.curves[1].gradient]
        [-1.0, -1.0, 0.0, 1.0, 1.0]
    """
    if not specs:
        raise LossInputError("specs must name at least one loss; got none")
    parsed = [_parse(s) for s in specs]
    entries = [(get_loss(name), options) for name, options in parsed]
    kind = _pick_kind(entries, x)
    low, high = AXES[kind][0] if x_range is None else x_range
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise LossInputError(f"x_range must be two finite numbers, low < high; got {x_range}")
    if kind == "probability" and not (0.0 < low and high < 1.0):
        raise LossInputError(f"x_range for probabilities must lie inside (0, 1); got {x_range}")
    if points < 3:
        raise LossInputError(f"points must be at least 3; got {points}")
    xs = np.linspace(low, high, points)
    # central differences; the step keeps x +/- h inside (0, 1) for probabilities
    h = 1e-6 * max(1.0, abs(low), abs(high)) if kind != "probability" else 1e-7
    curves = []
    for info, options in entries:
        loss = _values(info, options, kind, xs)
        above, below = _values(info, options, kind, xs + h), _values(info, options, kind, xs - h)
        gradient = (above - below) / (2 * h)
        curves.append(Curve(_label(info.name, options), info.name, options, loss, gradient))
    return Curves(kind, xs, tuple(curves))


def plot_losses(
    specs: Sequence[LossSpec],
    out: str | Path,
    *,
    x: str = "auto",
    x_range: tuple[float, float] | None = None,
    gradient: bool = True,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """Draw the loss (and gradient) curves of ``specs`` and write them to ``out``.

    The format follows the file's suffix: ``.png`` or ``.svg``.  Arguments as in
    :func:`loss_curves`; ``gradient=False`` leaves out the gradient panel.

    Returns:
        The path written.
    """
    _check_out(out)
    curves = loss_curves(specs, x=x, x_range=x_range)
    return draw_curves(curves, out, gradient=gradient, title=title, dpi=dpi)


def _check_out(out: str | Path) -> Path:
    path = Path(out)
    if path.suffix.lower() not in _FORMATS:
        raise LossInputError(f"out must end in .png or .svg; got {str(out)!r}")
    if not path.parent.exists():
        raise LossInputError(f"out must be in an existing directory; got {str(out)!r}")
    return path


def _check_mathtext(text: str, name: str) -> None:
    """Refuse ``text`` that matplotlib would take as mathtext (an even number of
    unescaped ``$``) and could not parse: it would fail only when the figure is saved."""
    dollars = len(re.findall(r"(?<!\\)\$", text))
    if not dollars or dollars % 2:
        return
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(text)
    except ValueError as error:
        found = re.search(r"found (.*?)\s+\(at char (\d+)\)", str(error))
        where = f": {found[1]} at character {found[2]} of the formula" if found else ""
        raise LossInputError(
            f"{name} {text!r} is not valid matplotlib mathtext{where}; write \\$ for a dollar sign"
        ) from None


def draw_curves(
    curves: Curves,
    out: str | Path,
    *,
    gradient: bool = True,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """Draw :class:`Curves` (from :func:`loss_curves`) to a ``.png`` or ``.svg`` file.
    ``title`` may hold matplotlib mathtext between ``$`` signs (``\\$`` is a dollar sign)."""
    path = _check_out(out)
    if title:
        _check_mathtext(title, "title")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise LossInputError("plotting needs matplotlib: pip install 'losskit[cli]'") from None

    panels = 2 if gradient else 1
    figure = Figure(figsize=(5.2 * panels, 4.2), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    for curve in curves.curves:
        axes[0].plot(curves.x, curve.loss, label=curve.label, linewidth=2)
        if gradient:
            axes[1].plot(curves.x, curve.gradient, label=curve.label, linewidth=2)
    axes[0].set_ylabel("loss")
    axes[0].set_title("Loss")
    if gradient:
        axes[1].set_ylabel("d loss / d x")
        axes[1].set_title("Gradient")
        spread = np.concatenate([np.abs(c.gradient) for c in curves.curves])
        if float(np.max(spread)) > 20 * (float(np.median(spread)) or 1.0):
            # steep ends (near p = 0) would flatten everything else: show the central 90%
            # of each curve and let the ends leave the panel
            low = min(float(np.percentile(c.gradient, 5)) for c in curves.curves)
            high = max(float(np.percentile(c.gradient, 95)) for c in curves.curves)
            pad = 0.1 * (high - low or 1.0)
            axes[1].set_ylim(low - pad, high + pad)
    for ax in axes:
        ax.set_xlabel(curves.xlabel)
        ax.grid(True, alpha=0.3)
        ax.axhline(0.0, color="0.5", linewidth=0.8)
        ax.legend(fontsize="small")
    what = "Loss and gradient" if gradient else "Loss"
    default_title = f"{what} against the {curves.kind}"
    names = ", ".join(dict.fromkeys(c.name for c in curves.curves))  # each loss once
    if len(default_title) + len(names) <= 80:
        default_title += f": {names}"
    figure.suptitle(title or default_title)
    figure.savefig(path, format=path.suffix.lower()[1:])
    return path

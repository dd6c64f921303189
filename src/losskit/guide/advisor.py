"""Which loss should I use?  A ranked answer for a described problem.

:func:`recommend` turns a short description of a task (its family, the label format,
outliers, class imbalance, whether overlap or boundaries matter, logits or
probabilities) into a ranked list of :class:`Recommendation`: the loss, why, the
options to set (``pos_weight`` or focal ``alpha`` computed from the imbalance ratio,
say) and the code to use it in NumPy, PyTorch, JAX and Keras.  Only registered losses
are recommended.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from losskit.core.names import normalise_task
from losskit.core.registry import available, get_loss
from losskit.errors import LossInputError
from losskit.guide.evidence import lab_evidence
from losskit.guide.examples import Term, code_for

__all__ = ["ADVISOR_TASKS", "LABEL_FORMATS", "Recommendation", "parse_imbalance", "recommend"]

#: Label formats per task the advisor has rules for; the first is the default.
LABEL_FORMATS: dict[str, tuple[str, ...]] = {
    "regression": ("real",),
    "binary": ("binary", "soft", "sign"),
    "multi-label": ("binary", "soft"),
    "multi-class": ("integer", "one-hot", "soft"),
    "segmentation": ("binary", "integer", "one-hot"),
    "detection": ("xyxy", "xywh", "cxcywh"),
    "generative": ("none",),
    "embedding": ("pairs", "classes", "triplets", "pair-labels", "preferences", "vectors"),
    "distillation": ("logits", "tokens", "probabilities"),
    "sequence": ("unaligned", "tokens", "aligned"),
    "preference": ("pairs", "pairs-without-reference", "unpaired"),
}

#: The task families the advisor knows (canonical names of :data:`~losskit.core.names.TASKS`).
ADVISOR_TASKS: tuple[str, ...] = tuple(LABEL_FORMATS)

#: A ratio of majority to minority below this is treated as balanced.
_BALANCED_BELOW = 3.0
#: From this ratio on, focal loss is ranked above weighted cross-entropy.
_EXTREME_FROM = 100.0
#: Focal loss's alpha on the rare class of a binary task (the lab's imbalanced scenario).
_FOCAL_ALPHA_RARE = 0.75


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """One recommended loss (or composite of losses), with its reason and code."""

    rank: int
    #: the loss's name, or the parts joined with `` + `` for a composite
    loss: str
    reason: str
    parts: tuple[Term, ...]
    #: code per framework: ``numpy``, ``pytorch``, ``jax``, ``keras``
    code: Mapping[str, str]
    #: what the recorded full lab run measured for its losses (empty where none ran)
    evidence: tuple[str, ...] = ()

    @property
    def options(self) -> dict[str, Any]:
        """The options to set: the loss's own for a single loss, else per part."""
        if len(self.parts) == 1:
            return dict(self.parts[0].options)
        return {_part_label(p): dict(p.options) for p in self.parts}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "rank": self.rank,
            "loss": self.loss,
            "reason": self.reason,
            "options": _jsonable(self.options),
            "parts": [
                {
                    "loss": p.loss,
                    "weight": p.weight,
                    "role": p.role,
                    "inputs": list(p.arrays),
                    "options": _jsonable(dict(p.options)),
                }
                for p in self.parts
            ],
            "code": dict(self.code),
            "lab_evidence": list(self.evidence),
        }


def _part_label(term: Term) -> str:
    if term.role != "loss":
        return term.role
    if term.inputs is not None:
        return f"{term.loss}({term.inputs[0]})"
    return term.loss


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# ------------------------------------------------------------------ the inputs


def parse_imbalance(value: Any) -> tuple[float, ...] | None:
    """Class frequencies from ``"1:50"``, ``"5000:300:40"``, a number or a sequence.

    A single number ``r`` means one positive (or rare-class) example per ``r`` others,
    i.e. ``(1, r)``.  For binary and multi-label tasks the first value counts the
    positives and the second the negatives; for multi-class tasks the values are the
    class counts in class order (with two values only their ratio is known).

    >>> parse_imbalance("1:50"), parse_imbalance(20), parse_imbalance([900, 90, 10])
    ((1.0, 50.0), (1.0, 20.0), (900.0, 90.0, 10.0))
    """
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.replace("/", ":").split(":")
        try:
            counts = tuple(float(p) for p in parts)
        except ValueError:
            raise LossInputError(
                f"imbalance must be a ratio such as '1:50' or class counts such as "
                f"'5000:300:40'; got {value!r}"
            ) from None
        if len(counts) == 1:
            counts = (1.0, counts[0])
    elif isinstance(value, int | float) and not isinstance(value, bool):
        counts = (1.0, float(value))
    elif isinstance(value, Sequence):
        counts = tuple(float(v) for v in value)
    else:
        raise LossInputError(
            f"imbalance must be a ratio string, a number or a sequence of class counts; "
            f"got {type(value).__name__}"
        )
    if len(counts) < 2 or not all(math.isfinite(c) and c > 0 for c in counts):
        raise LossInputError(
            f"imbalance must hold at least two positive, finite class counts; got {value!r}"
        )
    return counts


def _imbalance_ratio(counts: tuple[float, ...] | None) -> float:
    return 1.0 if counts is None else max(counts) / min(counts)


def _rounded(x: float) -> float:
    return float(f"{x:.4g}")


def _inverse_frequency(counts: tuple[float, ...]) -> list[float]:
    """Class weights n / (C n_c): 1 for every class when they are balanced."""
    total = sum(counts)
    return [_rounded(total / (len(counts) * c)) for c in counts]


# -------------------------------------------------------------- the candidates
#
# Each task's ranking below is a deliberate, curated choice: every loss in it comes with a
# reason and options written for that situation, so the lists are not derived from the
# registry.  What the registry decides: a loss that is not registered is left out
# (`_single`, `_composite`), and options such as `from_logits` and `axis` are set only
# for losses that take them.


@dataclasses.dataclass
class _Candidate:
    parts: tuple[Term, ...]
    reason: str
    loss: str = ""


def _single(name: str, reason: str, **options: Any) -> _Candidate | None:
    if name not in available():
        return None
    return _Candidate((Term(name, options),), reason)


def _composite(
    parts: Sequence[tuple[str, float, Mapping[str, Any]]], reason: str
) -> _Candidate | None:
    if any(name not in available() for name, _, _ in parts):
        return None
    terms = tuple(Term(name, dict(options), weight=w) for name, w, options in parts)
    return _Candidate(terms, reason)


def _logits_option(name: str, logits: bool) -> dict[str, Any]:
    """``from_logits`` for losses that take it (some take logits only)."""
    if name in available() and "from_logits" in get_loss(name).options:
        return {"from_logits": logits}
    return {}


def _regression(outliers: bool, intervals: bool) -> list[_Candidate | None]:
    interval = None
    if intervals and "quantile" in available():
        interval = _Candidate(
            (
                Term("quantile", {"q": 0.05}, inputs=("lower", "target")),
                Term("quantile", {"q": 0.95}, inputs=("upper", "target")),
            ),
            "You asked for intervals: train one output per quantile. The q = 0.05 and "
            "q = 0.95 outputs bound a 90% prediction interval, and the quantile loss is as "
            "robust to outliers as the absolute error.",
            "quantile (q=0.05) + quantile (q=0.95)",
        )
    gaussian = (
        _single(
            "gaussian_nll",
            "Predict a mean and a variance per sample: the variance gives an error bar "
            "for each prediction (mean +/- 1.645 sd for 90% if the noise is Gaussian).",
        )
        if intervals
        else None
    )
    if outliers:
        ranked = [
            interval,
            _single(
                "huber",
                "Outliers: quadratic for errors below delta and linear above, so a few bad "
                "targets cannot dominate the gradient. delta is in target units: 1.0 suits "
                "standardised targets; set it near the spread of the clean errors.",
                delta=1.0,
            ),
            _single(
                "log_cosh",
                "Outliers, no threshold to tune: like e^2/2 for small errors and like |e| "
                "for large ones, smooth everywhere, gradient bounded by 1. Standardise the "
                "targets first (the switch is near an error of 1).",
            ),
            _single(
                "mae",
                "Strong outliers: every unit of error costs the same and the model predicts "
                "the median. Its gradient does not shrink near the optimum, so decay the "
                "learning rate.",
            ),
            gaussian,
        ]
    else:
        ranked = [
            interval,
            _single(
                "mse",
                "Clean targets with roughly Gaussian noise: the model predicts the mean and "
                "the gradient shrinks as it gets close.",
            ),
            _single(
                "huber",
                "A safe alternative if you are not sure the targets are clean: it equals "
                "MSE/2 for errors below delta and caps the gradient of larger ones.",
                delta=1.0,
            ),
            _single(
                "log_cosh",
                "Smooth like MSE near zero, with bounded gradients for large errors and no "
                "threshold to tune.",
            ),
            gaussian,
        ]
    return ranked


def _binary(
    task: str, labels: str, outliers: bool, counts: tuple[float, ...] | None, logits: bool
) -> list[_Candidate | None]:
    if labels == "sign":
        return [
            _single(
                "hinge",
                "Labels are -1/+1 and only the decision matters: the SVM margin loss ignores "
                "points already beyond the margin.",
            ),
            _single(
                "squared_hinge",
                "Like hinge but smooth at the margin, and harder on large violations.",
            ),
            _single(
                "binary_cross_entropy",
                "If you need probabilities, convert the labels to 0/1 ((y + 1) / 2) and use "
                "cross-entropy.",
                **_logits_option("binary_cross_entropy", logits),
            ),
        ]
    if counts is not None and len(counts) != 2:
        raise LossInputError(
            f"imbalance for a {task} task must be positives:negatives, two counts; got "
            f"{len(counts)} counts"
        )
    what = "per label " if task == "multi-label" else ""
    logit = _logits_option("binary_cross_entropy", logits)
    noise = {"label_smoothing": 0.1} if outliers else {}
    noise_note = (
        " label_smoothing=0.1 limits how much a mislabelled example can cost." if outliers else ""
    )
    ratio = _imbalance_ratio(counts)
    if counts is None or ratio < _BALANCED_BELOW:
        balance = (
            ""
            if counts is None
            else f" The classes are roughly balanced ({counts[0]:g}:{counts[1]:g}), so no "
            "weighting is needed."
        )
        return [
            _single(
                "binary_cross_entropy",
                f"The standard loss for {task} targets: an independent yes/no {what}with "
                f"calibrated probabilities.{balance}{noise_note}",
                **logit,
                **noise,
            ),
            None
            if outliers
            else _single(
                "binary_focal",
                "If many examples are easy and the errors concentrate on a few hard ones: "
                "the focal term scales down confident correct predictions.",
                gamma=2.0,
                **_logits_option("binary_focal", logits),
            ),
        ]
    positives, negatives = counts
    pos_weight = _rounded(negatives / positives)
    rare = "positives" if positives < negatives else "negatives"
    common = "negatives" if rare == "positives" else "positives"
    # alpha weights the positive class: 0.75 puts three times the weight on the rare
    # class (the losskit lab's setting); Lin et al.'s 0.25 is the same rule seen from
    # RetinaNet, where the focal term had already removed the easy negatives
    alpha = _FOCAL_ALPHA_RARE if rare == "positives" else 1 - _FOCAL_ALPHA_RARE
    weighted = _single(
        "binary_cross_entropy",
        f"Imbalance {positives:g}:{negatives:g} (positives:negatives), rare {rare}: "
        f"pos_weight = negatives / positives = {pos_weight:g} makes the positives weigh as "
        f"much in total as the negatives"
        f"{' (the same value for every label; pass one value per label if they differ)' if what else ''}. "
        f"Simple, and the only change from plain cross-entropy.{noise_note}",
        pos_weight=pos_weight,
        **logit,
        **noise,
    )
    focal = _single(
        "binary_focal",
        f"Imbalance {positives:g}:{negatives:g}, rare {rare}: the focal term (gamma = 2) "
        f"fades out the easy examples, mostly the plentiful {common}, and alpha = {alpha:g} "
        f"weights the {rare} {_FOCAL_ALPHA_RARE / (1 - _FOCAL_ALPHA_RARE):g} times as much as "
        f"the {common} (alpha weights the positives; the losskit lab uses 0.75 for rare "
        "positives). Lin et al. found alpha = 0.25 best with gamma = 2 for RetinaNet, whose "
        "focal term already removes most easy negatives: tune alpha between 0.25 and 0.75. "
        "Probabilities come out under-confident."
        + (
            " With noisy labels prefer weighted cross-entropy: focal loss emphasises them."
            if outliers
            else ""
        ),
        gamma=2.0,
        alpha=alpha,
        **_logits_option("binary_focal", logits),
    )
    asymmetric = None
    if task == "multi-label" and rare == "positives":
        asymmetric = _single(
            "asymmetric_focal",
            f"Multi-label with rare positives ({positives:g}:{negatives:g} per label): the "
            "asymmetric loss (ASL) discounts the many easy negatives (gamma_neg = 4) while "
            "the positives keep their full gradient (gamma_pos = 0), and its margin clip = "
            "0.05 drops negatives predicted below 5%. It needs no count per label, and the "
            "margin also plays down confident negatives that are missing labels. "
            "Probabilities come out biased; tune gamma_neg between 2 and 4.",
            gamma_pos=0.0,
            gamma_neg=4.0,
            clip=0.05,
            **_logits_option("asymmetric_focal", logits),
        )
    if outliers:
        return [weighted, asymmetric, focal]
    if ratio >= _EXTREME_FROM:
        return [asymmetric, focal, weighted] if asymmetric else [focal, weighted]
    return [weighted, asymmetric, focal]


def _multi_class(
    labels: str, outliers: bool, counts: tuple[float, ...] | None, logits: bool
) -> list[_Candidate | None]:
    sparse = labels == "integer"
    ce = "sparse_categorical_cross_entropy" if sparse else "categorical_cross_entropy"
    focal = "sparse_categorical_focal" if sparse else "categorical_focal"
    label_note = (
        "integer labels, read directly without a one-hot array"
        if sparse
        else f"{labels} targets of the predictions' shape"
    )
    logit = _logits_option(ce, logits)
    noise = {"label_smoothing": 0.1} if outliers else {}
    noise_note = (
        " label_smoothing=0.1 limits how much a mislabelled example can cost." if outliers else ""
    )
    ratio = _imbalance_ratio(counts)
    robust = None
    if outliers and sparse:
        robust = _single(
            "generalized_cross_entropy",
            "Noisy labels: the generalized cross-entropy (1 - p^q) / q with q = 0.7 is "
            "bounded by 1/q, so a mislabelled example costs at most that, where "
            "cross-entropy's -log p has no bound (Zhang & Sabuncu found it more accurate "
            "than cross-entropy at 20-40% label noise). It trains more slowly: lower q "
            "towards 0.4 if it underfits.",
            q=0.7,
            **_logits_option("generalized_cross_entropy", logits),
        )
    ranked: list[_Candidate | None] = []
    if counts is None or ratio < _BALANCED_BELOW:
        ranked.append(
            _single(
                ce,
                f"One class per example, {label_note}: the standard softmax cross-entropy."
                f"{noise_note}",
                **logit,
                **noise,
            )
        )
        ranked.append(robust)
        if labels == "soft":
            ranked.append(
                _single(
                    "kl_divergence",
                    "Soft targets: same gradients as cross-entropy, but the value is 0 when "
                    "the prediction matches the target distribution. For a teacher's logits, "
                    "see the distillation task (temperature, T^2).",
                    **_logits_option("kl_divergence", logits),
                )
            )
        if not outliers:
            ranked.append(
                _single(
                    focal,
                    "If most examples are easy and a few hard ones matter: the focal term "
                    "scales down confident correct predictions.",
                    gamma=2.0,
                    **_logits_option(focal, logits),
                )
            )
        return ranked
    if len(counts) > 2:
        weights = _inverse_frequency(counts)
        weight_note = (
            f"class_weights = n / (C n_c) = {weights} from your counts (1 for every class "
            "when balanced)"
        )
        weighted_options: dict[str, Any] = {"class_weights": weights}
        focal_options: dict[str, Any] = {"alpha": weights}
    else:
        weights = None
        weight_note = (
            f"the rarest class is {ratio:g} times less frequent than the most common one: "
            "set class_weights = n / (C n_c) from your class counts (pass the counts, "
            "e.g. --imbalance 5000:300:40, and they are computed for you)"
        )
        weighted_options = {}
        focal_options = {}
    weighted = _single(
        ce,
        f"Imbalanced classes, {label_note}: {weight_note}. The mean is normalised by the "
        f"weights of the true classes, so the loss keeps its scale.{noise_note}",
        **weighted_options,
        **logit,
        **noise,
    )
    focused = _single(
        focal,
        "Imbalanced classes with many easy examples: the focal term (gamma = 2) fades out "
        "confident correct predictions"
        + (f", and alpha = {weights} weights the classes" if weights else "")
        + ". Probabilities come out under-confident."
        + (" With noisy labels prefer weighted cross-entropy." if outliers else ""),
        gamma=2.0,
        **focal_options,
        **_logits_option(focal, logits),
    )
    if outliers:
        return [weighted, robust, focused]
    return [focused, weighted] if ratio >= _EXTREME_FROM else [weighted, focused]


def _segmentation(
    labels: str, counts: tuple[float, ...] | None, overlap: bool, logits: bool
) -> list[_Candidate | None]:
    multi = labels in ("integer", "one-hot")
    axis = {"axis": 1} if multi else {}
    ce = (
        "binary_cross_entropy"
        if not multi
        else "sparse_categorical_cross_entropy"
        if labels == "integer"
        else "categorical_cross_entropy"
    )
    layout = (
        "multi-class masks, classes on axis 1 ([N, C, H, W])"
        if multi
        else "binary masks ([N, H, W] or [N, 1, H, W])"
    )

    def opts(name: str, **extra: Any) -> dict[str, Any]:
        options = dict(extra)
        if multi and name in available() and "axis" in get_loss(name).options:
            options.update(axis)
        options.update(_logits_option(name, logits))
        return options

    ratio = _imbalance_ratio(counts)
    small = counts is not None and ratio >= _BALANCED_BELOW
    composite = _composite(
        [("dice", 0.5, opts("dice")), (ce, 0.5, opts(ce))],
        f"The robust default for {layout}: Dice scores the overlap of each mask, "
        "whatever its size, and cross-entropy gives smooth per-pixel gradients early in "
        "training, when the overlap is still near zero.",
    )
    dice = _single(
        "dice",
        "Overlap matters more than per-pixel accuracy: Dice (F1 of the masks) is "
        "insensitive to how much background there is. Statistics are per sample, so a "
        "small object counts as much as a large one.",
        **opts("dice"),
    )
    jaccard = _single(
        "jaccard",
        "The metric you report is IoU: the soft Jaccard loss optimises it directly and "
        "penalises partial overlaps a little more than Dice.",
        **opts("jaccard"),
    )
    lovasz_name = "lovasz_softmax" if multi else "lovasz_hinge"
    lovasz = (
        _single(
            lovasz_name,
            "Boundaries and IoU matter: the Lovasz extension is a tight convex surrogate of "
            "the IoU loss. Often used to fine-tune a model trained with Dice + "
            "cross-entropy.",
            **opts(lovasz_name),
        )
        if logits or "from_logits" in _options_of(lovasz_name)
        else None
    )
    tversky_options = {"alpha": 0.3, "beta": 0.7}
    tversky = _single(
        "tversky",
        f"Small foreground ({_ratio_text(counts)}): Tversky with alpha = 0.3 on false "
        "positives and beta = 0.7 on false negatives trades precision for recall, so small "
        "structures are not missed.",
        **opts("tversky", **tversky_options),
    )
    focal_tversky = _single(
        "focal_tversky",
        "Very small or hard structures: the focal exponent on the Tversky loss keeps "
        "pushing on masks that are still badly segmented.",
        **opts("focal_tversky", **tversky_options),
    )
    generalized = (
        _single(
            "generalized_dice",
            f"Classes of very different sizes ({_ratio_text(counts)}): generalised Dice "
            "weights each class by the inverse of its volume squared in one ratio, so a "
            "small structure counts as much as the background; an absent class keeps a "
            "finite weight.",
            **opts("generalized_dice"),
        )
        if multi and "generalized_dice" in available()
        else None
    )
    if small:
        ranked = [tversky, composite, generalized, focal_tversky, dice]
    elif overlap:
        ranked = [composite, dice, lovasz, jaccard]
    else:
        ranked = [composite, dice, jaccard, lovasz]
    return ranked


def _options_of(name: str) -> dict[str, Any]:
    return get_loss(name).options if name in available() else {}


def _ratio_text(counts: tuple[float, ...] | None) -> str:
    if counts is None:
        return "imbalanced"
    return ":".join(f"{c:g}" for c in counts)


def _detection(
    box_format: str, overlap: bool, counts: tuple[float, ...] | None, logits: bool
) -> list[_Candidate | None]:
    fmt = {} if box_format == "xyxy" else {"box_format": box_format}

    def box(variant: str, reason: str) -> _Candidate | None:
        if "box_iou" not in available():
            return None
        options = {"variant": variant, **fmt}
        return _Candidate((Term("box_iou", options),), reason, f"box_iou (variant={variant!r})")

    giou = box(
        "giou",
        "Box regression scored by overlap, as detectors are evaluated: generalised IoU "
        "still gives a gradient when the predicted and true boxes do not overlap.",
    )
    ciou = box(
        "ciou",
        "Tight localisation: complete IoU adds the distance between centres and the "
        "difference in aspect ratio, and usually converges faster than GIoU.",
    )
    diou = box(
        "diou",
        "Like CIoU without the aspect-ratio term: overlap plus centre distance.",
    )
    smooth = _single(
        "smooth_l1",
        "Regressing box offsets (R-CNN style deltas) rather than boxes: the Fast R-CNN "
        "coordinate loss; often combined with an IoU loss.",
        beta=1.0,
    )
    alpha = 0.25
    classification = _single(
        "binary_focal",
        "For the classification head of a dense detector: most anchors are easy background"
        + (f" ({_ratio_text(counts)})" if counts else "")
        + f"; focal loss with gamma = 2 and alpha = {alpha} is the RetinaNet setting.",
        gamma=2.0,
        alpha=alpha,
        **_logits_option("binary_focal", logits),
    )
    ranked = [ciou, giou, diou] if overlap else [giou, ciou, diou]
    return [*ranked, smooth, classification]


def _generative(logits: bool) -> list[_Candidate | None]:
    def pair(variant_d: str, variant_g: str, reason: str) -> _Candidate | None:
        if "gan_discriminator" not in available() or "gan_generator" not in available():
            return None
        options = {} if logits else {"from_logits": False}
        terms = (
            Term("gan_discriminator", {"variant": variant_d, **options}, role="d_loss"),
            Term("gan_generator", {"variant": variant_g, **options}, role="g_loss"),
        )
        name = f"gan_discriminator (variant={variant_d!r}) + gan_generator (variant={variant_g!r})"
        return _Candidate(terms, reason, name)

    if not logits:
        # only the logistic losses are defined on probabilities
        return [
            pair(
                "minimax",
                "non_saturating",
                "The standard GAN on discriminator probabilities: the non-saturating "
                "generator loss keeps strong gradients while the generator is still poor. "
                "Outputting logits instead is more stable and opens the other variants.",
            )
        ]
    return [
        pair(
            "hinge",
            "hinge",
            "Hinge GAN loss, used by spectral-normalisation GANs and BigGAN: stable "
            "training with a margin on the discriminator. In the lab's ring it is in the "
            "top group with least squares and minimax.",
        ),
        pair(
            "least_squares",
            "least_squares",
            "Least-squares GAN: penalises samples far from the decision boundary even when "
            "they are on the correct side, which reduces vanishing gradients.",
        ),
        pair(
            "minimax",
            "non_saturating",
            "The original GAN with the non-saturating generator loss, which keeps strong "
            "gradients when the discriminator wins early (images). Inputs are "
            "discriminator logits. On the lab's 2-D ring, where the discriminator does not "
            "win early, it came last and the saturating minimax generator "
            "(variant='minimax') trained as well as hinge and least squares: no GAN loss "
            "wins everywhere (Lucic et al., 2018, found none better on images once tuned).",
        ),
        pair(
            "wasserstein",
            "wasserstein",
            "Wasserstein GAN: the critic estimates an earth-mover distance. It needs a "
            "Lipschitz constraint (gradient penalty or spectral normalisation), which is "
            "not part of the loss.",
        ),
    ]


def _named_by_options(candidates: list[_Candidate | None]) -> list[_Candidate | None]:
    """A loss recommended twice is shown with the options that tell the two apart."""
    names = [c.parts[0].loss for c in candidates if c is not None]
    for candidate in candidates:
        if candidate is not None and names.count(candidate.parts[0].loss) > 1:
            term = candidate.parts[0]
            written = ", ".join(f"{k}={v!r}" for k, v in term.options.items())
            candidate.loss = f"{term.loss} ({written})"
    return candidates


def _embedding(labels: str) -> list[_Candidate | None]:
    return _named_by_options(_embedding_candidates(labels))


def _embedding_candidates(labels: str) -> list[_Candidate | None]:
    if labels == "pairs":
        return [
            _single(
                "info_nce",
                "Two views or two modalities of each example (an image and its caption, a query "
                "and its document): each must find its partner among all those of the batch, in "
                "both directions, which is CLIP's loss. Bigger batches give more negatives and "
                "better embeddings; across GPUs, losskit.torch.distributed_contrastive."
                "global_info_nce gathers the negatives of every rank.",
                temperature=0.07,
                symmetric=True,
            ),
            _single(
                "nt_xent",
                "Two augmented views of each image through one encoder (SimCLR): embeddings = "
                "concat([view1, view2]) and labels = concat([arange(N), arange(N)]), so every "
                "view is an anchor and every other image's views are its negatives.",
                temperature=0.1,
            ),
            _single(
                "info_nce",
                "One-way, when only the queries are trained to find their keys, or when the "
                "keys come with a queue of earlier keys as extra negatives (MoCo: pass them "
                "after the batch's keys).",
                temperature=0.07,
            ),
        ]
    if labels == "classes":
        return [
            _single(
                "supervised_contrastive",
                "A class label per example and several examples of each class in every batch "
                "(sample classes, then examples): all same-class embeddings are pulled "
                "together at once. An anchor whose class appears once in the batch is left "
                "out, so batches need repeats.",
                temperature=0.1,
            ),
            _single(
                "arcface",
                "Many classes (identities in face or speaker recognition): a learnable centre "
                "per class and an angular margin make classes compact on the sphere; no batch "
                "composition needed. Pass the centres, a [C, D] parameter of your model; "
                "lower the scale (16 to 32) for a few dozen classes.",
                scale=64.0,
                margin=0.5,
            ),
            _single(
                "cosface",
                "The same idea with the margin on the cosine instead of the angle: as "
                "effective in practice, and its margin is the same everywhere on the sphere.",
                scale=64.0,
                margin=0.35,
            ),
            _single(
                "triplet_margin",
                "Triplets drawn from the labels (an anchor, one of its class, one of another): "
                "simple and memory-light, but random triplets are mostly satisfied already; "
                "mine the hardest negative of each anchor in the batch.",
                margin=0.2,
                distance="cosine",
            ),
        ]
    if labels == "triplets":
        return [
            _single(
                "triplet_margin",
                "Mined triplets: the anchor must be nearer its positive than its negative by "
                "the margin, the Euclidean distance as in PyTorch's TripletMarginLoss.",
                margin=1.0,
            ),
            _single(
                "triplet_margin",
                "With the distance swap, the negative's distance is the smaller of its "
                "distances to the anchor and to the positive: a harder negative at no cost.",
                margin=1.0,
                swap=True,
            ),
        ]
    if labels == "pair-labels":
        return [
            _single(
                "pair_contrastive",
                "Pairs labelled similar (1) or dissimilar (0): similar pairs are pulled "
                "together, dissimilar ones pushed at least the margin apart (Hadsell et al.).",
                margin=1.0,
            ),
            _single(
                "cosine_embedding",
                "The same with angles only, as PyTorch's CosineEmbeddingLoss: labels 1 and -1 "
                "(2 y - 1 from 0/1 labels); the length of the embeddings does not count.",
                margin=0.0,
            ),
        ]
    if labels == "preferences":
        return [
            _single(
                "margin_ranking",
                "Pairwise preferences (which of two items ranks higher): the preferred score "
                "must exceed the other by the margin; a margin of 0 trains only the order and "
                "lets the scores collapse together.",
                margin=1.0,
            )
        ]
    return [
        _single(
            "cosine_similarity",
            "A target vector per example (a teacher's embedding, BYOL's projection): the "
            "prediction's direction is pulled towards the target's, whatever their lengths.",
        )
    ]


def _distillation(labels: str, logits: bool) -> list[_Candidate | None]:
    if labels == "probabilities":
        return _named_by_options(
            [
                _single(
                    "kl_divergence",
                    "Only the teacher's probabilities are at hand (no logits, so no "
                    "temperature): match them with the forward KL, KL(teacher || student), "
                    "which has cross-entropy's gradients and is 0 at a perfect match.",
                    **_logits_option("kl_divergence", logits),
                ),
                _single(
                    "jensen_shannon",
                    "When the teacher's probabilities may be wrong or the student cannot "
                    "match them: the Jensen-Shannon divergence is bounded by log 2, so no "
                    "example dominates.",
                    **_logits_option("jensen_shannon", logits),
                ),
            ]
        )
    if not logits:
        raise LossInputError(
            "distillation divides the student's logits by a temperature: give logits "
            "(logits=True), or labels='probabilities' to match the teacher's probabilities"
        )
    if labels == "tokens":
        return _named_by_options(
            [
                _single(
                    "distillation",
                    "A language model distilled token by token: KL(teacher || student) over "
                    "the vocabulary at every position; target holds the token labels and "
                    "padding positions (-100) are left out of the mean.",
                    ignore_index=-100,
                ),
                _single(
                    "distillation",
                    "A student much smaller than the teacher, trained on sequences it "
                    "generates: the reverse KL (beta=1) lets it drop modes it cannot "
                    "represent instead of spreading probability over them (MiniLLM, GKD).",
                    beta=1.0,
                    ignore_index=-100,
                ),
                _single(
                    "distillation",
                    "Between the two: the generalised Jensen-Shannon divergence, bounded, "
                    "which GKD found the most robust across tasks (beta from 0.1 to 0.9).",
                    beta=0.5,
                    ignore_index=-100,
                ),
            ]
        )
    return [
        _composite(
            [
                ("distillation", 0.9, {"temperature": 4.0}),
                ("sparse_categorical_cross_entropy", 0.1, {"from_logits": True}),
            ],
            "Hinton's knowledge distillation with labels: the student matches the "
            "teacher's softened distribution (T = 4; the loss carries the T^2 factor), and "
            "a small weight on the hard labels anchors it where the teacher is wrong. One "
            "composite over (pred, target, teacher): losskit.combine({...}).",
        ),
        _single(
            "distillation",
            "No labels (a transfer set labelled by the teacher alone): the soft targets "
            "are the whole signal; pass target=None.",
            temperature=4.0,
        ),
    ]


def _sequence(labels: str, outliers: bool, logits: bool) -> list[_Candidate | None]:
    if labels == "unaligned":
        inputs = "" if logits else " pred holds log-probabilities (a log_softmax output)."
        return [
            _single(
                "ctc",
                "Label sequences with no frame-level alignment (speech, handwriting, OCR): "
                "CTC sums over every alignment of the labels to the frames. "
                "zero_infinity=True drops a transcript too long for its frames instead of "
                "letting inf stop training. The mean divides each sequence's loss by its "
                "target length (torch.nn.CTCLoss); reduction='sum' weighs long transcripts "
                "more (Keras's and optax's per-sequence values)." + inputs,
                zero_infinity=True,
                **_logits_option("ctc", logits),
            )
        ]
    if not logits:
        raise LossInputError(
            "token and frame labels are trained from logits (log-softmax inside the loss): "
            "give logits (logits=True)"
        )
    smoothing = 0.1 if outliers else 0.0
    tokens = labels == "tokens"
    first = _single(
        "sparse_categorical_cross_entropy",
        (
            "Next-token prediction: cross-entropy over the vocabulary at every position, "
            "prompt and padding labelled -100 and left out of the mean. With micro-batches "
            "or several ranks, divide by the global token count (normalizer=, counted by "
            "losskit.jax.token_count or losskit.torch.GlobalTokenMean); with a vocabulary of 32k tokens or more, losskit.torch."
            "linear_cross_entropy never builds the [tokens, vocabulary] logits."
            if tokens
            else "Labels already aligned to the frames (one per frame): a per-frame "
            "cross-entropy is simpler and faster than CTC; padding frames labelled -100."
        )
        + (" Label smoothing (0.1) limits the pull of wrong labels." if smoothing else ""),
        from_logits=True,
        ignore_index=-100,
        **({"label_smoothing": smoothing} if smoothing else {}),
    )
    candidates = [first]
    if tokens and "z_loss" in get_loss("sparse_categorical_cross_entropy").options:
        candidates.append(
            _single(
                "sparse_categorical_cross_entropy",
                "Large models trained in low precision: a small z-loss (1e-4, PaLM) keeps "
                "the log-partition near 0, so logits do not drift until bfloat16 loses "
                "them.",
                from_logits=True,
                ignore_index=-100,
                z_loss=1e-4,
            )
        )
    return _named_by_options(candidates)


def _preference(labels: str, outliers: bool) -> list[_Candidate | None]:
    if labels == "unpaired":
        return [
            _single(
                "kto",
                "Single responses marked desirable or not (thumbs up or down), no pairs: "
                "KTO compares each to a reference point, the batch's KL estimate. Raise "
                "desirable_weight or undesirable_weight so that weight times count is "
                "about equal for the two kinds.",
                beta=0.1,
            )
        ]
    if labels == "pairs-without-reference":
        return [
            _single(
                "simpo",
                "Chosen and rejected responses, no reference model in memory: SimPO "
                "compares length-normalised log-probabilities (average per token) with a "
                "target margin gamma.",
                beta=2.0,
                gamma=0.5,
            ),
            _single(
                "orpo",
                "Supervised fine-tuning and alignment in one step: the chosen response's "
                "NLL plus an odds-ratio penalty on the rejected one, no reference model.",
                lambda_=0.1,
            ),
        ]
    noisy = _single(
        "dpo",
        "Preference labels that are sometimes wrong (annotators disagree): conservative "
        "DPO assumes a flip probability (label_smoothing 0.1), so a confidently "
        "'wrong' pair stops pulling.",
        beta=0.1,
        label_smoothing=0.1,
    )
    candidates = [
        _single(
            "dpo",
            "Chosen and rejected responses with a frozen reference model: DPO's sigmoid "
            "loss on the difference of policy-to-reference log-ratios. beta (0.1) sets "
            "how far the policy may move from the reference. Get per-sequence "
            "log-probabilities from logits with losskit.sequence_log_probs.",
            beta=0.1,
        ),
        _single(
            "dpo",
            "IPO: a squared loss towards a finite margin instead of the sigmoid, which "
            "keeps pushing on pairs already separated and can over-fit deterministic "
            "preferences.",
            beta=0.1,
            form="ipo",
        ),
    ]
    return _named_by_options([noisy, *candidates] if outliers else [*candidates, noisy])


def _evidence(parts: Sequence[Term]) -> tuple[str, ...]:
    """The lab's measurements of a recommendation's losses, each scenario once."""
    found: dict[str, None] = {}
    for term in parts:
        found.update(dict.fromkeys(lab_evidence(term.loss)))
    return tuple(found)


# ---------------------------------------------------------------- the advisor


def recommend(
    task: str,
    *,
    labels: str | None = None,
    outliers: bool = False,
    imbalance: str | float | Sequence[float] | None = None,
    overlap: bool = False,
    logits: bool = True,
    intervals: bool = False,
) -> list[Recommendation]:
    """Losses ranked for a described problem, each with its reason, options and code.

    Args:
        task: ``regression``, ``binary``, ``multi-label``, ``multi-class``,
            ``segmentation``, ``detection``, ``generative``, ``embedding``,
            ``distillation``, ``sequence`` or ``preference``, in any case and with any separator (``multiclass``,
            ``Multi_Label``), or a synonym (``gan``, ``contrastive``,
            ``metric-learning``, ``retrieval``, ``kd``).
        labels: the target format. Binary: ``binary`` (0/1, default), ``soft`` or
            ``sign`` (-1/+1). Multi-class: ``integer`` (default), ``one-hot`` or
            ``soft``. Segmentation: ``binary`` masks (default), ``integer`` or
            ``one-hot`` multi-class masks. Detection: the box format ``xyxy``
            (default), ``xywh`` or ``cxcywh``. Embedding: ``pairs`` (two views or
            modalities of each example, default), ``classes`` (a class label per
            example), ``triplets`` (mined anchor, positive and negative),
            ``pair-labels`` (pairs marked similar or not), ``preferences`` (which of
            two items ranks higher) or ``vectors`` (a target vector per example).
            Distillation: ``logits`` (the teacher's logits for a classifier, default),
            ``tokens`` (a language model's, per token with padding) or
            ``probabilities`` (only the teacher's probabilities). Sequence:
            ``unaligned`` label sequences shorter than the frames (CTC, default),
            ``tokens`` (a language model's next tokens) or ``aligned`` (one label per
            frame). Preference: ``pairs`` (chosen and rejected responses with a
            reference model, default), ``pairs-without-reference`` or ``unpaired``
            (single responses marked desirable or not).
        outliers: regression targets with outliers, or classification, token or
            preference labels with noise (mislabelled examples).
        imbalance: class frequencies: ``"1:50"`` (binary: positives to negatives), a
            number ``r`` (one positive per ``r`` negatives), or class counts
            ``"5000:300:40"`` / ``[5000, 300, 40]`` (multi-class, in class order;
            segmentation: foreground to background).
        overlap: segmentation or detection where the overlap and boundaries matter
            most (the IoU you report).
        logits: whether the model outputs logits (True) or probabilities (False).
        intervals: regression where you want prediction intervals.

    Returns:
        Recommendations, best first, each with ``rank``, ``loss``, ``reason``,
        ``options`` and ``code`` (per framework). Only registered losses appear.

    Examples:
        >>> import losskit
        >>> best = losskit.recommend("binary", imbalance="1:50")[0]
        >>> best.loss, best.options["pos_weight"]
        ('binary_cross_entropy', 50.0)
        >>> [r.loss for r in losskit.recommend("regression", outliers=True)][:3]
        ['huber', 'log_cosh', 'mae']
    """
    task = normalise_task(task, among=ADVISOR_TASKS)
    formats = LABEL_FORMATS[task]
    if labels is None:
        labels = formats[0]
    labels = labels.strip().lower().replace("onehot", "one-hot").replace("_", "-")
    if labels not in formats:
        raise LossInputError(
            f"labels for {'an' if task[0] in 'aeiou' else 'a'} {task} task must be one of "
            f"{', '.join(formats)}; got {labels!r}"
        )
    if overlap and task not in ("segmentation", "detection"):
        raise LossInputError(
            f"overlap applies to segmentation and detection tasks; got task {task!r}"
        )
    if intervals and task != "regression":
        raise LossInputError(f"intervals applies to regression tasks; got task {task!r}")
    if outliers and task in ("embedding", "distillation", "generative"):
        raise LossInputError(
            f"outliers applies to regression targets and classification labels; got task {task!r}"
        )
    if imbalance is not None and task in (
        "regression",
        "generative",
        "embedding",
        "distillation",
        "sequence",
        "preference",
    ):
        raise LossInputError(
            f"imbalance applies to classification, segmentation and detection; got task {task!r}"
        )
    counts = parse_imbalance(imbalance)

    if task == "regression":
        candidates = _regression(outliers, intervals)
    elif task in ("binary", "multi-label"):
        candidates = _binary(task, labels, outliers, counts, logits)
    elif task == "multi-class":
        candidates = _multi_class(labels, outliers, counts, logits)
    elif task == "segmentation":
        candidates = _segmentation(labels, counts, overlap, logits)
    elif task == "detection":
        candidates = _detection(labels, overlap, counts, logits)
    elif task == "embedding":
        candidates = _embedding(labels)
    elif task == "distillation":
        candidates = _distillation(labels, logits)
    elif task == "sequence":
        candidates = _sequence(labels, outliers, logits)
    elif task == "preference":
        candidates = _preference(labels, outliers)
    else:
        candidates = _generative(logits)

    recommendations = []
    for candidate in candidates:
        if candidate is None:
            continue
        name = candidate.loss or " + ".join(p.loss for p in candidate.parts)
        recommendations.append(
            Recommendation(
                rank=len(recommendations) + 1,
                loss=name,
                reason=candidate.reason,
                parts=candidate.parts,
                code=code_for(candidate.parts),
                evidence=_evidence(candidate.parts),
            )
        )
    return recommendations

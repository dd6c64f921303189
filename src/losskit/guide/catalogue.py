"""What losskit knows about each loss, in the forms people read.

Everything here is derived from the :class:`~losskit.core.registry.LossInfo` records
that :func:`~losskit.core.registry.register_loss` keeps beside each loss (formula,
declared options) and from the guide's prose (:mod:`losskit.guide.entries`), so the
command line, the advisor and the documentation cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from losskit.core.registry import TASKS, LossInfo, get_loss
from losskit.core.specs import parse_loss_spec, parse_option_value
from losskit.errors import LossInputError
from losskit.guide.entries import GuideEntry, guide_entry
from losskit.guide.evidence import lab_evidence
from losskit.guide.examples import Term, adapter_defaults, code_for
from losskit.guide.formula import formula_lines, formula_notes

__all__ = [
    "GUIDE_FIELDS",
    "INPUT_FORMS",
    "SENSITIVITY_LEVELS",
    "code_examples",
    "entry",
    "has_guide_metadata",
    "hyperparameters",
    "metadata_problems",
    "parse_loss_spec",  # the loss-spec parser, from losskit.core.specs
    "parse_option_value",
    "sensitivity_level",
]

#: The fields every built-in loss fills in, in the order ``explain`` shows them: the
#: first three come from the loss's registration, the rest from its guide entry.
GUIDE_FIELDS: tuple[str, ...] = (
    "tasks",
    "summary",
    "formula",
    "explanation",
    "good_for",
    "not_good_for",
    "outlier_sensitivity",
    "imbalance_sensitivity",
    "input_forms",
    "hyperparameters",
    "references",
)

#: Fields that may legitimately be empty: a loss without options has no hyperparameters.
_MAY_BE_EMPTY = frozenset({"hyperparameters"})

#: The vocabulary of ``input_forms``: what a loss's arrays may hold.
INPUT_FORMS: dict[str, str] = {
    "real values": "real-valued predictions and targets of the same shape",
    "probabilities": "predictions are probabilities in [0, 1] (from_logits=False)",
    "logits": "predictions are raw scores, turned into probabilities inside the loss "
    "(from_logits=True)",
    "log-probability predictions": "predictions are log-probabilities along the class axis "
    "(a log-softmax output)",
    "scores": "real-valued scores whose sign, or largest class, is the decision (no probabilities)",
    "binary labels": "targets are 0 or 1, one per prediction",
    "sign labels": "targets are -1 or +1, one per prediction",
    "soft labels": "targets are probabilities (label smoothing, distillation, mixup)",
    "one-hot labels": "targets are one-hot vectors along the class axis, pred's shape",
    "integer labels": "targets are class indices 0..C-1, pred's shape without the class axis",
    "counts": "targets are non-negative counts",
    "log-rates": "predictions are logarithms of Poisson rates (log_input=True)",
    "rates": "predictions are non-negative Poisson rates (log_input=False)",
    "variances": "a third array holds predicted variances, >= 0",
    "masks": "targets are segmentation masks (binary, one-hot or integer labels per pixel)",
    "boxes": "predictions and targets are boxes, 4 coordinates on the last axis",
    "distance maps": "a further array holds distance maps of the target masks, pred's shape "
    "(losskit.distance_maps, computed once per target in the data pipeline)",
    "images": "predictions and targets are batches of images [N, C, H, W] or volumes "
    "[N, C, D, H, W] of the same shape, pixel values in a known range (data_range)",
    "edge distributions": "predictions are logits over the bins 0..n of a box edge on an "
    "axis; targets are continuous edge distances in [0, n], pred's shape without that axis",
    "discriminator outputs": "the discriminator's outputs on real and generated samples",
    "embeddings": "predictions are embedding vectors on the last axis, compared by direction "
    "or distance",
    "paired views": "two arrays of embeddings matched row by row (two views of an example, an "
    "image and its caption); the other rows are negatives",
    "group labels": "one label per embedding, of any type; embeddings with equal labels are "
    "positives of each other",
    "triplets": "anchor, positive and negative embeddings, matched row by row",
    "class centres": "a further array holds one learnable centre per class, [C, D]",
    "log-probabilities": "targets are log-probabilities, a log-softmax output (log_target=True)",
    "teacher logits": "a further array holds a teacher model's logits, pred's shape",
    "sequence log-probabilities": "per-response log-probabilities, summed over the response's "
    "tokens, under the policy (and a reference model): sequence_log_probs(logits, labels)",
    "average log-probabilities": "per-response log-probabilities averaged over the response's "
    "tokens: sequence_log_probs(logits, labels, average=True)",
    "frame log-probabilities": "predictions are per-frame log-probabilities over the classes, "
    "each frame summing to 1 in probability (from_logits=False)",
    "label sequences": "targets are padded sequences of integer labels with their lengths, and "
    "the predictions' frames have lengths too",
}

#: The levels a sensitivity description starts with, as ``"<level>: <why>"``.
SENSITIVITY_LEVELS: tuple[str, ...] = ("low", "medium", "high", "not applicable")


def sensitivity_level(text: str) -> str:
    """The level a sensitivity description starts with (``"high: ..."`` -> ``"high"``)."""
    level = text.split(":", 1)[0].strip()
    if level not in SENSITIVITY_LEVELS:
        raise LossInputError(
            f"a sensitivity must start with one of {SENSITIVITY_LEVELS} and a colon; got {text!r}"
        )
    return level


def has_guide_metadata(info: LossInfo, guide: GuideEntry | None = None) -> bool:
    """Whether the guide should hold this loss to a complete entry: every built-in loss,
    and every user-defined loss that has a guide entry (``guide``, by default its own)."""
    guide = guide_entry(info.name) if guide is None else guide
    return info.builtin or guide != GuideEntry()


def hyperparameters(info: LossInfo) -> dict[str, str]:
    """Each option's description, from its declaration."""
    return {name: option.doc for name, option in info.declared_options.items()}


def _field(info: LossInfo, guide: GuideEntry, field: str) -> Any:
    """A field of :data:`GUIDE_FIELDS`: from the registration or from the guide entry."""
    if field == "hyperparameters":
        return hyperparameters(info)
    if field in ("tasks", "summary", "formula"):
        return getattr(info, field)
    return getattr(guide, field)


def metadata_problems(info: LossInfo, guide: GuideEntry | None = None) -> list[str]:
    """Everything missing or inconsistent in a loss's guide entry (empty when complete).

    Checks that every field of :data:`GUIDE_FIELDS` is filled in, that the
    hyperparameters document exactly the loss's keyword options, that the input forms
    come from :data:`INPUT_FORMS`, that the sensitivities start with a level of
    :data:`SENSITIVITY_LEVELS`, and that code examples can be generated.
    """
    guide = guide_entry(info.name) if guide is None else guide
    problems = []
    for field in GUIDE_FIELDS:
        value = _field(info, guide, field)
        if field in _MAY_BE_EMPTY:
            continue
        if not value or (isinstance(value, str) and not value.strip()):
            problems.append(f"{field} is empty")
        elif isinstance(value, tuple) and not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(f"{field} holds an empty or non-text item")
    for option, meaning in hyperparameters(info).items():
        if not isinstance(meaning, str) or not meaning.strip():
            problems.append(f"the declaration of option {option!r} has no description")
    for form in guide.input_forms:
        if form not in INPUT_FORMS:
            problems.append(f"input form {form!r} is not one of {sorted(INPUT_FORMS)}")
    for field in ("outlier_sensitivity", "imbalance_sensitivity"):
        text = _field(info, guide, field)
        if text and text.split(":", 1)[0].strip() not in SENSITIVITY_LEVELS:
            problems.append(f"{field} must start with one of {SENSITIVITY_LEVELS} and a colon")
    for task in info.tasks:
        if task not in TASKS:
            problems.append(f"task {task!r} is not one of {TASKS}")
    return problems


def code_examples(name: str, options: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Short code using loss ``name`` with ``options``, for NumPy, PyTorch, JAX and Keras.

    Generated from the loss's signature; ``options`` must be keyword options of the loss.

    >>> print(code_examples("huber", {"delta": 2.0})["numpy"])
    import losskit
    <BLANKLINE>
    # pred, target: NumPy arrays (real values)
    loss = losskit.huber(pred, target, delta=2.0)
    """
    return code_for((Term(name, dict(options or {})),))


def entry(name: str) -> dict[str, Any]:
    """The whole guide entry of loss ``name`` as plain JSON-ready data."""
    info = get_loss(name)
    guide = guide_entry(name)
    return {
        "name": info.name,
        "builtin": info.builtin,
        "tasks": list(info.tasks),
        "summary": info.summary,
        "formula": info.formula,
        # the formula rendered for a terminal, one line per clause or case
        "formula_text": "\n".join(formula_lines(info.formula)),
        "formula_notes": formula_notes(info.fn.__doc__),
        "explanation": guide.explanation,
        "arrays": list(info.arrays),
        "options": {k: _json_value(v) for k, v in info.options.items()},
        # how this loss's reductions differ from the shared rule, if they do
        "reduction_note": info.reduction_note,
        # each framework's defaults where they differ from the function's
        "framework_defaults": {
            framework: {
                k: _json_value(v) for k, v in defaults.items() if not _same(v, info.options[k])
            }
            for framework in ("pytorch", "keras")
            for defaults in [adapter_defaults(info, framework)]
        },
        "option_types": {k: o.describe() for k, o in info.declared_options.items()},
        "hyperparameters": hyperparameters(info),
        "good_for": list(guide.good_for),
        "not_good_for": list(guide.not_good_for),
        "outlier_sensitivity": guide.outlier_sensitivity,
        "imbalance_sensitivity": guide.imbalance_sensitivity,
        "input_forms": list(guide.input_forms),
        "references": list(guide.references),
        # what the recorded full lab run measured for it (losskit.guide.evidence)
        "lab_evidence": lab_evidence(name),
        "examples": code_examples(name),
    }


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)

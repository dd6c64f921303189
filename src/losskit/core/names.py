"""The names people type: task families and loss names, however they spell them.

One vocabulary for the registry, the advisor, the command line and the lab:

- a task is one of :data:`TASKS`, in any case and with or without separators
  (``multiclass``, ``Multi_Class`` and ``multi-class`` are the same task), or one of a
  few synonyms (``gan``, ``rlhf``); :func:`normalise_task` turns any of them into the canonical
  name;
- a loss is its registered name, in any case, with ``-`` or no separator for ``_``
  and an optional ``loss`` suffix (``Huber``, ``dice_loss``, ``SmoothL1Loss``), or a
  common alias (``bce``, ``l1``; ``giou`` is ``box_iou`` with ``variant='giou'``);
  :func:`resolve_loss` finds it, and for anything else raises a one-line
  :class:`~losskit.errors.LossInputError` that suggests the names meant.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from losskit.errors import LossInputError

__all__ = [
    "LOSS_ALIASES",
    "LOSS_FAMILIES",
    "TASKS",
    "TASK_SYNONYMS",
    "normalise_task",
    "resolve_loss",
    "resolve_loss_name",
]

#: The task families, by their canonical names.
TASKS: tuple[str, ...] = (
    "regression",
    "binary",
    "multi-class",
    "multi-label",
    "segmentation",
    "detection",
    "generative",
    "embedding",
    "distillation",
    "preference",
    "sequence",
    "custom",
)

#: Other words for a task family, written compactly (lower case, no separators).
TASK_SYNONYMS: dict[str, str] = {
    "gan": "generative",
    "classification": "multi-class",
    "metriclearning": "embedding",
    "contrastive": "embedding",
    "retrieval": "embedding",
    "representationlearning": "embedding",
    "knowledgedistillation": "distillation",
    "kd": "distillation",
    "teacherstudent": "distillation",
    # aligning a language model with preferences
    "alignment": "preference",
    "rlhf": "preference",
    "dpo": "preference",
    "preferences": "preference",
    "preferenceoptimisation": "preference",
    "preferenceoptimization": "preference",
    # label sequences read off frames: speech recognition, handwriting, OCR
    "seq": "sequence",
    "sequences": "sequence",
    "sequencelabelling": "sequence",
    "sequencelabeling": "sequence",
    "speech": "sequence",
    "asr": "sequence",
    "ocr": "sequence",
    "handwriting": "sequence",
}

#: Other names of losses, written compactly, and the loss and options each one means.
LOSS_ALIASES: dict[str, tuple[str, Mapping[str, Any]]] = {
    "bce": ("binary_cross_entropy", {}),
    "bcewithlogits": ("binary_cross_entropy", {"from_logits": True}),
    "cce": ("categorical_cross_entropy", {}),
    "scce": ("sparse_categorical_cross_entropy", {}),
    "l1": ("mae", {}),
    "meanabsoluteerror": ("mae", {}),
    "l2": ("mse", {}),
    "meansquarederror": ("mse", {}),
    "meansquaredlogarithmicerror": ("msle", {}),
    "meanabsolutepercentageerror": ("mape", {}),
    "kl": ("kl_divergence", {}),
    "kld": ("kl_divergence", {}),
    "kldiv": ("kl_divergence", {}),
    "reversekl": ("kl_divergence", {"direction": "reverse"}),
    "js": ("jensen_shannon", {}),
    "jsd": ("jensen_shannon", {}),
    "jensenshannondivergence": ("jensen_shannon", {}),
    "tv": ("total_variation", {}),
    "tvd": ("total_variation", {}),
    "knowledgedistillation": ("distillation", {}),
    "pinball": ("quantile", {}),
    "asl": ("asymmetric_focal", {}),
    "asymmetricloss": ("asymmetric_focal", {}),
    "gce": ("generalized_cross_entropy", {}),
    "generalisedcrossentropy": ("generalized_cross_entropy", {}),
    "multimargin": ("multiclass_hinge", {"form": "weston_watkins"}),
    "categoricalhinge": ("multiclass_hinge", {}),
    "softdice": ("dice", {}),
    "softiou": ("jaccard", {}),
    "giou": ("box_iou", {"variant": "giou"}),
    "diou": ("box_iou", {"variant": "diou"}),
    "ciou": ("box_iou", {"variant": "ciou"}),
    "eiou": ("box_iou", {"variant": "eiou"}),
    "siou": ("box_iou", {"variant": "siou"}),
    "clip": ("info_nce", {"symmetric": True}),
    "simclr": ("nt_xent", {}),
    "supcon": ("supervised_contrastive", {}),
    "triplet": ("triplet_margin", {}),
}

#: Abbreviations that name several losses, most often meant first.  A word that is
#: part of several loss names (``focal``, ``nll``, ``lovasz``) needs no entry: the
#: suggestions are found in the names themselves.
_CROSS_ENTROPIES = (
    "sparse_categorical_cross_entropy",  # integer labels, as torch.nn.CrossEntropyLoss
    "categorical_cross_entropy",
    "binary_cross_entropy",
)
LOSS_FAMILIES: dict[str, tuple[str, ...]] = {
    "ce": _CROSS_ENTROPIES,
    "crossentropy": _CROSS_ENTROPIES,
    "iou": ("jaccard", "box_iou"),
    # seven losses hold the word; the detection ones (quality_focal, distribution_focal) are
    # asked for by their full names, and listing all seven makes the hint run past a line
    "focal": (
        "binary_focal",
        "asymmetric_focal",
        "categorical_focal",
        "sparse_categorical_focal",
        "focal_tversky",
    ),
}


def _compact(text: str) -> str:
    """Lower case without separators: ``Multi_Class`` -> ``multiclass``."""
    return re.sub(r"[\s_\-.]+", "", text.strip().lower())


def _quoted_list(items: Iterable[str]) -> str:
    """``'a'``, ``'a' or 'b'``, ``'a', 'b' or 'c'``."""
    quoted = [f"'{item}'" if not item.startswith("'") else item for item in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


# ----------------------------------------------------------------------- tasks


def normalise_task(task: str, *, among: Collection[str] = TASKS, argument: str = "task") -> str:
    """The canonical name of ``task`` (one of :data:`TASKS`), which must be in ``among``.

    Case, ``-``, ``_`` and spaces do not matter; :data:`TASK_SYNONYMS` are accepted.

    >>> normalise_task("multiclass"), normalise_task("Multi_Label"), normalise_task("gan")
    ('multi-class', 'multi-label', 'generative')
    """
    if not isinstance(task, str):
        raise LossInputError(
            f"{argument} must be a task name (a string); got {type(task).__name__}"
        )
    canonical = {_compact(t): t for t in TASKS}
    key = _compact(task)
    found = canonical.get(key) or TASK_SYNONYMS.get(key)
    if found is not None and found in among:
        return found
    choices = ", ".join(among)
    hint = ""
    if found is None:
        spellings = {k: t for k, t in {**canonical, **TASK_SYNONYMS}.items() if t in among}
        close = difflib.get_close_matches(key, spellings, n=1, cutoff=0.7)
        if close:
            hint = f". Did you mean '{spellings[close[0]]}'?"
    raise LossInputError(f"{argument} must be one of {choices}; got {task!r}{hint}")


# ---------------------------------------------------------------------- losses


def _by_compact(known: Iterable[str]) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for name in known:
        table.setdefault(_compact(name), []).append(name)
    return table


def _with_options(name: str, options: Mapping[str, Any]) -> str:
    written = ", ".join(f"{k}={v!r}" for k, v in options.items())
    return f"'{name}' with {written}" if written else f"'{name}'"


def resolve_loss(
    name: str, known: Collection[str], *, argument: str = "name"
) -> tuple[str, dict[str, Any]]:
    """The loss among ``known`` that ``name`` means, and the options its alias implies.

    ``name`` is a registered name, that name in another case, with ``-`` or nothing for
    ``_``, or with a ``loss`` suffix, or a key of :data:`LOSS_ALIASES`.  Anything else
    raises :class:`LossInputError` naming ``argument`` and suggesting what was meant.

    >>> known = ("huber", "box_iou", "binary_cross_entropy")
    >>> resolve_loss("Huber", known), resolve_loss("giou", known)
    (('huber', {}), ('box_iou', {'variant': 'giou'}))
    """
    if not isinstance(name, str):
        raise LossInputError(
            f"{argument} must be a loss name (a string); got {type(name).__name__}"
        )
    if name in known:
        return name, {}
    key = _compact(name)
    registered = _by_compact(known)
    # "dice_loss" and "SmoothL1Loss" are dice and smooth_l1
    stems = [key] if key == "loss" or not key.endswith("loss") else [key, key[: -len("loss")]]
    for stem in stems:
        matches = registered.get(stem, [])
        if len(matches) == 1:
            return matches[0], {}
        alias = LOSS_ALIASES.get(stem)
        if alias is not None and alias[0] in known:
            return alias[0], dict(alias[1])
    raise LossInputError(
        f"{argument} must be a registered loss; got {name!r}{_hint(stems[-1], known)}"
    )


def resolve_loss_name(name: str, known: Collection[str], *, argument: str = "name") -> str:
    """Like :func:`resolve_loss`, for a name alone: an alias that implies options
    (``giou``) is refused with a message saying which loss and options to use."""
    loss, options = resolve_loss(name, known, argument=argument)
    if options:
        written = ", ".join(f"{k}={v!r}" for k, v in options.items())
        raise LossInputError(
            f"{argument} must be a registered loss; got {name!r}, which is "
            f"{_with_options(loss, options)}: ask for '{loss}' and pass {written}"
        )
    return loss


def _family(stem: str, known: Collection[str]) -> list[str]:
    """The losses ``stem`` may stand for: an entry of :data:`LOSS_FAMILIES`, else every
    loss with ``stem`` as a run of whole parts of its name (``focal`` in
    ``binary_focal``)."""
    if stem in LOSS_FAMILIES:
        return [name for name in LOSS_FAMILIES[stem] if name in known]
    found = []
    for name in known:
        parts = name.lower().split("_")
        runs = {
            "".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)
        }
        if stem in runs:
            found.append(name)
    # the losses that are a kind of `stem` (binary_focal) before those it modifies
    # (focal_tversky), then the shortest
    return sorted(found, key=lambda n: (_compact(n.split("_")[-1]) != stem, len(n), n))


def _hint(stem: str, known: Collection[str]) -> str:
    """``". Did you mean 'huber'?"`` for a misspelt loss name, or a pointer to the list."""
    family = _family(stem, known) if stem else []
    if len(family) > 1:
        return f", which names several losses: did you mean {_quoted_list(family)}?"
    if family:
        return f". Did you mean '{family[0]}'?"
    spellings: dict[str, str] = {}
    for compact, names in _by_compact(known).items():
        if len(names) == 1:
            spellings[compact] = f"'{names[0]}'"
    for alias, (loss, options) in LOSS_ALIASES.items():
        if loss in known:
            spellings.setdefault(alias, _with_options(loss, options))
    close = difflib.get_close_matches(stem, spellings, n=3, cutoff=0.75)
    meant = list(dict.fromkeys(spellings[c] for c in close))
    if meant:
        return f". Did you mean {_quoted_list(meant)}?"
    return "; losskit.available() lists every loss (`losskit list` by task)"

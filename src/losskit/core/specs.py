"""Loss specifications as people type them: ``name`` or ``name:option=value,...``.

The one parser behind ``losskit explain``, ``plot`` and ``eval``, the lab's
``--losses`` and :func:`losskit.guide.plots.loss_curves`.  Its rules:

- the name is resolved as :func:`~losskit.get_loss` resolves it (any case, common
  aliases); an alias that stands for options brings them (``giou`` is ``box_iou`` with
  ``variant='giou'``);
- options follow the first colon, separated by commas or colons
  (``binary_focal:gamma=1.5,alpha=0.25`` or ``binary_focal:gamma=1.5:alpha=0.25``);
  commas and colons inside brackets or quotes belong to the value (``class_weights=[1,2]``);
- each option is a keyword option of the loss, given once;
- each value is read by :func:`parse_option_value`, which never evaluates code;
- the options pass the loss's own checks before any data is seen.

Every error is a :class:`~losskit.errors.LossInputError` that names the part at fault.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from losskit.core.names import resolve_loss
from losskit.core.registry import LossInfo, available, get_loss
from losskit.errors import LossInputError

__all__ = ["AUTO", "parse_loss_spec", "parse_loss_specs", "parse_option_value"]

#: The value of an option computed later from the data (the lab's ``pos_weight=auto``).
AUTO = "auto"

_KEYWORDS = {"true": True, "false": False, "none": None, "null": None}


def parse_option_value(info: LossInfo, option_name: str, text: str) -> Any:
    """The value of option ``option_name`` of loss ``info`` written as ``text``, parsed
    and checked by the option's declaration (literals only, never run: numbers,
    ``true``/``false``/``none`` in any case, quoted strings, lists of numbers, and a bare
    word for an option that takes one of several names).

    >>> import losskit
    >>> parse_option_value(losskit.get_loss("huber"), "delta", "2.5")
    2.5
    >>> parse_option_value(losskit.get_loss("box_iou"), "variant", "giou")
    'giou'
    """
    if not text.strip():
        raise LossInputError(
            f"option {option_name!r} of {info.name!r} needs a value after '='; got nothing"
        )
    try:
        return info.declared_options[option_name].parse(text)
    except LossInputError as err:
        raise LossInputError(f"option {option_name!r} of {info.name!r}: {err}") from None


def _is_plain(value: Any) -> bool:
    """Whether ``value`` is a bool, number, None, string, or a list or tuple of numbers."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(
            (isinstance(v, list | tuple) and _is_plain(v))
            or (isinstance(v, int | float) and not isinstance(v, bool))
            for v in value
        )
    return False


def parse_loss_spec(spec: str, *, auto_options: Collection[str] = ()) -> tuple[str, dict[str, Any]]:
    """The loss name and options of ``spec`` (``"name:option=value,..."``).

    Options named in ``auto_options`` may be given as ``auto`` (:data:`AUTO`): the
    value is kept as that word, left unchecked, and filled in later by the caller.

    >>> parse_loss_spec("huber:delta=2")
    ('huber', {'delta': 2})
    >>> parse_loss_spec("binary_focal:gamma=1.5,alpha=0.9")
    ('binary_focal', {'gamma': 1.5, 'alpha': 0.9})
    >>> parse_loss_spec("GIoU:box_format=xywh")
    ('box_iou', {'variant': 'giou', 'box_format': 'xywh'})
    """
    if not isinstance(spec, str):
        raise LossInputError(
            f"loss must be a name or 'name:option=value'; got {type(spec).__name__}"
        )
    head, _, rest = spec.partition(":")
    if not head.strip() or "=" in head:
        raise LossInputError(f"loss must be written name or name:option=value,...; got {spec!r}")
    name, implied = resolve_loss(head.strip(), available(), argument="loss")
    info = get_loss(name)
    given: dict[str, Any] = {}
    for item in _split_options(rest):
        key, equals, text = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise LossInputError(
                f"options of {name!r} must be written option=value; got {item!r} in {spec!r}"
            )
        if key not in info.options:
            known = ", ".join(info.options) or "none"
            raise LossInputError(f"{name!r} has no option {key!r}; its options are: {known}")
        if key in given:
            raise LossInputError(f"option {key!r} of {name!r} is given twice in {spec!r}")
        if key in implied:
            raise LossInputError(
                f"{head.strip()!r} already sets {key}={implied[key]!r}; write {name!r} to "
                f"choose {key} yourself"
            )
        if text.strip() == AUTO and auto_options and not isinstance(info.options[key], str):
            if key not in auto_options:
                raise LossInputError(
                    f"only {', '.join(sorted(auto_options))} can be {AUTO!r}; got {key}={AUTO}"
                )
            given[key] = AUTO
            continue
        given[key] = parse_option_value(info, key, text)
    options = {**implied, **given}
    info.check_options({k: v for k, v in options.items() if k not in auto_options or v != AUTO})
    return name, options


def parse_loss_specs(
    text: str, *, auto_options: Collection[str] = ()
) -> list[tuple[str, str, dict[str, Any]]]:
    """Each loss of a comma-separated list of specifications, as ``(spec, name, options)``.

    A comma starts a new loss unless what follows is ``option=value``, which belongs to
    the loss before it: ``mse,huber:delta=2,alpha=1`` is not valid, but
    ``mse,binary_focal:gamma=1,alpha=0.5,huber`` is three losses.

    >>> [name for _, name, _ in parse_loss_specs("mse,binary_focal:gamma=1,alpha=0.5,bce")]
    ['mse', 'binary_focal', 'binary_cross_entropy']
    """
    specs: list[str] = []
    for item in _split(text, ","):
        key, equals, _ = item.partition("=")
        if equals and key.strip().isidentifier() and ":" not in key:
            if not specs or ":" not in specs[-1]:
                before = f"{specs[-1]}:" if specs else "NAME:"
                raise LossInputError(
                    f"option {item!r} needs its loss before it: write {before}{item}"
                )
            specs[-1] += "," + item
        else:
            specs.append(item)
    return [(spec, *parse_loss_spec(spec, auto_options=auto_options)) for spec in specs]


def _split_options(text: str) -> list[str]:
    """The ``option=value`` items of ``text``, split on commas and colons."""
    return _split(text, ",:")


def _split(text: str, separators: str) -> list[str]:
    """Split ``text`` on ``separators`` outside brackets and quotes; drop empty items."""
    items, current, depth, quote = [], "", 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[({":
            depth += 1
        elif char in "])}":
            depth = max(depth - 1, 0)
        elif char in separators and depth == 0:
            items.append(current)
            current = ""
            continue
        current += char
    items.append(current)
    return [item for item in (i.strip() for i in items) if item]

"""The guide's prose about each loss, kept apart from the math.

A loss module holds the function, its docstring and its declared options; what a
reader wants to know besides (what the loss does in words, when to use it, where it
fails, how it reacts to outliers and class imbalance, which inputs it takes, where it
comes from) lives in :mod:`losskit.guide.text`, one module per family, as a
:class:`GuideEntry` keyed by the loss's name.  User-defined losses bring their own
through :func:`losskit.custom_loss`.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

__all__ = ["GuideEntry", "guide_entry", "set_guide_entry"]


@dataclasses.dataclass(frozen=True)
class GuideEntry:
    """What the guide says about one loss (its formula is the function's docstring's,
    rendered for terminals by :mod:`losskit.guide.formula`)."""

    #: what the loss does, in a few sentences
    explanation: str = ""
    good_for: tuple[str, ...] = ()
    not_good_for: tuple[str, ...] = ()
    #: ``"<level>: <why>"``, the level one of ``low``, ``medium``, ``high``, ``not applicable``
    outlier_sensitivity: str = ""
    imbalance_sensitivity: str = ""
    #: what the arrays hold, from :data:`losskit.guide.catalogue.INPUT_FORMS`
    input_forms: tuple[str, ...] = ()
    references: tuple[str, ...] = ()


_BUILTIN: dict[str, GuideEntry] | None = None
_USER: dict[str, GuideEntry] = {}


def _builtin_entries() -> dict[str, GuideEntry]:
    """Every module of :mod:`losskit.guide.text`'s ``ENTRIES``, loaded on first use (a
    module whose name starts with ``_`` holds shared text, not entries)."""
    global _BUILTIN
    if _BUILTIN is None:
        import losskit.guide.text as text

        entries: dict[str, GuideEntry] = {}
        for module in pkgutil.iter_modules(text.__path__):
            if module.name.startswith("_"):
                continue
            entries.update(importlib.import_module(f"{text.__name__}.{module.name}").ENTRIES)
        _BUILTIN = entries
    return _BUILTIN


def guide_entry(name: str) -> GuideEntry:
    """The guide's entry for loss ``name`` (an empty entry if it has none)."""
    if name in _USER:
        return _USER[name]
    return _builtin_entries().get(name, GuideEntry())


def set_guide_entry(name: str, entry: GuideEntry) -> None:
    """Record the guide entry of a user-defined loss."""
    _USER[name] = entry

"""Loss metadata and the catalogue of losses.

Every loss is a plain function decorated with :func:`register_loss`, which records
its metadata (:class:`LossInfo`) beside it.  That record is the single source of
truth from which the docstring's shared parts, the PyTorch modules, the Keras
losses, the command line and the docs are generated.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from losskit.core.reduction import REDUCTION_DOC
from losskit.errors import LossInputError

__all__ = ["TASKS", "LossInfo", "available", "get_loss", "register_loss"]

TASKS: tuple[str, ...] = (
    "regression",
    "binary",
    "multi-class",
    "multi-label",
    "segmentation",
    "detection",
    "generative",
    "custom",
)

#: Arguments every loss takes that are not options of the loss itself.
COMMON_KEYWORDS: tuple[str, ...] = ("reduction", "weights")

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class LossInfo:
    """What losskit knows about one loss.

    ``arrays`` (the positional array inputs) and ``options`` (keyword options and their
    defaults) are read from the function's signature, so they cannot drift from it.
    """

    name: str
    fn: Callable[..., Any]
    tasks: tuple[str, ...]
    summary: str
    formula: str
    formula_text: str
    #: keyword options that hold arrays (class weights, per-class alpha): PyTorch
    #: modules register them as buffers.
    array_options: tuple[str, ...] = ()
    #: name of the option giving the class axis, if the loss has one.
    class_axis: str | None = None
    builtin: bool = True
    # The guide (``losskit explain``, the advisor and the docs) reads these.
    explanation: str = ""
    good_for: tuple[str, ...] = ()
    not_good_for: tuple[str, ...] = ()
    outlier_sensitivity: str = ""
    imbalance_sensitivity: str = ""
    input_forms: tuple[str, ...] = ()
    hyperparameters: Mapping[str, str] = dataclasses.field(default_factory=dict)
    references: tuple[str, ...] = ()

    @property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.fn)

    @property
    def arrays(self) -> tuple[str, ...]:
        """Names of the positional array inputs, in order (``pred``, ``target``, ...)."""
        return tuple(
            p.name
            for p in self.signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )

    @property
    def options(self) -> dict[str, Any]:
        """Keyword options of the loss and their defaults (without reduction and weights)."""
        return {
            p.name: p.default
            for p in self.signature.parameters.values()
            if p.kind == p.KEYWORD_ONLY and p.name not in COMMON_KEYWORDS
        }


_REGISTRY: dict[str, LossInfo] = {}


def register_loss(
    *,
    tasks: tuple[str, ...] | str,
    summary: str,
    formula: str,
    formula_text: str,
    builtin: bool = True,
    **details: Any,
) -> Callable[[F], F]:
    """Record a loss function and its metadata in the catalogue.

    The function's docstring may contain the placeholder ``{reduction}``, which is
    replaced by the shared description of ``reduction`` and ``weights``.
    """
    task_tuple = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    for task in task_tuple:
        if task not in TASKS:
            raise LossInputError(f"tasks must be among {TASKS}; got {task!r}")

    def decorate(fn: F) -> F:
        name = fn.__name__
        if builtin and name in _REGISTRY:
            raise LossInputError(f"a loss named {name!r} is already registered")
        params = inspect.signature(fn).parameters
        for keyword in COMMON_KEYWORDS:
            if keyword not in params or params[keyword].kind != inspect.Parameter.KEYWORD_ONLY:
                raise LossInputError(
                    f"loss {name!r} must take {keyword!r} as a keyword-only argument"
                )
        if fn.__doc__:
            fn.__doc__ = inspect.cleandoc(fn.__doc__).replace(
                "{reduction}", inspect.cleandoc("\n" + REDUCTION_DOC).replace("\n", "\n    ")
            )
        info = LossInfo(
            name=name,
            fn=fn,
            tasks=task_tuple,
            summary=summary,
            formula=formula,
            formula_text=formula_text,
            builtin=builtin,
            **details,
        )
        _REGISTRY[name] = info
        fn.info = info  # type: ignore[attr-defined]
        return fn

    return decorate


def available(task: str | None = None) -> list[str]:
    """Names of all registered losses (built-in and user-defined), optionally for one task."""
    if task is not None and task not in TASKS:
        raise LossInputError(f"task must be one of {TASKS} or None; got {task!r}")
    return sorted(n for n, info in _REGISTRY.items() if task is None or task in info.tasks)


def get_loss(name: str) -> LossInfo:
    """The :class:`LossInfo` of the loss called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LossInputError(
            f"name must be a registered loss; got {name!r}. Known: {', '.join(available())}"
        ) from None

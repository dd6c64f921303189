"""Loss metadata and the catalogue of losses.

Every loss is a plain function decorated with :func:`register_loss`, which records
its metadata (:class:`LossInfo`) beside it.  That record is the single source of
truth from which the docstring's shared parts, the PyTorch modules, the Keras
losses, the command line and the docs are generated.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from losskit.core.names import TASKS, normalise_task, resolve_loss_name
from losskit.core.reduction import REDUCTION_DOC
from losskit.core.validation import check_flag
from losskit.errors import LossInputError

__all__ = [
    "TASKS",
    "LossInfo",
    "available",
    "check_option_values",
    "class_name",
    "get_loss",
    "load_fast_paths",
    "register_fast_path",
    "register_loss",
]

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
    #: the public function: dispatches to a registered fast path for the backend of
    #: the first argument, or runs the generic array-API implementation
    fn: Callable[..., Any]
    #: the generic array-API implementation
    generic: Callable[..., Any]
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
#: (loss name, backend) -> fast implementation with the loss's signature
_FAST_PATHS: dict[tuple[str, str], Callable[..., Any]] = {}
#: backend -> module that registers that backend's fast paths, imported on first use
_FAST_PATH_MODULES: dict[str, str] = {"torch": "losskit.torch.fast"}
_loaded_fast_path_modules: set[str] = set()


def _backend(x: Any) -> str:
    """The library an array comes from: "torch", "jax", "numpy", ..."""
    root = type(x).__module__.split(".")[0]
    return "jax" if root == "jaxlib" else root


def load_fast_paths(backend: str) -> None:
    """Import the module that registers ``backend``'s fast paths; a no-op for a backend with none.

    Dispatch does this itself on the first call with an array of ``backend``.  Call it up
    front where that import must not happen inside a call: ``losskit.torch`` does, so the
    fast paths are registered before ``torch.compile`` traces a first call.
    """
    _loaded_fast_path_modules.add(backend)
    module = _FAST_PATH_MODULES.get(backend)
    if module is not None:
        importlib.import_module(module)


def register_fast_path(name: str, backend: str) -> Callable[[F], F]:
    """Register ``impl`` as loss ``name``'s implementation for arrays of ``backend``.

    The fast path takes the loss's own signature and may return ``NotImplemented``
    for option combinations it does not cover; the generic implementation then runs.
    Fast paths are tested for agreement with the generic path on the test table.
    """

    def decorate(impl: F) -> F:
        _FAST_PATHS[(name, backend)] = impl
        return impl

    return decorate


def _flags(generic: Callable[..., Any]) -> frozenset[str]:
    """The options whose default is True or False: they take exactly a bool."""
    parameters = inspect.signature(generic).parameters.values()
    return frozenset(p.name for p in parameters if isinstance(p.default, bool))


def _with_dispatch(name: str, generic: Callable[..., Any]) -> Callable[..., Any]:
    flags = _flags(generic)

    @functools.wraps(generic)
    def loss(*args: Any, **kwargs: Any) -> Any:
        for flag in flags.intersection(kwargs):
            check_flag(flag, kwargs[flag])
        if args:
            backend = _backend(args[0])
            if backend not in _loaded_fast_path_modules:
                load_fast_paths(backend)
            fast = _FAST_PATHS.get((name, backend))
            if fast is not None:
                out = fast(*args, **kwargs)
                if out is not NotImplemented:
                    return out
        return generic(*args, **kwargs)

    return loss


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
        public = _with_dispatch(name, fn)
        info = LossInfo(
            name=name,
            fn=public,
            generic=fn,
            tasks=task_tuple,
            summary=summary,
            formula=formula,
            formula_text=formula_text,
            builtin=builtin,
            **details,
        )
        _REGISTRY[name] = info
        public.info = info  # type: ignore[attr-defined]
        return public  # type: ignore[return-value]

    return decorate


class _InputPlaceholder:
    """Stands in for the arrays while a loss's option checks run."""


def check_option_values(info: LossInfo, options: Mapping[str, Any]) -> None:
    """Run the loss's own option checks on ``options`` without any data.

    The loss is called with placeholders for its arrays: its option checks (which come
    before it looks at its inputs) raise as they would in a real call, and the first
    input check stops the call.  A loss that reads its inputs first is left unchecked
    (the PyTorch modules and Keras losses then check at their first call).
    """
    for flag in _flags(info.generic).intersection(options):
        check_flag(flag, options[flag])
    placeholders = [_InputPlaceholder()] * len(info.arrays)
    try:
        info.generic(*placeholders, **options)
    except LossInputError as error:
        if _InputPlaceholder.__name__ not in str(error):
            raise
    except Exception:  # the loss touched a placeholder before any check: nothing learned
        return


def available(task: str | None = None) -> list[str]:
    """Names of all registered losses (built-in and user-defined), optionally for one task
    (any spelling :func:`~losskit.core.names.normalise_task` accepts: ``multiclass``)."""
    if task is not None:
        task = normalise_task(task)
    return sorted(n for n, info in _REGISTRY.items() if task is None or task in info.tasks)


#: Name parts written as acronyms in the class names of the framework adapters.
ACRONYMS: dict[str, str] = {
    "mse": "MSE",
    "mae": "MAE",
    "kl": "KL",
    "nll": "NLL",
    "iou": "IoU",
    "gan": "GAN",
}


def class_name(loss_name: str) -> str:
    """CamelCase class name of a loss in the PyTorch and Keras adapters.

    ``sparse_categorical_focal`` -> ``SparseCategoricalFocal``; acronyms stay upper
    case: ``kl_divergence`` -> ``KLDivergence``.
    """
    return "".join(ACRONYMS.get(part, part.capitalize()) for part in loss_name.split("_"))


def get_loss(name: str) -> LossInfo:
    """The :class:`LossInfo` of the loss called ``name``: its registered name, in any case,
    or a common alias (``bce``); see :func:`~losskit.core.names.resolve_loss`."""
    info = _REGISTRY.get(name) if isinstance(name, str) else None
    return info if info is not None else _REGISTRY[resolve_loss_name(name, _REGISTRY)]

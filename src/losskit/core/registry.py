"""Loss metadata and the catalogue of losses.

Every loss is a plain function decorated with :func:`register_loss`, which records
its metadata (:class:`LossInfo`) beside it.  That record is the single source of
truth from which the docstring's shared parts, the PyTorch modules, the Keras
losses, the command line and the docs are generated.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from losskit.core.names import TASKS, normalise_task, resolve_loss_name
from losskit.core.namespace import namespace, outside_autograph
from losskit.core.options import Option, check_options, infer_option
from losskit.core.reduction import REDUCTION_DOC, check_normalizer, reduce_loss
from losskit.errors import LossInputError

__all__ = [
    "TASKS",
    "DerivedArray",
    "LossInfo",
    "available",
    "class_name",
    "get_loss",
    "register_loss",
]

#: Arguments every loss takes that are not options of the loss itself.
COMMON_KEYWORDS: tuple[str, ...] = ("reduction", "weights")
#: The mean's given count: every public loss takes it (see :func:`_with_option_checks`);
#: a loss whose mean is its own (``ctc``) takes it in its signature and honours it.
NORMALIZER_KEYWORD = "normalizer"
_SHARED_KEYWORDS = (*COMMON_KEYWORDS, NORMALIZER_KEYWORD)

F = TypeVar("F", bound=Callable[..., Any])


class DerivedArray(NamedTuple):
    """An array input past the target that an adapter holding only ``(y_true, y_pred)``
    (Keras's ``compile``) derives from the prediction, the target and the options:
    ctc's lengths from every frame and the target's padding."""

    #: ``derive(pred, target, options, xp)`` -> the array
    derive: Callable[..., Any]
    #: how it is derived, in words, for the adapter's docs and examples
    description: str


@dataclasses.dataclass(frozen=True)
class LossInfo:
    """What losskit knows about one loss: its function, tasks, formula and options.

    ``arrays`` (the positional array inputs) and ``options`` (keyword options and their
    defaults) are read from the function's signature, so they cannot drift from it;
    ``declared_options`` says what each option accepts.  The guide's prose (when to use
    the loss, its references) lives apart, in :mod:`losskit.guide`.
    """

    name: str
    #: the public function: checks the options, then runs the array-API implementation
    #: (whose kernels a backend may override: :mod:`losskit.core.kernels`)
    fn: Callable[..., Any]
    #: the generic array-API implementation (options not checked)
    generic: Callable[..., Any]
    tasks: tuple[str, ...]
    summary: str
    #: the loss in LaTeX: the ``.. math::`` block of the docstring
    formula: str
    #: option name -> its declaration, in signature order
    declared_options: Mapping[str, Option] = dataclasses.field(default_factory=dict)
    #: name of the option giving the class axis, if the loss has one.
    class_axis: str | None = None
    builtin: bool = True
    #: checks that tie several options together, each called with every option's value
    constraints: tuple[Callable[[Mapping[str, Any]], None], ...] = ()
    #: arrays past the target that adapters given only (y_true, y_pred) derive
    derived_arrays: Mapping[str, DerivedArray] = dataclasses.field(default_factory=dict)
    #: how the loss's reductions differ from the shared rule (empty when they do not)
    reduction_note: str = ""

    @property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.fn)

    @property
    def arrays(self) -> tuple[str, ...]:
        """Names of the positional array inputs, in order (``pred``, ``target``, ...)."""
        return _array_names(self.fn)

    @property
    def options(self) -> dict[str, Any]:
        """Keyword options of the loss and their defaults (without reduction and weights)."""
        return {
            p.name: p.default
            for p in self.signature.parameters.values()
            if p.kind == p.KEYWORD_ONLY and p.name not in _SHARED_KEYWORDS
        }

    @property
    def array_options(self) -> tuple[str, ...]:
        """Options that hold arrays (class weights, per-class alpha): PyTorch modules
        register them as buffers."""
        return tuple(n for n, o in self.declared_options.items() if o.is_array)

    def check_options(self, values: Mapping[str, Any]) -> None:
        """Check option values against their declarations, without any data: what a
        PyTorch module or a Keras loss does when it is built."""
        unknown = set(values) - set(self.declared_options)
        if unknown:
            raise LossInputError(
                f"{self.name} has no option(s) {sorted(unknown)}; its options are "
                f"{sorted(self.declared_options)}"
            )
        check_options(self.declared_options, values)
        if self.constraints:
            every = {**self.options, **values}
            for constraint in self.constraints:
                constraint(every)


_REGISTRY: dict[str, LossInfo] = {}


def _array_names(fn: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )


def _with_option_checks(
    generic: Callable[..., Any],
    declared: Mapping[str, Option],
    constraints: Sequence[Callable[[Mapping[str, Any]], None]],
) -> Callable[..., Any]:
    signature = inspect.signature(generic)
    defaults = {p.name: p.default for p in signature.parameters.values() if p.name in declared}
    default_reduction = signature.parameters["reduction"].default
    own_normalizer = NORMALIZER_KEYWORD in signature.parameters

    @functools.wraps(generic)
    def loss(*args: Any, **kwargs: Any) -> Any:
        # Every option given is checked once here, before any math (backends speed up
        # the loss's kernels, never the loss: see losskit.core.kernels).
        check_options(declared, kwargs)
        if constraints:
            every = {**defaults, **{k: v for k, v in kwargs.items() if k in declared}}
            for constraint in constraints:
                constraint(every)
        if own_normalizer:
            check_normalizer(
                kwargs.get(NORMALIZER_KEYWORD), kwargs.get("reduction", default_reduction)
            )
            return generic(*args, **kwargs)
        normalizer = kwargs.pop(NORMALIZER_KEYWORD, None)
        if normalizer is None:
            return generic(*args, **kwargs)
        # The normalised mean is the weighted sum over the given count: the loss's
        # unreduced (weighted) values, summed by reduce_loss (in float32 for 16-bit
        # losses) and divided there.
        check_normalizer(normalizer, kwargs.get("reduction", default_reduction))
        out = generic(*args, **{**kwargs, "reduction": "none"})
        # a loss asked for more than its value (return_lse) returns (loss, extra...)
        unreduced, extra = (out[0], out[1:]) if isinstance(out, tuple) else (out, ())
        reduced = reduce_loss(
            unreduced, reduction="mean", normalizer=normalizer, xp=namespace(loss=unreduced)
        )
        return (reduced, *extra) if extra else reduced

    loss.__signature__ = _with_normalizer(signature)  # type: ignore[attr-defined]
    return outside_autograph(loss)


def _with_normalizer(signature: inspect.Signature) -> inspect.Signature:
    """``signature`` with ``normalizer=None`` after ``weights``, unless it has one."""
    if NORMALIZER_KEYWORD in signature.parameters:
        return signature
    parameters = list(signature.parameters.values())
    at = [p.name for p in parameters].index("weights") + 1
    extra = inspect.Parameter(NORMALIZER_KEYWORD, inspect.Parameter.KEYWORD_ONLY, default=None)
    return signature.replace(parameters=[*parameters[:at], extra, *parameters[at:]])


def _declarations(
    name: str, fn: Callable[..., Any], options: Sequence[Option], builtin: bool
) -> dict[str, Option]:
    """The declarations of ``fn``'s keyword options, in signature order.

    Every option of a built-in loss must be declared; a user-defined loss may leave
    options undeclared, and they are inferred from their defaults.
    """
    given = {o.name: o for o in options}
    parameters = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind == p.KEYWORD_ONLY and p.name not in _SHARED_KEYWORDS
    ]
    extra = set(given) - {p.name for p in parameters}
    if extra:
        raise LossInputError(f"loss {name!r} declares options it does not take: {sorted(extra)}")
    declared: dict[str, Option] = {}
    for p in parameters:
        if p.name in given:
            declared[p.name] = given[p.name]
        elif builtin:
            raise LossInputError(f"loss {name!r} must declare its option {p.name!r}")
        else:
            declared[p.name] = infer_option(p.name, p.default)
        if p.default is not inspect.Parameter.empty:
            declared[p.name].check(p.default)
    return declared


def _wrapped_layers(fn: Callable[..., Any]) -> list[Callable[..., Any]]:
    """``fn`` and the functions it wraps, outermost first (``__wrapped__``)."""
    layers = [fn]
    while hasattr(layers[-1], "__wrapped__"):
        layers.append(layers[-1].__wrapped__)
    return layers


def _docstring_formula(doc: str | None) -> str:
    """The LaTeX of the first ``.. math::`` block of a docstring, on one line."""
    if not doc:
        return ""
    lines = inspect.cleandoc(doc).splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(".. math::"):
            parts = [stripped[len(".. math::") :].strip()]
            for following in lines[i + 1 :]:
                if following.strip() and not following.startswith(" "):
                    break
                if not following.strip() and any(parts):
                    break
                parts.append(following.strip())
            return " ".join(p for p in parts if p)
    return ""


def register_loss(
    *,
    tasks: tuple[str, ...] | str,
    summary: str,
    options: Sequence[Option] = (),
    class_axis: str | None = None,
    constraints: Sequence[Callable[[Mapping[str, Any]], None]] = (),
    formula: str | None = None,
    builtin: bool = True,
    derived_arrays: Mapping[str, DerivedArray] | None = None,
    reduction_note: str = "",
) -> Callable[[F], F]:
    """Record a loss function, its declared options and its metadata in the catalogue.

    ``options`` declares every keyword option (defaults stay in the signature);
    ``constraints`` are checks that tie options together (each takes every option's
    value and raises :class:`LossInputError`); ``formula`` is read from the docstring's
    ``.. math::`` block unless given; ``derived_arrays`` says how an adapter that holds
    only the prediction and the target derives the arrays after them;
    ``reduction_note`` says how the loss's reductions differ from the shared rule.  The
    docstring may contain the placeholder ``{reduction}``, which is replaced by the
    shared description of ``reduction`` and ``weights``.
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
        declared = _declarations(name, fn, options, builtin)
        if class_axis is not None and class_axis not in declared:
            raise LossInputError(f"class_axis of {name!r} names no option: {class_axis!r}")
        # the function and what it wraps (a decorator's functools.wraps), which the API
        # docs read
        for layer in _wrapped_layers(fn):
            if layer.__doc__:
                layer.__doc__ = inspect.cleandoc(layer.__doc__).replace(
                    "{reduction}",
                    inspect.cleandoc("\n" + REDUCTION_DOC).replace("\n", "\n    "),
                )
        derived = dict(derived_arrays or {})
        past_target = _array_names(fn)[2:]
        if set(derived) - set(past_target):
            raise LossInputError(
                f"derived_arrays of {name!r} must name arrays past the target "
                f"{list(past_target)}; got {sorted(derived)}"
            )
        latex = formula if formula is not None else _docstring_formula(fn.__doc__)
        if builtin and not latex:
            raise LossInputError(f"loss {name!r} needs a formula: a '.. math::' block")
        public = _with_option_checks(fn, declared, tuple(constraints))
        info = LossInfo(
            name=name,
            fn=public,
            generic=fn,
            tasks=task_tuple,
            summary=summary,
            formula=latex,
            declared_options=declared,
            class_axis=class_axis,
            builtin=builtin,
            constraints=tuple(constraints),
            derived_arrays=derived,
            reduction_note=reduction_note,
        )
        _REGISTRY[name] = info
        public.info = info  # type: ignore[attr-defined]
        return public  # type: ignore[return-value]

    return decorate


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
    "msle": "MSLE",
    "mape": "MAPE",
    "kl": "KL",
    "nll": "NLL",
    "iou": "IoU",
    "gan": "GAN",
    "nce": "NCE",
    "nt": "NT",
    "arcface": "ArcFace",
    "cosface": "CosFace",
    "dpo": "DPO",
    "kto": "KTO",
    "orpo": "ORPO",
    "simpo": "SimPO",
    "ctc": "CTC",
    "ce": "CE",
    "ssim": "SSIM",
    "ms": "MS",
}


def class_name(loss_name: str) -> str:
    """CamelCase class name of a loss in the PyTorch and Keras adapters.

    ``sparse_categorical_focal`` -> ``SparseCategoricalFocal``; acronyms stay upper
    case: ``kl_divergence`` -> ``KLDivergence``, ``info_nce`` -> ``InfoNCE``.
    """
    return "".join(ACRONYMS.get(part, part.capitalize()) for part in loss_name.split("_"))


def get_loss(name: str) -> LossInfo:
    """The :class:`LossInfo` of the loss called ``name``: its registered name, in any case,
    or a common alias (``bce``); see :func:`~losskit.core.names.resolve_loss`."""
    info = _REGISTRY.get(name) if isinstance(name, str) else None
    return info if info is not None else _REGISTRY[resolve_loss_name(name, _REGISTRY)]

"""User-defined losses and composite losses.

:func:`custom_loss` turns an element-wise function of ``(pred, target)`` written with
array-API operations into a loss that behaves like the built-in ones: the same
reductions and weights, input validation and dtype policy, every backend, an entry in
:func:`losskit.available`, and (being registered) a generated PyTorch module
``losskit.torch.<CamelName>`` and Keras loss.

:func:`combine` builds a :class:`Composite`, a weighted sum of losses (``0.5 * Dice +
0.5 * BCE``) that remembers its parts, reports each part's value for logging through
:meth:`Composite.evaluate`, and differentiates as a whole.  Composites also add and
scale with ``+`` and ``*``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from losskit.core.inputs import elementwise_inputs
from losskit.core.namespace import is_array
from losskit.core.options import infer_option
from losskit.core.reduction import Reduction, check_normalizer, check_reduction, reduce_loss
from losskit.core.registry import COMMON_KEYWORDS, TASKS, LossInfo, get_loss, register_loss
from losskit.errors import LossInputError
from losskit.guide.entries import GuideEntry, set_guide_entry

__all__ = ["Composite", "CompositeValue", "Part", "combine", "custom_loss"]

Array = Any

# ---------------------------------------------------------------- custom losses


def _option_parameters(fn: Callable[..., Any], name: str) -> tuple[list[inspect.Parameter], bool]:
    """The keyword options of a user's element-wise function, and whether it takes ``xp``."""
    params = list(inspect.signature(fn).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2 or any(p.default is not p.empty for p in positional[:2]):
        raise LossInputError(
            f"custom loss {name!r} must take (pred, target) as its first two arguments, "
            "without defaults"
        )
    takes_xp = "xp" in inspect.signature(fn).parameters
    options = []
    for p in params[2:]:
        if p.name == "xp":
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is p.empty:
            raise LossInputError(
                f"custom loss {name!r}: every argument after (pred, target) must be an option "
                f"with a default (or xp); got {p.name!r}"
            )
        if p.name in COMMON_KEYWORDS:
            raise LossInputError(
                f"custom loss {name!r}: {p.name!r} is added by losskit; the function returns "
                "the unreduced, unweighted loss element by element"
            )
        options.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))
    return options, takes_xp


def _custom_doc(
    name: str, summary: str, formula: str, fn: Callable[..., Any], options: list[inspect.Parameter]
) -> str:
    lines = [summary, ""]
    if formula:
        lines += [f".. math:: {formula}", ""]
    if fn.__doc__:
        lines += [inspect.cleandoc(fn.__doc__), ""]
    lines += [
        f"User-defined element-wise loss {name!r}, registered with :func:`losskit.custom_loss`.",
        "",
        "Args:",
        "    pred: predictions, real floating, any shape.",
        "    target: targets, the same shape as ``pred`` (cast to its dtype).",
    ]
    lines += [f"    {p.name}: option of the loss (default {p.default!r})." for p in options]
    lines += [
        "    {reduction}",
        "",
        "Returns:",
        '    The reduced loss, or the per-element loss of ``pred``\'s shape for ``"none"``.',
    ]
    return "\n".join(lines)


def custom_loss(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    task: str | Sequence[str] = "custom",
    summary: str | None = None,
    formula: str = "",
    **details: Any,
) -> Any:
    r"""Register an element-wise function as a loss with losskit's conventions.

    The function takes ``(pred, target)``, optionally the array namespace as a keyword
    argument ``xp`` (``xp.log``, ``xp.abs``...; plain operators need none), and
    keyword options with defaults; it returns the loss of each element, ``pred``'s
    shape.  losskit adds the rest, exactly as for its built-in losses:

    - ``reduction`` (``"mean"``, ``"sum"``, ``"none"``) and per-element ``weights``;
    - validation: ``pred`` must be real floating, ``target`` must have ``pred``'s shape
      (never broadcast) and no NaN, both from one library; the function must return one
      value per element.  Errors are :class:`~losskit.LossInputError`;
    - dtype policy: ``target`` is cast to ``pred``'s dtype and the loss is returned in it;
    - every backend (NumPy, PyTorch, JAX, TensorFlow, CuPy...), ``jax.jit``,
      ``tf.function`` and autodiff, as long as the function uses only ``xp`` operations;
    - a place in :func:`losskit.available` (task ``"custom"`` by default) and
      :func:`losskit.get_loss`, hence ``losskit.torch.<CamelName>`` and the Keras loss.

    Registering the same name again replaces the earlier user-defined loss (handy in
    notebooks); the names of built-in losses are refused.

    Args:
        fn: the element-wise function (when used as ``@custom_loss`` without arguments).
        name: the loss's name, a Python identifier; the function's name by default.
        task: one of :data:`losskit.core.registry.TASKS`, or several.
        summary: a one-line description; the first line of the docstring by default.
        formula: the loss in LaTeX, for the docs (``losskit explain`` renders it as text).
        **details: the guide's text (:class:`~losskit.guide.entries.GuideEntry` fields:
            ``explanation``, ``good_for``, ``references``...) and ``hyperparameters``,
            a description per option.

    Returns:
        The registered loss function (its metadata is ``loss.info``).

    Examples:
        A loss registered here stays in the catalogue for the rest of the process, so
        this example is not a doctest; the same code runs, and is cleaned up, in the
        tests of ``docs/conventions.md``::

            @losskit.custom_loss(name="log_error", task="regression")
            def log_error(pred, target, *, xp, offset=1.0):
                return xp.abs(xp.log(pred + offset) - xp.log(target + offset))

            log_error(pred, target, reduction="sum")   # "log_error" in losskit.available()
    """
    tasks = (task,) if isinstance(task, str) else tuple(task)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise LossInputError(f"task must be one of {TASKS}, or several; got {unknown[0]!r}")
    if fn is None:
        return functools.partial(
            custom_loss,
            name=name,
            task=task,
            summary=summary,
            formula=formula,
            **details,
        )
    loss_name = fn.__name__ if name is None else name
    if not isinstance(loss_name, str) or not loss_name.isidentifier():
        raise LossInputError(f"name must be a Python identifier; got {loss_name!r}")
    try:
        existing: LossInfo | None = get_loss(loss_name)
    except LossInputError:
        existing = None
    if existing is not None and existing.builtin:
        raise LossInputError(
            f"name {loss_name!r} is a built-in loss; choose another name for the custom loss"
        )
    options, takes_xp = _option_parameters(fn, loss_name)
    option_names = tuple(p.name for p in options)
    first_line = inspect.cleandoc(fn.__doc__).splitlines()[0] if fn.__doc__ else ""
    summary = summary or first_line or f"User-defined loss {loss_name}."

    def loss(pred: Array, target: Array, **kwargs: Any) -> Array:
        reduction = kwargs.pop("reduction", "mean")
        weights = kwargs.pop("weights", None)
        unknown = set(kwargs) - set(option_names)
        if unknown:
            raise TypeError(f"{loss_name}() got unexpected keyword argument(s) {sorted(unknown)}")
        check_reduction(reduction)
        xp, pred, target = elementwise_inputs(pred, target)
        values = fn(pred, target, xp=xp, **kwargs) if takes_xp else fn(pred, target, **kwargs)
        if not is_array(values) or tuple(values.shape) != tuple(pred.shape):
            got = tuple(values.shape) if hasattr(values, "shape") else type(values).__name__
            raise LossInputError(
                f"custom loss {loss_name!r} must return one value per element, an array of "
                f"pred's shape {tuple(pred.shape)}; got {got}. Return the unreduced loss: "
                "losskit applies reduction and weights"
            )
        if not xp.isdtype(values.dtype, "real floating"):
            raise LossInputError(
                f"custom loss {loss_name!r} must return real floating values; got {values.dtype}"
            )
        if values.dtype != pred.dtype:
            values = xp.astype(values, pred.dtype)
        return reduce_loss(values, reduction=reduction, weights=weights, xp=xp)

    keyword = inspect.Parameter.KEYWORD_ONLY
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    loss.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("pred", positional),
            inspect.Parameter("target", positional),
            *options,
            inspect.Parameter("reduction", keyword, default="mean", annotation=Reduction),
            inspect.Parameter("weights", keyword, default=None),
        ]
    )
    loss.__name__ = loss.__qualname__ = loss_name
    loss.__module__ = fn.__module__
    loss.__doc__ = _custom_doc(loss_name, summary, formula, fn, options)
    descriptions = dict(details.pop("hyperparameters", None) or {})
    guide_fields = {f.name for f in dataclasses.fields(GuideEntry)}
    unknown_details = sorted(set(details) - guide_fields)
    if unknown_details:
        raise LossInputError(
            f"custom_loss got unknown argument(s) {unknown_details}; guide fields are "
            f"{sorted(guide_fields)} and hyperparameters"
        )
    declared = [
        dataclasses.replace(infer_option(p.name, p.default), doc=descriptions.get(p.name, ""))
        for p in options
    ]
    register = register_loss(
        tasks=tasks, summary=summary, options=declared, formula=formula, builtin=False
    )
    registered = register(loss)
    set_guide_entry(
        loss_name,
        GuideEntry(**{k: tuple(v) if isinstance(v, list) else v for k, v in details.items()}),
    )
    return registered


# ------------------------------------------------------------------ composites


class Part(NamedTuple):
    """One term of a :class:`Composite`: ``weight * loss(*arrays, **options)``."""

    label: str
    weight: float
    loss: Callable[..., Any]
    options: Mapping[str, Any]

    @property
    def info(self) -> LossInfo:
        return self.loss.info  # type: ignore[attr-defined,no-any-return]


class CompositeValue(NamedTuple):
    """The value of a composite: the weighted ``total`` (differentiable) and each
    part's own, unweighted value by label in ``components``."""

    total: Array
    components: dict[str, Array]


def _resolve(item: Any) -> tuple[Callable[..., Any], dict[str, Any]]:
    """A registered loss (function or name), possibly a functools.partial with options."""
    options: dict[str, Any] = {}
    if isinstance(item, functools.partial):
        if item.args:
            raise LossInputError(
                "a functools.partial part may fix keyword options only, not arrays; got "
                f"positional arguments {item.args!r}"
            )
        options = dict(item.keywords)
        item = item.func
    if isinstance(item, str):
        item = get_loss(item).fn
    info = getattr(item, "info", None)
    if not isinstance(info, LossInfo):
        raise LossInputError(
            "parts of a composite must be registered losses (losskit.dice, a name such as "
            "'dice', a functools.partial of one, or a custom_loss); got "
            f"{getattr(item, '__name__', type(item).__name__)!r}"
        )
    return item, options


def _check_options(info: LossInfo, options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise LossInputError(
            f"options {unknown} are not options of {info.name!r}; its options are "
            f"{sorted(info.options)}"
        )


def _check_weight(weight: Any, label: str) -> float:
    if (
        isinstance(weight, bool)
        or not isinstance(weight, (int, float))
        or not math.isfinite(weight)
    ):
        raise LossInputError(
            f"the weight of part {label!r} must be a finite number; got {weight!r}"
        )
    return float(weight)


def _labelled(
    parts: Sequence[tuple[float, Callable[..., Any], Mapping[str, Any]]],
) -> tuple[Part, ...]:
    """Parts with unique labels: the loss name, then name_2, name_3... for repeats."""
    seen: dict[str, int] = {}
    out = []
    for weight, fn, options in parts:
        name = fn.info.name  # type: ignore[attr-defined]
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name}_{seen[name]}"
        out.append(Part(label, weight, fn, dict(options)))
    return tuple(out)


class Composite:
    r"""A weighted sum of registered losses over the same arrays (a part may take only the
    first of them):
    :math:`\ell = \sum_k w_k\, \ell_k(\text{arrays}; \text{options}_k)`.

    Built by :func:`combine` or by arithmetic on composites (``0.5 * a + 0.5 * b``).
    Calling it returns the total; :meth:`evaluate` also returns each part's value, for
    logging.  ``reduction`` and ``weights`` are passed to every part, so the total is the
    weighted sum of the parts' reduced values and its gradient the weighted sum of
    theirs.  Composites are immutable; ``parts`` lists their terms.
    """

    __slots__ = ("_arrays", "_parts")
    #: runs as written inside tf.function (see losskit.core.namespace.outside_autograph)
    autograph_info__ = None

    def __init__(self, parts: Sequence[Part]) -> None:
        if not parts:
            raise LossInputError("a composite needs at least one part")
        # The composite takes the arrays of its part that takes the most; every part
        # takes the first of them (sparse_categorical_cross_entropy's (pred, target) are
        # the first two of distillation's (pred, target, teacher)).
        widest = max(parts, key=lambda part: len(part.info.arrays))
        arrays = widest.info.arrays
        labels = [part.label for part in parts]
        if len(set(labels)) != len(labels):
            raise LossInputError(f"part labels must be unique; got {labels}")
        for part in parts:
            _check_options(part.info, part.options)
            if part.info.arrays != arrays[: len(part.info.arrays)]:
                raise LossInputError(
                    f"parts of a composite take the same arrays, or the first of them; "
                    f"{widest.info.name!r} takes {arrays} and {part.info.name!r} takes "
                    f"{part.info.arrays}"
                )
        self._parts = tuple(parts)
        self._arrays = arrays

    @property
    def parts(self) -> tuple[Part, ...]:
        """The terms, in order: label, weight, loss function and its options."""
        return self._parts

    @property
    def arrays(self) -> tuple[str, ...]:
        """Names of the arrays every part takes (``("pred", "target")``...)."""
        return self._arrays

    def evaluate(
        self,
        *arrays: Array,
        reduction: Reduction = "mean",
        weights: Array | None = None,
        normalizer: Any = None,
    ) -> CompositeValue:
        """The total and each part's unweighted value (same ``reduction``, ``weights`` and
        ``normalizer``: each part's mean divided by the given count).

        With ``reduction="none"`` every part must give an unreduced loss of one shape.
        """
        check_reduction(reduction)
        check_normalizer(normalizer, reduction)
        shared = {} if normalizer is None else {"normalizer": normalizer}
        if len(arrays) != len(self._arrays):
            raise LossInputError(
                f"the composite takes {', '.join(self._arrays)}; got {len(arrays)} arrays"
            )
        components = {
            part.label: part.loss(
                *arrays[: len(part.info.arrays)],
                reduction=reduction,
                weights=weights,
                **shared,
                **part.options,
            )
            for part in self._parts
        }
        if reduction == "none":
            shapes = {label: tuple(v.shape) for label, v in components.items()}
            if len(set(shapes.values())) > 1:
                raise LossInputError(
                    "reduction='none' needs parts whose unreduced losses have one shape; got "
                    + ", ".join(f"{label} {shape}" for label, shape in shapes.items())
                    + ". Use 'mean' or 'sum'"
                )
        total = None
        for part in self._parts:
            term = part.weight * components[part.label]
            total = term if total is None else total + term
        return CompositeValue(total, components)

    def __call__(
        self,
        *arrays: Array,
        reduction: Reduction = "mean",
        weights: Array | None = None,
        normalizer: Any = None,
    ) -> Array:
        return self.evaluate(
            *arrays, reduction=reduction, weights=weights, normalizer=normalizer
        ).total

    # -- arithmetic: no new class per combination, just more parts

    def _scaled(self, factor: float) -> Composite:
        # a finite factor can still overflow a weight (1e308 * 10) or, through 1 / divisor,
        # be inf: every scaled weight is checked as combine() checks a given one
        return Composite(
            [p._replace(weight=_check_weight(p.weight * factor, p.label)) for p in self._parts]
        )

    def __mul__(self, factor: Any) -> Composite:
        if isinstance(factor, bool) or not isinstance(factor, (int, float)):
            return NotImplemented
        return self._scaled(_check_weight(factor, "factor"))

    __rmul__ = __mul__

    def __truediv__(self, divisor: Any) -> Composite:
        if isinstance(divisor, bool) or not isinstance(divisor, (int, float)):
            return NotImplemented
        if divisor == 0 or not math.isfinite(divisor):
            raise LossInputError(
                f"a composite can be divided by a finite, non-zero number; got {divisor!r}"
            )
        return self._scaled(1.0 / divisor)

    def __add__(self, other: Any) -> Composite:
        if not isinstance(other, Composite):
            try:
                other = combine(other)
            except LossInputError:
                return NotImplemented
        merged = [(p.weight, p.loss, p.options) for p in (*self._parts, *other._parts)]
        return Composite(_labelled(merged))

    def __radd__(self, other: Any) -> Composite:
        if other == 0:  # sum([...]) starts from 0
            return self
        try:
            return combine(other) + self
        except LossInputError:
            return NotImplemented

    # -- a plain description, for saving (Keras stores it with a compiled model)

    def get_config(self) -> dict[str, Any]:
        """The parts as plain values: each loss's name, weight and options (arrays as
        lists), which :meth:`from_config` turns back into this composite."""
        return {
            "parts": [
                {
                    "loss": p.info.name,
                    "weight": p.weight,
                    "options": {k: _plain_value(v) for k, v in p.options.items()},
                }
                for p in self._parts
            ]
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Composite:
        """The composite described by :meth:`get_config` (user-defined losses must be
        registered again first)."""
        terms = [(p["weight"], get_loss(p["loss"]).fn, p["options"]) for p in config["parts"]]
        return cls(_labelled(terms))

    def __repr__(self) -> str:
        terms = []
        for p in self._parts:
            options = ", ".join(f"{k}={v!r}" for k, v in p.options.items())
            terms.append(f"{p.weight:g} * {p.info.name}({options})")
        return "Composite(" + " + ".join(terms) + ")"


def _plain_value(value: Any) -> Any:
    """An option value as plain Python (arrays and tuples as lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain_value(v) for v in value]
    return np.asarray(value).tolist()  # an array of any library, on the CPU


def combine(losses: Any, /, *more: Any, **options: Any) -> Composite:
    """A :class:`Composite`: a weighted sum of registered losses over the same arrays.

    A part may take only the first of them: ``distillation`` takes ``(pred, target,
    teacher)`` and ``sparse_categorical_cross_entropy`` the first two, so the two form
    one composite called with the three arrays.

    ``losses`` is a mapping ``{loss: weight}``, a list of losses, or losses given one by
    one (weight 1 each).  A loss
    is a registered loss function (``losskit.dice``, a :func:`custom_loss`), its name
    (``"dice"``), a ``functools.partial`` fixing its own options, or a composite.
    ``options`` are shared: each goes to every part that has such an option (for
    example ``from_logits=True`` to both Dice and BCE); an option that no part has is an
    error, and a part's own options (from a ``functools.partial``) take precedence.

    Examples:
        >>> import numpy as np, losskit
        >>> seg = losskit.combine({"dice": 0.5, "binary_cross_entropy": 0.5}, from_logits=True)
        >>> seg
        Composite(0.5 * dice(from_logits=True) + 0.5 * binary_cross_entropy(from_logits=True))
        >>> logits, masks = np.array([[2.0, -1.0, 0.5]]), np.array([[1.0, 0.0, 1.0]])
        >>> total, parts = seg.evaluate(logits, masks)
        >>> sorted(parts), bool(np.isclose(total, 0.5 * parts["dice"] + 0.5 * parts["binary_cross_entropy"]))
        (['binary_cross_entropy', 'dice'], True)
    """
    if isinstance(losses, (Mapping, list, tuple)) and more:
        raise LossInputError(
            "give the losses as one {loss: weight} mapping, one list, or one by one"
        )
    if isinstance(losses, Mapping):
        items = list(losses.items())
    elif isinstance(losses, (list, tuple)):
        items = [(item, 1.0) for item in losses]
    else:
        items = [(item, 1.0) for item in (losses, *more)]
    terms: list[tuple[float, Callable[..., Any], Mapping[str, Any]]] = []
    for item, weight in items:
        if isinstance(item, Composite):
            w = _check_weight(weight, repr(item))
            terms += [
                (w * p.weight, p.loss, {**_shared(p.info, options), **p.options})
                for p in item.parts
            ]
            continue
        fn, own = _resolve(item)
        w = _check_weight(weight, fn.info.name)  # type: ignore[attr-defined]
        terms.append((w, fn, {**_shared(fn.info, options), **own}))  # type: ignore[attr-defined]
    used = {k for _, fn, _ in terms for k in options if k in fn.info.options}  # type: ignore[attr-defined]
    unused = sorted(set(options) - used)
    if unused:
        names = ", ".join(sorted({fn.info.name for _, fn, _ in terms}))  # type: ignore[attr-defined]
        raise LossInputError(f"options {unused} are not options of any part ({names})")
    return Composite(_labelled(terms))


def _shared(info: LossInfo, options: Mapping[str, Any]) -> dict[str, Any]:
    """The shared options that this part accepts."""
    return {k: v for k, v in options.items() if k in info.options}

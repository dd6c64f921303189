"""Code examples generated from a loss's signature, for NumPy, PyTorch, JAX and Keras.

A :class:`Term` is one loss with its options; a list of terms is a composite (terms
with the same ``role`` are summed, with their weights) or a set of related losses
(a GAN's discriminator and generator losses have different roles).  :func:`code_for`
writes the code that computes them in each framework, so the examples in
``losskit explain``, the advisor and the docs always match the real signatures.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from losskit.core.registry import LossInfo, class_name, get_loss
from losskit.errors import LossInputError
from losskit.guide.entries import guide_entry

__all__ = [
    "FRAMEWORKS",
    "KERAS_CLASS_AXIS",
    "TORCH_CLASS_AXIS",
    "Term",
    "adapter_defaults",
    "code_for",
]

#: The frameworks code is generated for, in the order they are shown.
FRAMEWORKS: tuple[str, ...] = ("numpy", "pytorch", "jax", "keras")

#: Class axis of the PyTorch modules ([N, C, ...]) and of Keras (channels last).
TORCH_CLASS_AXIS = 1
KERAS_CLASS_AXIS = -1


def adapter_defaults(info: LossInfo, framework: str) -> dict[str, Any]:
    """The defaults of loss ``info``'s options in ``framework``: the one rule the
    adapters follow (docs/conventions.md, "Defaults").

    - The functions (``numpy``, ``jax``) and the Keras classes (``keras``) take the
      function's defaults: probabilities (``from_logits=False``, as Keras's own losses)
      and, for losses with a class axis, classes last (``axis=-1``).
    - The PyTorch modules (``pytorch``) take what ``torch.nn`` takes: logits
      (``from_logits=True``, as ``CrossEntropyLoss`` and ``BCEWithLogitsLoss``) and
      classes on dim 1 (``[N, C, ...]``) where the function has a class axis by
      default.  A class axis that defaults to None (the overlap losses' binary masks,
      compared element by element) stays None: pass ``axis=1`` for multi-class masks.

    >>> from losskit import get_loss
    >>> adapter_defaults(get_loss("dice"), "pytorch")["axis"], adapter_defaults(
    ...     get_loss("categorical_cross_entropy"), "pytorch")["axis"]
    (None, 1)
    """
    if framework not in FRAMEWORKS:
        raise LossInputError(f"framework must be one of {', '.join(FRAMEWORKS)}; got {framework!r}")
    defaults = dict(info.options)
    if framework == "pytorch":
        if "from_logits" in defaults:
            defaults["from_logits"] = True
        axis = info.class_axis
        if axis is not None and defaults[axis] is not None:
            defaults[axis] = TORCH_CLASS_AXIS
    return defaults


@dataclasses.dataclass(frozen=True)
class Term:
    """One loss in a recommendation or example: ``weight * loss(*inputs, **options)``."""

    loss: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    weight: float = 1.0
    #: variable names passed as the loss's arrays; by default its own argument names
    inputs: tuple[str, ...] | None = None
    #: terms with the same role are summed into one variable of that name
    role: str = "loss"

    def __post_init__(self) -> None:
        info = get_loss(self.loss)
        unknown = sorted(set(self.options) - set(info.options))
        if unknown:
            raise LossInputError(
                f"options of {self.loss!r} must be among {sorted(info.options)}; got {unknown}"
            )
        if self.inputs is not None and len(self.inputs) != len(info.arrays):
            raise LossInputError(
                f"inputs of {self.loss!r} must name its {len(info.arrays)} arrays "
                f"{info.arrays}; got {self.inputs}"
            )

    @property
    def info(self) -> LossInfo:
        return get_loss(self.loss)

    @property
    def arrays(self) -> tuple[str, ...]:
        return self.inputs if self.inputs is not None else self.info.arrays


#: Generated lines stay within this width (so that they fit an 80-column terminal).
WIDTH = 79


def _literal(value: Any) -> str:
    if isinstance(value, float):
        return repr(float(f"{value:.6g}"))
    return repr(value)


def _call(func: str, args: Sequence[str], indent: str, before: int = 12) -> str:
    """``func(args)`` on one line if it fits at ``indent`` after ``before`` characters
    (``name = ``), else one argument per line."""
    one_line = f"{func}({', '.join(args)})"
    if len(indent) + before + len(one_line) <= WIDTH or not args:
        return one_line
    inner = "".join(f"\n{indent}    {a}," for a in args)
    return f"{func}({inner}\n{indent})"


def _option_args(options: Mapping[str, Any]) -> list[str]:
    return [f"{k}={_literal(v)}" for k, v in options.items()]


def _sum(render: Any, terms: Sequence[Term], indent: str) -> str:
    """The weighted sum of ``render(term, indent)``, in parentheses over several lines."""

    def weighted(term: Term, at: str) -> str:
        call = render(term, at)
        return call if term.weight == 1 else f"{term.weight:g} * {call}"

    if len(terms) == 1:
        return weighted(terms[0], indent)
    inner = f"\n{indent}    + ".join(weighted(t, indent + "    ") for t in terms)
    return f"(\n{indent}    {inner}\n{indent})"


def _roles(terms: Sequence[Term]) -> dict[str, list[Term]]:
    roles: dict[str, list[Term]] = {}
    for term in terms:
        roles.setdefault(term.role, []).append(term)
    return roles


def _variables(terms: Sequence[Term]) -> list[str]:
    names: list[str] = []
    for term in terms:
        names.extend(a for a in term.arrays if a not in names)
    return names


def _term_forms(term: Term, framework: str) -> list[str]:
    """The term's input forms in ``framework``, without those its options (given, or
    the framework's defaults) rule out."""
    ruled_out = set()
    options = {**adapter_defaults(term.info, framework), **term.options}
    if "from_logits" in options:
        ruled_out |= (
            {"probabilities", "frame log-probabilities"} if options["from_logits"] else {"logits"}
        )
    if "log_target" in options and not options["log_target"]:
        ruled_out.add("log-probabilities")
    if "log_input" in options:
        ruled_out.add("rates" if options["log_input"] else "log-rates")
    axis_name = term.info.class_axis
    if axis_name:
        if options.get(axis_name) is None:
            ruled_out |= {"one-hot labels", "integer labels"}  # masks compared element-wise
        else:
            ruled_out.add("binary labels")
    return [f for f in guide_entry(term.info.name).input_forms if f not in ruled_out]


def _forms(terms: Sequence[Term], framework: str) -> str:
    """The input forms every term accepts."""
    forms = _term_forms(terms[0], framework)
    for term in terms[1:]:
        accepted = set(_term_forms(term, framework))
        forms = [f for f in forms if f in accepted]
    return "; ".join(forms)


def _comment(text: str, indent: str = "") -> str:
    """``text`` as comment lines of at most :data:`WIDTH` characters."""
    lines = textwrap.wrap(
        text,
        WIDTH - len(indent) - 2,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(f"{indent}# {line}" for line in lines)


def _input_comment(terms: Sequence[Term], kind: str, framework: str) -> str:
    forms = _forms(terms, framework)
    return _comment(f"{', '.join(_variables(terms))}: {kind}" + (f" ({forms})" if forms else ""))


def _classes_on_an_axis(terms: Sequence[Term], framework: str) -> bool:
    """Whether a term reads classes along an axis (not element-wise masks)."""
    for term in terms:
        axis = term.info.class_axis
        if (
            axis
            and {**adapter_defaults(term.info, framework), **term.options}.get(axis) is not None
        ):
            return True
    return False


def _framework_options(term: Term, class_axis: int) -> dict[str, Any]:
    """The term's options with the class axis, when set, moved to the framework's layout."""
    options = dict(term.options)
    axis_name = term.info.class_axis
    if axis_name and options.get(axis_name) is not None:
        options[axis_name] = class_axis
    return options


def _functional(options_for: Any = None) -> Any:
    """Renders ``losskit.<loss>(arrays..., options...)``."""

    def render(term: Term, indent: str) -> str:
        options = term.options if options_for is None else options_for(term)
        return _call(f"losskit.{term.loss}", [*term.arrays, *_option_args(options)], indent)

    return render


def _numpy(terms: Sequence[Term]) -> str:
    lines = ["import losskit", "", _input_comment(terms, "NumPy arrays", "numpy")]
    for role, group in _roles(terms).items():
        lines.append(f"{role} = {_sum(_functional(), group, '')}")
    return "\n".join(lines)


#: Arrays no gradient is taken for: targets, labels, a teacher's logits, and what a frozen reference model
#: gives (its log-probabilities, KTO's KL point).
_CONSTANT_ARRAYS = frozenset({"target", "teacher", "desirable", "kl"})


def _argnums(params: Sequence[str]) -> str:
    """``argnums`` differentiating every array but the constant ones and the integer
    sequence lengths (``input_lengths``, ``target_lengths``) (default: the first)."""
    differentiable = tuple(
        i
        for i, p in enumerate(params)
        if p not in _CONSTANT_ARRAYS
        and not p.startswith("reference_")
        and not p.endswith("_lengths")
    )
    if differentiable == (0,):
        return ""
    return f", argnums={differentiable[0] if len(differentiable) == 1 else differentiable}"


def _jax(terms: Sequence[Term]) -> str:
    lines = ["import jax", "import losskit"]
    for role, group in _roles(terms).items():
        params = _variables(group)
        lines += [
            "",
            "",
            "@jax.jit",
            _call(f"def {role}_fn", params, "", before=1) + ":",
            f"    return {_sum(_functional(), group, '    ')}",
            "",
            "",
            _input_comment(group, "JAX arrays", "jax"),
            *_value_and_grad(role, params),
        ]
    return "\n".join(lines)


def _value_and_grad(role: str, params: Sequence[str]) -> list[str]:
    """``role, grad = jax.value_and_grad(role_fn)(params)``, in two lines if too long."""
    function = f"jax.value_and_grad({role}_fn{_argnums(params)})"
    line = f"{role}, grad = {function}({', '.join(params)})"
    if len(line) <= WIDTH:
        return [line]
    target = f"{role}, grad = "
    return [
        f"{role}_value_and_grad = {function}",
        target + _call(f"{role}_value_and_grad", params, "", before=len(target)),
    ]


#: A loss name longer than this is shortened to its initials as a variable name.
_LONG_NAME = 20


def _object_names(terms: Sequence[Term]) -> list[str]:
    """A variable name per term: the loss's name (its initials when it is long:
    ``scce``), numbered when a loss is used twice."""
    totals: dict[str, int] = {}
    for term in terms:
        totals[term.loss] = totals.get(term.loss, 0) + 1
    seen: dict[str, int] = {}
    names = []
    for term in terms:
        seen[term.loss] = seen.get(term.loss, 0) + 1
        short = term.loss
        if len(short) > _LONG_NAME:
            short = "".join(part[0] for part in short.split("_"))
        names.append(short if totals[term.loss] == 1 else f"{short}_{seen[term.loss]}")
    return names


def _torch_options(term: Term) -> dict[str, Any]:
    """The term's options for its module, without those that are the module's defaults
    (logits, classes on dim 1)."""
    options = _framework_options(term, TORCH_CLASS_AXIS)
    defaults = adapter_defaults(term.info, "pytorch")
    return {k: v for k, v in options.items() if not (k in defaults and _same(defaults[k], v))}


def _same(default: Any, value: Any) -> bool:
    """Whether an option value is the default (booleans, numbers, None, strings)."""
    if isinstance(value, bool) or isinstance(default, bool) or value is None or default is None:
        return value is default
    return (
        isinstance(value, int | float | str) and type(value) is type(default) and value == default
    )


def _pytorch(terms: Sequence[Term]) -> str:
    names = _object_names(terms)
    lines = ["import losskit.torch", ""]
    for name, term in zip(names, terms, strict=True):
        module = f"losskit.torch.{class_name(term.loss)}"
        call = _call(module, _option_args(_torch_options(term)), "", before=len(name) + 3)
        lines.append(f"{name} = {call}")
    kind = "tensors, classes on dim 1" if _classes_on_an_axis(terms, "pytorch") else "tensors"
    lines.append(_input_comment(terms, kind, "pytorch"))
    roles = _roles(terms)

    def render(term: Term, indent: str) -> str:
        return _call(names[terms.index(term)], list(term.arrays), indent)

    for role, group in roles.items():
        lines.append(f"{role} = {_sum(render, group, '')}")
    if list(roles) == ["loss"]:
        lines.append("loss.backward()")
    else:
        lines.append(f"# each of {', '.join(roles)} is minimised by its own optimiser step")
    return "\n".join(lines)


def _keras_object(term: Term, indent: str, before: int = 12) -> str:
    options = _framework_options(term, KERAS_CLASS_AXIS)
    axis = term.info.class_axis
    if axis and options.get(axis) == KERAS_CLASS_AXIS == term.info.options[axis]:
        del options[axis]  # the default: classes last
    return _call(f"losskit.keras.{class_name(term.loss)}", _option_args(options), indent, before)


def _keras(terms: Sequence[Term]) -> str:
    roles = _roles(terms)
    axis_note = "; classes on the last axis" if _classes_on_an_axis(terms, "keras") else ""
    # Keras losses take (y_true, y_pred); arrays beyond pred and target (var) are
    # concatenated to y_pred on the last axis
    fits_compile = all(len(t.arrays) >= 2 and t.info.arrays[1] == "target" for t in terms)
    if len(roles) == 1 and fits_compile:
        targets = {t.arrays[1] for t in terms}
        preds = [t.arrays[0] for t in terms]
        if len(terms) == 1:
            extra = terms[0].arrays[2:]
            derived = terms[0].info.derived_arrays
            if extra and set(terms[0].info.arrays[2:]) <= set(derived):
                concat_note = "".join(
                    f"; {name}: {derived[name].description}" for name in terms[0].info.arrays[2:]
                )
            elif extra:
                concat_note = f"; y_pred = concat([{', '.join((preds[0], *extra))}], axis=-1)"
            else:
                concat_note = ""
            return "\n".join(
                [
                    "import losskit.keras",
                    "",
                    f"loss = {_keras_object(terms[0], '')}",
                    _comment(
                        f"Keras calls loss(y_true, y_pred): target first{axis_note}{concat_note}"
                    ),
                    'model.compile(optimizer="adam", loss=loss)',
                ]
            )
        two_arrays = all(len(t.arrays) == 2 for t in terms)
        if two_arrays and len(set(preds)) == 1 and len(targets) == 1:
            names = _object_names(terms)
            lines = ["import losskit.keras", ""]
            lines += [
                f"{n} = {_keras_object(t, '', before=len(n) + 3)}"
                for n, t in zip(names, terms, strict=True)
            ]

            def render(term: Term, indent: str) -> str:
                return f"{names[terms.index(term)]}(y_true, y_pred)"

            lines += [
                "",
                "",
                f"def loss(y_true, y_pred):  # target first{axis_note}",
                f"    return {_sum(render, terms, '    ')}",
                "",
                "",
                'model.compile(optimizer="adam", loss=loss)',
            ]
            return "\n".join(lines)
        if two_arrays and len(set(preds)) == len(preds) and len(targets) == 1:
            listed = "".join(f"\n    {_keras_object(t, '    ')}," for t in terms)
            return "\n".join(
                [
                    "import losskit.keras",
                    "",
                    _comment(f"a model with one output per loss: {', '.join(preds)}"),
                    f'model.compile(optimizer="adam", loss=[{listed}\n])',
                ]
            )
    lines = [
        "import losskit",
        "",
        "# Keras's compile() passes only (y_true, y_pred): call losskit on the Keras",
        "# tensors inside a custom train_step (JAX or PyTorch backend).",
    ]
    render = _functional(lambda t: _framework_options(t, KERAS_CLASS_AXIS))
    for role, group in roles.items():
        lines.append(f"{role} = {_sum(render, group, '')}")
    return "\n".join(lines)


def code_for(terms: Sequence[Term]) -> dict[str, str]:
    """Code computing ``terms`` in each of :data:`FRAMEWORKS`."""
    if not terms:
        raise LossInputError("terms must hold at least one Term; got none")
    return {
        "numpy": _numpy(terms),
        "pytorch": _pytorch(terms),
        "jax": _jax(terms),
        "keras": _keras(terms),
    }

"""``keras.losses.Loss`` classes generated from the functional losses and their metadata.

One class per registered loss, named as the PyTorch module
(:func:`losskit.core.registry.class_name`).  The class holds the function's keyword options,
checked when it is built, and its ``call(y_true, y_pred)`` returns
Keras's *per-sample* loss; Keras's own ``Loss.__call__`` then applies ``sample_weight``,
masks and the ``reduction``.  The per-sample loss is losskit's unreduced loss
(``reduction="none"``), with one adjustment so it means what Keras means by it:

- an element-wise loss (unreduced loss of the prediction's shape, e.g. ``mse``) on a
  prediction with two or more axes is averaged over the last axis, as Keras's
  ``MeanSquaredError``, ``BinaryCrossentropy``, ``Hinge``... do;
- a loss with a class axis (cross-entropy, focal, KL) is already one value per sample.

Keras casts ``y_true`` to the loss's float dtype before ``call``; class labels (a
``y_true`` with one axis fewer than ``y_pred`` for a loss with a class axis) are cast
back to integers after checking that they are whole numbers.  Positions whose label
is ``ignore_index`` are masked out of the loss the way Keras's own ``ignore_class``
does, so ``"sum_over_batch_size"`` averages over the remaining positions only.

``y_pred`` is the function's first array and ``y_true`` its second.  Arrays beyond
the second (``gaussian_nll``'s ``var``) come concatenated to the first on the last axis,
``y_pred = concat([pred, var], -1)``, unless the loss declares how to derive them from
the two (``ctc``'s lengths: every frame, and the labels before the padding, as Keras's
own ``CTC``); such a loss takes integer labels in ``y_true`` too.  A loss of one array
(``gan_generator``) does not use ``y_true``.

Keras's own lookup of losses (``keras.losses.get``, which ``model.compile`` uses)
learns losskit's objects when this module is imported: ``"losskit>Huber"``, a
registered loss function (``losskit.huber``, a ``functools.partial`` of one) and a
composite (``losskit.combine(...)``) become the Keras losses of this module, so that
they receive Keras's ``(y_true, y_pred)`` in the right order.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

from losskit.core.namespace import namespace
from losskit.core.registry import LossInfo, class_name, get_loss
from losskit.core.validation import check_option, check_values, value_checks
from losskit.custom import Composite
from losskit.errors import LossInputError
from losskit.guide.examples import adapter_defaults

#: Keras backends whose tensors losskit's functions accept (NumPy's can only evaluate).
SUPPORTED_BACKENDS: tuple[str, ...] = ("tensorflow", "jax", "torch", "numpy")

try:
    import keras
except ModuleNotFoundError as err:
    if err.name and err.name.split(".")[0] == "tensorflow":
        raise ImportError(
            "Keras is configured for its default backend, TensorFlow, which is not "
            "installed: pip install 'losskit[tensorflow]', or choose another backend with "
            "the environment variable KERAS_BACKEND=jax (or torch) before importing keras"
        ) from err
    if err.name == "keras":
        raise ImportError("losskit.keras needs Keras 3: pip install 'losskit[keras]'") from err
    raise

if keras.backend.backend() not in SUPPORTED_BACKENDS:
    raise ImportError(
        f"losskit.keras supports the Keras backends {', '.join(SUPPORTED_BACKENDS)}; "
        f"Keras runs on {keras.backend.backend()!r}. Set KERAS_BACKEND to one of them "
        "before importing keras"
    )

__all__ = ["KERAS_REDUCTIONS", "SUPPORTED_BACKENDS", "Combined", "loss_class"]

#: The reductions of ``keras.losses.Loss``.
KERAS_REDUCTIONS: tuple[str | None, ...] = (
    "sum_over_batch_size",
    "mean",
    "sum",
    "mean_with_sample_weight",
    "none",
    None,
)

#: Registered-name prefix under which the classes are serializable: ``losskit>Huber``.
PACKAGE = "losskit"

#: Constructor arguments of every Keras loss; a loss option may not reuse these names.
_KERAS_ARGUMENTS = ("reduction", "name", "dtype")

_CACHE: dict[str, type[keras.losses.Loss]] = {}

Array = Any

KERAS_DOC = """\
Keras conventions: ``loss(y_true, y_pred, sample_weight=None)``, the reverse of the
function's order: {arrays}.  Options are the function's keyword options, with the same
defaults; ``reduction``, ``name`` and ``dtype`` are Keras's.  ``call`` returns the
per-sample loss (losskit's unreduced loss, averaged over the last axis for element-wise
losses, as Keras's own losses are); Keras then multiplies it by ``sample_weight`` and
applies ``reduction``: ``"sum_over_batch_size"`` (default; also ``"mean"``) divides the
weighted sum by the number of per-sample values, not by the sum of the weights as
losskit's ``"mean"`` does; ``"mean_with_sample_weight"`` divides by the sum of the
weights; ``"sum"``; ``"none"`` or None.  The function's ``reduction`` and ``weights``
arguments below are replaced by these."""


def _derives_extras(info: LossInfo) -> bool:
    """Whether every array past the target is derived from y_true and y_pred."""
    return len(info.arrays) > 2 and set(info.arrays[2:]) <= set(info.derived_arrays)


def _array_mapping(info: LossInfo) -> str:
    """How ``y_true`` and ``y_pred`` map onto the function's arrays, for the docstring."""
    arrays = info.arrays
    stacked = " | ".join((arrays[0], *arrays[2:]))
    y_pred = (
        f"``y_pred`` is ``{arrays[0]}``"
        if len(arrays) <= 2 or _derives_extras(info)
        else f"``y_pred`` holds [{stacked}] concatenated on the last axis"
    )
    y_true = f"``y_true`` is ``{arrays[1]}``" if len(arrays) > 1 else "``y_true`` is not used"
    derived = "".join(f"; ``{name}``: {d.description}" for name, d in info.derived_arrays.items())
    return f"{y_pred}, {y_true}{derived if _derives_extras(info) else ''}"


def _plain(value: Any, is_array_option: bool) -> Any:
    """An option value that survives ``get_config`` and JSON: arrays become lists."""
    if not is_array_option or value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return np.asarray(value).tolist()
    # an array of any library, on any device
    return np.asarray(keras.ops.convert_to_numpy(value)).tolist()


def _split_prediction(y_pred: Array, arrays: tuple[str, ...]) -> tuple[Array, list[Array]]:
    """The function's first array and its arrays after the second (``var``...), which
    ``y_pred`` holds concatenated on its last axis in equal widths."""
    parts = 1 + len(arrays[2:])
    if parts == 1:
        return y_pred, []
    if y_pred.ndim == 0 or y_pred.shape[-1] % parts:
        stacked = " | ".join((arrays[0], *arrays[2:]))
        raise LossInputError(
            f"y_pred must hold [{stacked}] concatenated on the last axis, {parts} parts of "
            f"equal width; got shape {tuple(y_pred.shape)}"
        )
    width = y_pred.shape[-1] // parts
    chunks = [y_pred[..., i * width : (i + 1) * width] for i in range(parts)]
    return chunks[0], chunks[1:]


def _as_labels(y_true: Array, xp: Any) -> Array:
    """Class labels that Keras cast to float, back as the backend's default integers."""
    if xp.isdtype(y_true.dtype, "integral"):
        return y_true
    check_values(
        y_true,
        lambda t: xp.any(t != xp.round(t)),
        "y_true must hold integer class labels; found a value that is not a whole number",
    )
    integer = xp.__array_namespace_info__().default_dtypes()["integral"]
    return xp.astype(y_true, integer)


def _placeholders() -> bool:
    """Whether Keras is inferring shapes (its symbolic scope): on PyTorch it runs the loss
    on placeholder tensors of ones, whose values losskit must not check."""
    from keras.src.backend.common.symbolic_scope import in_symbolic_scope

    return bool(in_symbolic_scope())


def _mask_ignored(loss: Array, target: Array, ignore_index: int) -> Array:
    """Mark the positions labelled ``ignore_index`` as masked out of ``loss``.

    Keras has no public API for a loss to leave positions out of its reduction; this is
    the mask its own ``SparseCategoricalCrossentropy(ignore_class=...)`` sets, which
    ``Loss.__call__`` merges with ``sample_weight`` (and drops from the count of
    ``"sum_over_batch_size"``).
    """
    from keras.src.backend import set_keras_mask

    set_keras_mask(loss, target != ignore_index)
    return loss


def _class_doc(info: LossInfo) -> str:
    return (
        f"Keras loss for :func:`losskit.{info.name}`: {info.summary}\n\n"
        f"{KERAS_DOC.format(arrays=_array_mapping(info))}\n\n{info.fn.__doc__ or ''}"
    )


def _signature(info: LossInfo, defaults: dict[str, Any]) -> inspect.Signature:
    """``__init__``'s signature, for help(), IDEs and the docs: the function's options
    with the Keras classes' defaults (:func:`losskit.guide.examples.adapter_defaults`)
    and the function's annotations, then Keras's ``reduction``, ``name`` and ``dtype``."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    options = [
        p.replace(kind=keyword, default=defaults[name])
        for name, p in info.signature.parameters.items()
        if name in defaults
    ]
    keras_arguments = [
        inspect.Parameter("reduction", keyword, default="sum_over_batch_size"),
        inspect.Parameter("name", keyword, default=None),
        inspect.Parameter("dtype", keyword, default=None),
    ]
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return inspect.Signature([self, *options, *keras_arguments])


def _make_loss_class(info: LossInfo) -> type[keras.losses.Loss]:
    defaults = adapter_defaults(info, "keras")
    clash = set(defaults) & set(_KERAS_ARGUMENTS)
    if clash:
        raise LossInputError(
            f"loss {info.name!r} has option(s) {sorted(clash)}, which are Keras's own "
            f"arguments {_KERAS_ARGUMENTS}; rename them to use the loss with Keras"
        )
    array_options = frozenset(info.array_options)
    arrays = info.arrays
    takes_target = len(arrays) > 1
    derives_extras = _derives_extras(info)
    takes_labels = takes_target and (info.class_axis is not None or derives_extras)
    cls_name = class_name(info.name)
    roles = f"{arrays[0]} is y_pred" + (f", {arrays[1]} is y_true" if takes_target else "")

    def __init__(
        self: keras.losses.Loss,
        *,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **options: Any,
    ) -> None:
        unknown = set(options) - set(defaults)
        if unknown:
            raise LossInputError(
                f"{cls_name} got unknown option(s) {sorted(unknown)}; its options are "
                f"{sorted(defaults)} and Keras's reduction, name and dtype"
            )
        check_option("reduction", reduction, KERAS_REDUCTIONS)
        given = {option: options.get(option, default) for option, default in defaults.items()}
        # a bad option value fails here, from its declaration, not at the first batch
        info.check_options(given)
        if given.get("return_lse"):
            raise LossInputError(
                f"{cls_name} cannot take return_lse=True: a Keras loss returns one value; "
                "call the function for (loss, lse)"
            )
        values = {option: _plain(value, option in array_options) for option, value in given.items()}
        keras.losses.Loss.__init__(self, name=name, reduction=reduction, dtype=dtype)
        for option, value in values.items():
            setattr(self, option, value)

    def call(self: keras.losses.Loss, y_true: Array, y_pred: Array) -> Array:
        if _placeholders():
            with value_checks(False):
                return per_sample(self, y_true, y_pred)
        return per_sample(self, y_true, y_pred)

    def per_sample(self: keras.losses.Loss, y_true: Array, y_pred: Array) -> Array:
        xp = namespace(y_pred=y_pred, y_true=y_true)
        pred, extras = (y_pred, []) if derives_extras else _split_prediction(y_pred, arrays)
        target = y_true
        if takes_labels and y_true.ndim == pred.ndim - 1:
            target = _as_labels(y_true, xp)
        options = {option: getattr(self, option) for option in defaults}
        if derives_extras:
            every = {**info.options, **options}
            extras = [info.derived_arrays[a].derive(pred, target, every, xp) for a in arrays[2:]]
        inputs = (pred, target, *extras) if takes_target else (pred,)
        try:
            loss = info.fn(*inputs, reduction="none", **options)
        except LossInputError as err:
            hint = ""
            if takes_labels and target.ndim == pred.ndim and target.shape[-1] == 1:
                hint = (
                    ". Class labels have y_pred's shape without the class axis: squeeze the "
                    "trailing axis of size 1 from y_true"
                )
            raise LossInputError(f"{cls_name}(y_true, y_pred): {err} ({roles}){hint}") from err
        if tuple(loss.shape) == tuple(pred.shape) and pred.ndim >= 2:
            # Element-wise loss: Keras's per-sample value is the mean over the last axis.
            loss = xp.mean(loss, axis=-1)
        ignore_index = options.get("ignore_index")
        if ignore_index is not None and tuple(loss.shape) == tuple(target.shape):
            loss = _mask_ignored(loss, target, ignore_index)
        return loss

    def get_config(self: keras.losses.Loss) -> dict[str, Any]:
        config = keras.losses.Loss.get_config(self)
        config["dtype"] = self.dtype
        config.update({option: getattr(self, option) for option in defaults})
        return config

    __init__.__signature__ = _signature(info, defaults)  # type: ignore[attr-defined]
    cls = type(
        cls_name,
        (keras.losses.Loss,),
        {
            "__init__": __init__,
            "call": call,
            "get_config": get_config,
            "__doc__": _class_doc(info),
            "__module__": "losskit.keras",
            "__qualname__": cls_name,
            "loss_info": info,
        },
    )
    registered_name = f"{PACKAGE}>{cls_name}"
    # A user-defined loss registered again replaces its previous Keras class.
    keras.saving.get_custom_objects().pop(registered_name, None)
    return keras.saving.register_keras_serializable(package=PACKAGE, name=cls_name)(cls)


def loss_class(loss_name: str) -> type[keras.losses.Loss]:
    """The Keras loss class of the registered loss ``loss_name`` (built on first use).

    Building a class also registers it with Keras's serialization (as
    ``"losskit>ClassName"``), so a saved ``.keras`` model that uses it loads again.
    """
    info = get_loss(loss_name)
    cached = _CACHE.get(loss_name)
    if cached is None or cached.loss_info is not info:  # type: ignore[attr-defined]
        cached = _CACHE[loss_name] = _make_loss_class(info)
    return cached


# ------------------------------------------------------------------- composites


def _per_sample(loss: Array, xp: Any) -> Array:
    """One value per sample (axis 0): the mean over the other axes, positions masked out
    by ``ignore_index`` left out of it."""
    if loss.ndim <= 1:
        return loss
    from keras.src.backend import get_keras_mask

    axes = tuple(range(1, loss.ndim))
    mask = get_keras_mask(loss)
    if mask is None:
        return xp.mean(loss, axis=axes)
    kept = xp.astype(mask, loss.dtype)
    # a sample with every position ignored contributes 0, not 0 / 0
    count = xp.sum(kept, axis=axes)
    return xp.sum(loss * kept, axis=axes) / xp.where(count == 0, 1.0, count)


@keras.saving.register_keras_serializable(package=PACKAGE, name="Combined")
class Combined(keras.losses.Loss):
    """Keras loss for a composite of losskit losses (:func:`losskit.combine`).

    ``model.compile(loss=losskit.combine(...))`` builds one: Keras calls its losses as
    ``loss(y_true, y_pred)``, the reverse of losskit's order, so a composite passed as a
    plain function would receive its arrays swapped.  Each part is its loss's Keras
    class (:func:`loss_class`) with the part's options; the per-sample loss is the
    weighted sum of the parts' per-sample losses.  Parts whose per-sample losses differ
    in shape (Dice gives one value per image, binary cross-entropy one per pixel row)
    are each first averaged to one value per sample.  ``get_config`` lists the parts,
    so a saved model loads again (a user-defined part must be registered first).
    """

    def __init__(
        self,
        composite: Composite,
        *,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if not isinstance(composite, Composite):
            raise LossInputError(
                f"composite must be a losskit.combine(...) composite; got {type(composite).__name__}"
            )
        check_option("reduction", reduction, KERAS_REDUCTIONS)
        super().__init__(name=name or "combined", reduction=reduction, dtype=dtype)
        self.composite = composite
        self._losses = [
            (part.weight, loss_class(part.info.name)(reduction="none", **part.options))
            for part in composite.parts
        ]

    def call(self, y_true: Array, y_pred: Array) -> Array:
        from keras.src.backend import get_keras_mask, set_keras_mask

        terms = [(weight, loss.call(y_true, y_pred)) for weight, loss in self._losses]
        xp = namespace(y_pred=y_pred)
        if len({tuple(term.shape) for _, term in terms}) > 1:
            terms = [(weight, _per_sample(term, xp)) for weight, term in terms]
        total = None
        for weight, term in terms:
            total = weight * term if total is None else total + weight * term
        masks = [get_keras_mask(term) for _, term in terms]
        masks = [m for m in masks if m is not None]
        if masks:
            mask = masks[0]
            for m in masks[1:]:
                mask = mask & m
            set_keras_mask(total, mask)
        return total

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["dtype"] = self.dtype
        config.update(self.composite.get_config())
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Combined:
        config = dict(config)
        composite = Composite.from_config({"parts": config.pop("parts")})
        return cls(composite, **config)


_PRESET_CACHE: dict[str, type[Combined]] = {}


def preset_class(preset_name: str) -> type[Combined]:
    """The Keras loss of a preset (:mod:`losskit.presets`: ``DiceCE``, ``DiceFocal``): a
    :class:`Combined` of the preset's composite, with the functions' defaults (probabilities,
    classes last); it saves as its parts and loads back as a :class:`Combined`."""
    from losskit.presets import PRESET_FUNCTIONS, PRESETS, preset

    cached = _PRESET_CACHE.get(preset_name)
    if cached is not None:
        return cached
    declaration = PRESETS[preset_name]

    def __init__(
        self: Combined,
        *,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **options: Any,
    ) -> None:
        Combined.__init__(
            self,
            preset(preset_name, **options),
            reduction=reduction,
            name=name or preset_name,
            dtype=dtype,
        )

    def from_config(cls: type, config: dict[str, Any]) -> Combined:
        return Combined.from_config(config)

    cls_name = class_name(preset_name)
    cls = type(
        cls_name,
        (Combined,),
        {
            "__init__": __init__,
            "from_config": classmethod(from_config),
            "__doc__": f"Keras loss of the preset :func:`losskit.{preset_name}`: "
            f"{declaration.summary}\n\n{PRESET_FUNCTIONS[preset_name].__doc__}",
            "__module__": "losskit.keras",
            "__qualname__": cls_name,
        },
    )
    keras.saving.get_custom_objects().pop(f"{PACKAGE}>{cls_name}", None)
    cls = keras.saving.register_keras_serializable(package=PACKAGE, name=cls_name)(cls)
    _PRESET_CACHE[preset_name] = cls
    return cls


# A composite given to model.compile is saved with the model as the composite itself.
keras.saving.register_keras_serializable(package=PACKAGE, name="Composite")(Composite)


# ------------------------------------------------------- Keras's lookup of losses


def _as_keras_loss(identifier: Any) -> keras.losses.Loss | None:
    """The Keras loss for a losskit identifier, or None for anything else."""
    if isinstance(identifier, str):
        if not identifier.startswith(f"{PACKAGE}>"):
            return None
        cls = keras.saving.get_registered_object(identifier)
        return cls() if cls is not None else None
    if isinstance(identifier, Composite):
        return Combined(identifier)
    options: dict[str, Any] = {}
    fn = identifier
    if isinstance(fn, functools.partial) and not fn.args:
        options, fn = dict(fn.keywords), fn.func
    info = getattr(fn, "info", None)
    if isinstance(info, LossInfo) and info.fn is fn:
        return loss_class(info.name)(**options)
    return None


def _teach_keras_lookup() -> None:
    """Make ``keras.losses.get`` (and so ``model.compile``) turn losskit's identifiers
    into this module's Keras losses; it falls back to Keras's own lookup otherwise.

    Keras wraps any other callable in ``LossFunctionWrapper``, which calls it as
    ``fn(y_true, y_pred)``: a losskit function or composite would silently get its
    arrays swapped.  Keras has no registry for such conversions, so its lookup
    function is wrapped, once, in the two modules that hold it.
    """
    import keras.src.losses as keras_losses

    keras_get = keras_losses.get
    if getattr(keras_get, "losskit_lookup", False):
        return

    @functools.wraps(keras_get)
    def get(identifier: Any) -> Any:
        loss = _as_keras_loss(identifier)
        return keras_get(identifier) if loss is None else loss

    get.losskit_lookup = True  # type: ignore[attr-defined]
    keras_losses.get = get
    keras.losses.get = get


_teach_keras_lookup()

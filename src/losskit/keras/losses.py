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
``y_pred = concat([pred, var], -1)``; a loss of one array (``gan_generator``) does not
use ``y_true``.
"""

from __future__ import annotations

import inspect
from typing import Any

import array_api_compat
import numpy as np

from losskit.core.registry import LossInfo, class_name, get_loss
from losskit.core.validation import check_option, check_values
from losskit.errors import LossInputError
from losskit.guide.examples import adapter_defaults

#: Keras backends whose tensors losskit's array-API functions accept.  TensorFlow is
#: not among them: its tensors do not implement the array API standard (docs/keras.md).
SUPPORTED_BACKENDS: tuple[str, ...] = ("jax", "torch", "numpy")

try:
    import keras
except ModuleNotFoundError as err:
    if err.name and err.name.split(".")[0] == "tensorflow":
        raise ImportError(
            "Keras is configured for the TensorFlow backend, which is not installed. "
            f"losskit.keras supports the Keras backends {', '.join(SUPPORTED_BACKENDS)}: "
            "set the environment variable KERAS_BACKEND=jax (or torch) before importing keras"
        ) from err
    if err.name == "keras":
        raise ImportError("losskit.keras needs Keras 3: pip install 'losskit[keras]'") from err
    raise

if keras.backend.backend() not in SUPPORTED_BACKENDS:
    raise ImportError(
        f"losskit.keras supports the Keras backends {', '.join(SUPPORTED_BACKENDS)}; "
        f"Keras runs on {keras.backend.backend()!r}. TensorFlow tensors do not implement "
        "the Python array API standard that losskit's functions are written on (see "
        "docs/keras.md). Set KERAS_BACKEND=jax or KERAS_BACKEND=torch before importing keras"
    )

__all__ = ["KERAS_REDUCTIONS", "SUPPORTED_BACKENDS", "loss_class"]

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


def _array_mapping(arrays: tuple[str, ...]) -> str:
    """How ``y_true`` and ``y_pred`` map onto the function's arrays, for the docstring."""
    stacked = " | ".join((arrays[0], *arrays[2:]))
    y_pred = (
        f"``y_pred`` is ``{arrays[0]}``"
        if len(arrays) <= 2
        else f"``y_pred`` holds [{stacked}] concatenated on the last axis"
    )
    y_true = f"``y_true`` is ``{arrays[1]}``" if len(arrays) > 1 else "``y_true`` is not used"
    return f"{y_pred}, {y_true}"


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
        f"{KERAS_DOC.format(arrays=_array_mapping(info.arrays))}\n\n{info.fn.__doc__ or ''}"
    )


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
    takes_labels = takes_target and info.class_axis is not None
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
        values = {option: _plain(value, option in array_options) for option, value in given.items()}
        keras.losses.Loss.__init__(self, name=name, reduction=reduction, dtype=dtype)
        for option, value in values.items():
            setattr(self, option, value)

    def call(self: keras.losses.Loss, y_true: Array, y_pred: Array) -> Array:
        xp = array_api_compat.array_namespace(y_pred, y_true)
        pred, extras = _split_prediction(y_pred, arrays)
        target = y_true
        if takes_labels and y_true.ndim == pred.ndim - 1:
            target = _as_labels(y_true, xp)
        options = {option: getattr(self, option) for option in defaults}
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

    # the real signature, for help() and the docs: the function's options and defaults
    # (losskit.guide.examples.adapter_defaults), then Keras's own arguments
    keyword = inspect.Parameter.KEYWORD_ONLY
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *(inspect.Parameter(k, keyword, default=v) for k, v in defaults.items()),
            inspect.Parameter("reduction", keyword, default="sum_over_batch_size"),
            inspect.Parameter("name", keyword, default=None),
            inspect.Parameter("dtype", keyword, default=None),
        ]
    )
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

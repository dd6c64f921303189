"""From another library's loss to losskit's: one-line translations, checked by running both.

Each :class:`Translation` holds the peer's call and losskit's equivalent as code that
computes ``loss`` from the variables named in ``inputs``; the docs' migration page shows
them as they are, and ``tests/test_migration.py`` runs both on the same data and
compares the numbers (skipping a peer that is not installed).  Where the libraries'
conventions differ, the losskit side says so with its options.
"""

from __future__ import annotations

import dataclasses

__all__ = ["PEERS", "TRANSLATIONS", "Translation"]


@dataclasses.dataclass(frozen=True)
class Translation:
    """``theirs`` and ``ours`` compute the same ``loss`` from the same inputs."""

    #: the peer library, a key of :data:`PEERS`
    peer: str
    #: the peer's code: an expression, with its imports in ``PEERS``
    theirs: str
    #: losskit's code: an expression (``import losskit`` and its adapters are given)
    ours: str
    #: what the inputs are: a key of the test's input makers (``"binary logits"``...)
    inputs: str
    #: a note on a difference of conventions, shown in the table
    note: str = ""


#: Peer -> (the module to import it as, what the page calls it).
PEERS: dict[str, tuple[str, str]] = {
    "torch.nn": ("torch", "PyTorch (torch.nn)"),
    "torchvision": ("torchvision", "torchvision.ops"),
    "keras": ("keras", "Keras 3"),
    "optax": ("optax", "optax (JAX)"),
    "monai": ("monai", "MONAI"),
    "kornia": ("kornia", "kornia"),
    "smp": ("segmentation_models_pytorch", "segmentation_models_pytorch (smp)"),
}

TRANSLATIONS: tuple[Translation, ...] = (
    # ------------------------------------------------------------------ torch.nn
    Translation(
        "torch.nn", "torch.nn.MSELoss()(pred, target)", "losskit.torch.MSE()(pred, target)", "real"
    ),
    Translation(
        "torch.nn", "torch.nn.L1Loss()(pred, target)", "losskit.torch.MAE()(pred, target)", "real"
    ),
    Translation(
        "torch.nn",
        "torch.nn.HuberLoss(delta=2.0)(pred, target)",
        "losskit.torch.Huber(delta=2.0)(pred, target)",
        "real",
    ),
    Translation(
        "torch.nn",
        "torch.nn.SmoothL1Loss(beta=0.5)(pred, target)",
        "losskit.torch.SmoothL1(beta=0.5)(pred, target)",
        "real",
    ),
    Translation(
        "torch.nn",
        "torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(3.0))(logits, labels)",
        "losskit.torch.BinaryCrossEntropy(pos_weight=3.0)(logits, labels)",
        "binary logits",
    ),
    Translation(
        "torch.nn",
        "torch.nn.BCELoss()(probs, labels)",
        "losskit.torch.BinaryCrossEntropy(from_logits=False)(probs, labels)",
        "binary probabilities",
        "the modules take logits by default",
    ),
    Translation(
        "torch.nn",
        "torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, classes)",
        "losskit.torch.SparseCategoricalCrossEntropy(label_smoothing=0.1)(logits, classes)",
        "class logits",
    ),
    Translation(
        "torch.nn",
        "torch.nn.CrossEntropyLoss(ignore_index=-100)(logits, masked)",
        "losskit.torch.SparseCategoricalCrossEntropy(ignore_index=-100)(logits, masked)",
        "class logits",
        "PyTorch's default ignore_index=-100 is opt-in",
    ),
    Translation(
        "torch.nn",
        "torch.nn.CrossEntropyLoss()(logits, soft)",
        "losskit.torch.CategoricalCrossEntropy()(logits, soft)",
        "class logits",
        "targets of pred's shape: the categorical loss",
    ),
    Translation(
        "torch.nn",
        'torch.nn.KLDivLoss(reduction="batchmean")(logits.log_softmax(1), soft)',
        "losskit.torch.KLDivergence()(logits, soft)",
        "class logits",
        "takes logits (or probabilities), not log-probabilities",
    ),
    Translation(
        "torch.nn",
        "torch.nn.GaussianNLLLoss()(pred, target, var)",
        "losskit.torch.GaussianNLL()(pred, target, var)",
        "real",
    ),
    Translation(
        "torch.nn",
        "torch.nn.PoissonNLLLoss()(pred, counts)",
        "losskit.torch.PoissonNLL()(pred, counts)",
        "real",
    ),
    # --------------------------------------------------------------- torchvision
    Translation(
        "torchvision",
        'torchvision.ops.sigmoid_focal_loss(logits, labels, reduction="mean")',
        "losskit.torch.BinaryFocal(alpha=0.25, gamma=2.0)(logits, labels)",
        "binary logits",
        "alpha is None (no weighting) by default in losskit",
    ),
    Translation(
        "torchvision",
        'torchvision.ops.generalized_box_iou_loss(boxes, true_boxes, reduction="mean")',
        'losskit.torch.BoxIoU(variant="giou")(boxes, true_boxes)',
        "boxes",
    ),
    Translation(
        "torchvision",
        'torchvision.ops.complete_box_iou_loss(boxes, true_boxes, reduction="mean")',
        'losskit.torch.BoxIoU(variant="ciou")(boxes, true_boxes)',
        "boxes",
    ),
    # --------------------------------------------------------------------- Keras
    Translation(
        "keras",
        "keras.losses.MeanSquaredError()(y_true, y_pred)",
        "losskit.keras.MSE()(y_true, y_pred)",
        "keras real",
    ),
    Translation(
        "keras",
        "keras.losses.Huber(delta=1.0)(y_true, y_pred)",
        "losskit.keras.Huber(delta=1.0)(y_true, y_pred)",
        "keras real",
    ),
    Translation(
        "keras",
        "keras.losses.LogCosh()(y_true, y_pred)",
        "losskit.keras.LogCosh()(y_true, y_pred)",
        "keras real",
    ),
    Translation(
        "keras",
        "keras.losses.BinaryCrossentropy(from_logits=True)(y_true, y_pred)",
        "losskit.keras.BinaryCrossEntropy(from_logits=True)(y_true, y_pred)",
        "keras binary logits",
    ),
    Translation(
        "keras",
        "keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y_true, y_pred)",
        "losskit.keras.SparseCategoricalCrossEntropy(from_logits=True)(y_true, y_pred)",
        "keras class logits",
    ),
    Translation(
        "keras",
        "keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(y_true, y_pred)",
        "losskit.keras.CategoricalCrossEntropy(label_smoothing=0.1)(y_true, y_pred)",
        "keras class probabilities",
    ),
    # --------------------------------------------------------------------- optax
    Translation(
        "optax",
        "optax.losses.squared_error(pred, target).mean()",
        "losskit.mse(pred, target)",
        "jax real",
    ),
    Translation(
        "optax",
        "optax.losses.huber_loss(pred, target, delta=1.0).mean()",
        "losskit.huber(pred, target, delta=1.0)",
        "jax real",
    ),
    Translation(
        "optax",
        "optax.losses.sigmoid_binary_cross_entropy(logits, labels).mean()",
        "losskit.binary_cross_entropy(logits, labels, from_logits=True)",
        "jax binary logits",
    ),
    Translation(
        "optax",
        "optax.losses.softmax_cross_entropy_with_integer_labels(logits, classes).mean()",
        "losskit.sparse_categorical_cross_entropy(logits, classes, from_logits=True)",
        "jax class logits",
    ),
    Translation(
        "optax",
        "optax.losses.sigmoid_focal_loss(logits, labels, alpha=0.25, gamma=2.0).mean()",
        "losskit.binary_focal(logits, labels, from_logits=True, alpha=0.25, gamma=2.0)",
        "jax binary logits",
    ),
    # --------------------------------------------------------------------- MONAI
    Translation(
        "monai",
        "monai.losses.DiceLoss(sigmoid=True, smooth_nr=1e-5, smooth_dr=1e-5)(logits, masks)",
        "losskit.torch.Dice(smooth=1e-5)(logits, masks)",
        "binary masks",
        "MONAI's smooth_nr and smooth_dr are one smooth",
    ),
    Translation(
        "monai",
        "monai.losses.DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0)"
        "(logits, classes[:, None])",
        "losskit.torch.Dice(axis=1)(logits, classes)",
        "class masks",
        "integer labels are read directly: no one-hot",
    ),
    Translation(
        "monai",
        "monai.losses.TverskyLoss(sigmoid=True, alpha=0.3, beta=0.7, smooth_nr=1.0, "
        "smooth_dr=1.0)(logits, masks)",
        "losskit.torch.Tversky(alpha=0.3, beta=0.7)(logits, masks)",
        "binary masks",
    ),
    # -------------------------------------------------------------------- kornia
    Translation(
        "kornia",
        "kornia.losses.lovasz_softmax_loss(logits, classes)",
        "losskit.torch.LovaszSoftmax()(logits, classes)",
        "class masks",
    ),
    Translation(
        "kornia",
        'kornia.losses.focal_loss(logits, classes, alpha=None, gamma=2.0, reduction="sum")',
        'losskit.torch.SparseCategoricalFocal(gamma=2.0, reduction="sum")(logits, classes)',
        "class logits",
        'kornia\'s "mean" also divides by the number of classes',
    ),
    # ------------------------------------------------------------------------ smp
    Translation(
        "smp",
        'segmentation_models_pytorch.losses.DiceLoss("binary", smooth=1.0)(logits, masks)',
        "losskit.torch.Dice(batch=True, smooth=1.0)(logits, masks)",
        "binary masks",
        "smp pools the statistics of the whole batch",
    ),
)

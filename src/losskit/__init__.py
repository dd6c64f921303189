"""losskit: deep-learning loss functions written once on the Python array API.

Every loss takes predictions first, then targets, and keyword-only options; it runs
on NumPy, PyTorch, JAX, CuPy and any array-API library, and PyTorch and JAX users
get gradients from their own autodiff.
"""

from losskit.core.registry import LossInfo, available, get_loss, register_loss
from losskit.core.validation import set_value_checks, value_checks
from losskit.custom import Composite, combine, custom_loss
from losskit.errors import LossInputError
from losskit.guide.advisor import recommend
from losskit.losses.classification import (
    binary_cross_entropy,
    binary_focal,
    categorical_cross_entropy,
    categorical_focal,
    hinge,
    kl_divergence,
    sparse_categorical_cross_entropy,
    sparse_categorical_focal,
    squared_hinge,
)
from losskit.losses.detection import box_iou
from losskit.losses.generative import gan_discriminator, gan_generator
from losskit.losses.regression import (
    gaussian_nll,
    huber,
    log_cosh,
    mae,
    mse,
    poisson_nll,
    pseudo_huber,
    quantile,
    smooth_l1,
)
from losskit.losses.segmentation import (
    dice,
    focal_tversky,
    jaccard,
    lovasz_hinge,
    lovasz_softmax,
    tversky,
)
from losskit.losses.sequence import ctc

__version__ = "0.1.0"

__all__ = [
    "Composite",
    "LossInfo",
    "LossInputError",
    "available",
    "binary_cross_entropy",
    "binary_focal",
    "box_iou",
    "categorical_cross_entropy",
    "categorical_focal",
    "combine",
    "ctc",
    "custom_loss",
    "dice",
    "focal_tversky",
    "gan_discriminator",
    "gan_generator",
    "gaussian_nll",
    "get_loss",
    "hinge",
    "huber",
    "jaccard",
    "kl_divergence",
    "log_cosh",
    "lovasz_hinge",
    "lovasz_softmax",
    "mae",
    "mse",
    "poisson_nll",
    "pseudo_huber",
    "quantile",
    "recommend",
    "register_loss",
    "set_value_checks",
    "smooth_l1",
    "sparse_categorical_cross_entropy",
    "sparse_categorical_focal",
    "squared_hinge",
    "tversky",
    "value_checks",
]

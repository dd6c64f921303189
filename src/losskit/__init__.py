"""losskit: deep-learning loss functions written once on the Python array API.

Every loss takes predictions first, then targets, and keyword-only options; it runs
on NumPy, PyTorch, JAX, TensorFlow, CuPy and any array-API library, and PyTorch, JAX
and TensorFlow users get gradients from their own autodiff.
"""

from losskit.core.reduction import sequence_mean
from losskit.core.registry import LossInfo, available, get_loss, register_loss
from losskit.core.validation import set_value_checks, value_checks
from losskit.custom import Composite, combine, custom_loss
from losskit.errors import LossInputError
from losskit.guide.advisor import recommend
from losskit.losses.classification import (
    asymmetric_focal,
    binary_cross_entropy,
    binary_focal,
    categorical_cross_entropy,
    categorical_focal,
    generalized_cross_entropy,
    hinge,
    multiclass_hinge,
    nll,
    sparse_categorical_cross_entropy,
    sparse_categorical_focal,
    squared_hinge,
)
from losskit.losses.detection import box_iou, distribution_focal, quality_focal, varifocal
from losskit.losses.distance_maps import distance_maps
from losskit.losses.divergence import (
    distillation,
    jensen_shannon,
    kl_divergence,
    total_variation,
)
from losskit.losses.embedding import (
    arcface,
    cosface,
    cosine_embedding,
    cosine_similarity,
    info_nce,
    margin_ranking,
    nt_xent,
    pair_contrastive,
    supervised_contrastive,
    triplet_margin,
)
from losskit.losses.generative import gan_discriminator, gan_generator
from losskit.losses.image import ms_ssim, ssim
from losskit.losses.preference import dpo, kto, orpo, sequence_log_probs, simpo
from losskit.losses.regression import (
    gaussian_nll,
    huber,
    log_cosh,
    mae,
    mape,
    mse,
    msle,
    poisson_nll,
    pseudo_huber,
    quantile,
    smooth_l1,
)
from losskit.losses.segmentation import (
    boundary_loss,
    dice,
    focal_tversky,
    generalized_dice,
    hausdorff_dt,
    jaccard,
    lovasz_hinge,
    lovasz_softmax,
    matthews_correlation,
    tversky,
)
from losskit.losses.sequence import ctc
from losskit.presets import dice_ce, dice_focal

__version__ = "0.1.0"

__all__ = [
    "Composite",
    "LossInfo",
    "LossInputError",
    "arcface",
    "asymmetric_focal",
    "available",
    "binary_cross_entropy",
    "binary_focal",
    "boundary_loss",
    "box_iou",
    "categorical_cross_entropy",
    "categorical_focal",
    "combine",
    "cosface",
    "cosine_embedding",
    "cosine_similarity",
    "ctc",
    "custom_loss",
    "dice",
    "dice_ce",
    "dice_focal",
    "distance_maps",
    "distillation",
    "distribution_focal",
    "dpo",
    "focal_tversky",
    "gan_discriminator",
    "gan_generator",
    "gaussian_nll",
    "generalized_cross_entropy",
    "generalized_dice",
    "get_loss",
    "hausdorff_dt",
    "hinge",
    "huber",
    "info_nce",
    "jaccard",
    "jensen_shannon",
    "kl_divergence",
    "kto",
    "log_cosh",
    "lovasz_hinge",
    "lovasz_softmax",
    "mae",
    "mape",
    "margin_ranking",
    "matthews_correlation",
    "ms_ssim",
    "mse",
    "msle",
    "multiclass_hinge",
    "nll",
    "nt_xent",
    "orpo",
    "pair_contrastive",
    "poisson_nll",
    "pseudo_huber",
    "quality_focal",
    "quantile",
    "recommend",
    "register_loss",
    "sequence_log_probs",
    "sequence_mean",
    "set_value_checks",
    "simpo",
    "smooth_l1",
    "sparse_categorical_cross_entropy",
    "sparse_categorical_focal",
    "squared_hinge",
    "ssim",
    "supervised_contrastive",
    "total_variation",
    "triplet_margin",
    "tversky",
    "value_checks",
    "varifocal",
]

"""Declarations of the options several losses share, written once.

A loss whose option means something else (binary_focal's scalar ``alpha``) declares
its own beside the function.
"""

from losskit.core.options import array_option, flag, integer, real

FROM_LOGITS = flag(
    "from_logits",
    (
        "True when pred holds raw scores (logits), which is more stable and the usual choice "
        "for a network's last layer; False (default) for probabilities."
    ),
)

LABEL_SMOOTHING = real(
    "label_smoothing",
    (
        "s in [0, 1): moves the targets towards the uniform distribution to discourage "
        "over-confident predictions. Usual: 0 (default) or 0.1."
    ),
    0.0,
    1.0,
    closed="left",
)

POLY_EPSILON = real(
    "poly_epsilon",
    (
        "weight of the Poly-1 term epsilon (1 - p_t) added to the loss (Leng et al., 2022), "
        ">= -1. Default 0 (plain loss); the paper used 1 to 2 for classification, -1 for "
        "detection."
    ),
    -1.0,
)

CLASS_AXIS = integer(
    "axis",
    (
        "the class axis of pred: -1 (default, channels last); the PyTorch modules use 1, "
        "PyTorch's [N, C, ...] layout."
    ),
)

CLASS_WEIGHTS = array_option(
    "class_weights",
    (
        "one non-negative weight per class (length C) or None; inverse class frequency, n / "
        "(C n_c), is the usual starting point for imbalanced classes."
    ),
    per_class=True,
)

IGNORE_INDEX = integer(
    "ignore_index",
    (
        "a label value whose positions are left out of the loss and of the mean (padding "
        "tokens, unlabelled pixels), such as -100 or 255; None (default) keeps all."
    ),
    optional=True,
)

FOCAL_GAMMA = real(
    "gamma",
    (
        "focusing parameter >= 0: 0 is cross-entropy, larger values ignore easy examples "
        "more. Usual: 2.0 (default); 0.5 to 5 in practice."
    ),
    0.0,
)

FOCAL_CLASS_ALPHA = array_option(
    "alpha",
    (
        "one non-negative weight per class (length C), or None (default) for equal weights; "
        "inverse class frequency is a common start."
    ),
    per_class=True,
)

OVERLAP_FROM_LOGITS = flag(
    "from_logits",
    (
        "True when pred holds raw scores: a sigmoid (axis=None) or a softmax over axis is "
        "applied first; False (default) for probabilities."
    ),
)

OVERLAP_AXIS = integer(
    "axis",
    (
        "None (default) for binary or multi-label masks compared element by element; the "
        "class axis (1 for [B, C, H, W], -1 for channels last) for multi-class predictions."
    ),
    optional=True,
)

OVERLAP_BATCH = flag(
    "batch",
    (
        "False (default): one score per sample, so small objects count as much as large ones; "
        "True: statistics pooled over the whole batch, steadier when many samples are empty."
    ),
)

SMOOTH = real(
    "smooth",
    (
        "added to numerator and denominator, >= 0. Default 1.0, negligible for masks of "
        "hundreds of pixels; it makes an empty prediction on an empty target score 0 and "
        "keeps a gradient there. Use 0 for the exact ratio."
    ),
    0.0,
)

SEGMENTATION_CLASS_WEIGHTS = array_option(
    "class_weights",
    (
        "one non-negative weight per class, or None (default); the mean divides by the summed "
        "weights. Raise the weight of rare or important classes."
    ),
    per_class=True,
)

EXCLUDE_CLASS = integer(
    "exclude_class",
    (
        "index of a class left out of the loss, typically 0 for a background class that would "
        "dominate; None (default) keeps every class."
    ),
    optional=True,
)

SEGMENTATION_IGNORE_INDEX = integer(
    "ignore_index",
    (
        "label value whose pixels are removed from all statistics (unlabelled or ambiguous "
        "regions, often 255 or -100); integer labels only."
    ),
    optional=True,
)

TVERSKY_ALPHA = real(
    "alpha",
    (
        "weight of the false positives, >= 0. With beta: 0.5 and 0.5 (default) is Dice, 1 and "
        "1 is Jaccard; alpha = 0.3, beta = 0.7 favours recall (Salehi et al.)."
    ),
    0.0,
)

TVERSKY_BETA = real(
    "beta",
    (
        "weight of the false negatives, >= 0. Raise it above alpha when missing foreground is "
        "worse than over-segmenting (small lesions)."
    ),
    0.0,
)

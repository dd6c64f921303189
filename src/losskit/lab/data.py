"""Data of the built-in scenarios, all available offline and deterministic for a seed.

The real data sets are the ones scikit-learn ships inside its package (no download):
diabetes (regression), breast cancer (binary) and digits (multi-class), and the sample
photographs scikit-image ships (denoising).  The images, boxes and the Gaussian mixture
are generated from the seed with NumPy.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = [
    "BinaryData",
    "BoxData",
    "ClassData",
    "DenoisingData",
    "RegressionData",
    "SegmentationData",
    "Splits",
    "denoising_patches",
    "imbalanced_binary",
    "multiclass_digits",
    "regression_with_outliers",
    "ring_modes",
    "sample_ring",
    "segmentation_shapes",
    "standardize",
    "synthetic_boxes",
]


def standardize(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scale columns to zero mean and unit variance with the training rows' statistics.

    Constant columns are only centred (their scale is taken as 1).
    """
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return tuple(((a - mean) / std).astype(np.float32) for a in (train, *others))


def carve_validation(
    rows: int, share: float, seed: int, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(fit indices, validation indices) of ``rows`` training rows: a share ``share``
    set aside to choose the epoch, stratified by ``labels`` when given (scikit-learn's
    ``train_test_split``)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(
        np.arange(rows), test_size=share, random_state=seed, shuffle=True, stratify=labels
    )


def _stratified_split(
    labels: np.ndarray, test_share: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices) with each class split in the same proportion."""
    train, test = [], []
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        n_test = max(1, round(test_share * len(members)))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


@dataclasses.dataclass(frozen=True)
class Splits:
    """A data set in three parts: training, the validation part carved out of it (which
    chooses the epoch kept), and held out (which the report measures)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


# -------------------------------------------------------------------- regression


@dataclasses.dataclass(frozen=True)
class RegressionData:
    """Standardised features; targets in model units, ``(y - center) / scale``.

    ``y_train`` holds the corrupted training targets, ``y_train_clean`` the originals;
    the validation part (``x_val``, ``y_val``) is carved out of the training part and
    corrupted alike; ``y_test`` is clean.  Metrics are reported in the data set's units.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    y_train_clean: np.ndarray
    is_outlier: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    center: float
    scale: float
    units: str


def regression_with_outliers(
    seed: int,
    *,
    outlier_share: float = 0.2,
    shift: tuple[float, float] = (3.0, 6.0),
    val_share: float = 0.2,
) -> RegressionData:
    """scikit-learn's diabetes data (442 patients, 10 features, disease progression).

    A random 30 % is held out with clean targets.  In the training part a share
    ``outlier_share`` of the targets is shifted *up* by ``shift`` (a uniform range)
    times the standard deviation of the training targets, as a faulty sensor or a
    data-entry error would.  A share ``val_share`` of the training part, corrupted
    alike, is set aside for validation.  Targets are centred and scaled with the median
    and the interquartile range / 1.349 of the corrupted training targets, the
    statistics a practitioner could compute without knowing which targets are corrupt.
    """
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_test = round(0.3 * len(y))
    test, train = order[:n_test], order[n_test:]
    y_train_clean = y[train].astype(np.float64)
    is_outlier = np.zeros(len(train), dtype=bool)
    is_outlier[rng.choice(len(train), size=round(outlier_share * len(train)), replace=False)] = True
    y_train = (
        y_train_clean + is_outlier * rng.uniform(*shift, size=len(train)) * y_train_clean.std()
    )
    fit, val = carve_validation(len(train), val_share, seed)
    q25, q50, q75 = np.percentile(y_train[fit], [25, 50, 75])
    scale = float((q75 - q25) / 1.349)  # the IQR of a normal distribution is 1.349 sigma
    x_fit, x_val, x_test = standardize(x[train][fit], x[train][val], x[test])
    return RegressionData(
        x_train=x_fit,
        y_train=((y_train[fit] - q50) / scale).astype(np.float32),
        y_train_clean=((y_train_clean[fit] - q50) / scale).astype(np.float32),
        is_outlier=is_outlier[fit],
        x_val=x_val,
        y_val=((y_train[val] - q50) / scale).astype(np.float32),
        x_test=x_test,
        y_test=((y[test] - q50) / scale).astype(np.float32),
        center=float(q50),
        scale=scale,
        units="disease progression",
    )


# ---------------------------------------------------------------- classification


@dataclasses.dataclass(frozen=True)
class BinaryData(Splits):
    """Features and 0/1 labels."""

    @property
    def negatives_per_positive(self) -> float:
        return float((self.y_train == 0).sum() / max((self.y_train == 1).sum(), 1))


def imbalanced_binary(
    seed: int, *, ratio: int = 20, test_share: float = 0.5, val_share: float = 0.25
) -> BinaryData:
    """scikit-learn's breast-cancer data, malignant as the positive class, subsampled
    to about ``ratio`` benign tumours per malignant one.

    All 357 benign cases are kept and ``357 / ratio`` malignant ones drawn at random;
    each class is split in half between training and test, and ``val_share`` of the
    training part (stratified) is set aside for validation.
    """
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    positive = (y == 0).astype(np.int64)  # scikit-learn codes malignant as 0
    rng = np.random.default_rng(seed)
    negatives = np.flatnonzero(positive == 0)
    positives = rng.choice(
        np.flatnonzero(positive == 1), round(len(negatives) / ratio), replace=False
    )
    keep = np.concatenate([negatives, positives])
    x, positive = x[keep], positive[keep]
    train, test = _stratified_split(positive, test_share, rng)
    fit, val = carve_validation(len(train), val_share, seed, positive[train])
    fit, val = train[fit], train[val]
    x_fit, x_val, x_test = standardize(x[fit], x[val], x[test])
    return BinaryData(x_fit, positive[fit], x_val, positive[val], x_test, positive[test])


@dataclasses.dataclass(frozen=True)
class ClassData(Splits):
    classes: int


def multiclass_digits(
    seed: int, *, size: int | None = None, test_share: float = 0.4, val_share: float = 0.2
) -> ClassData:
    """scikit-learn's digits (1797 images of 8x8 pixels, 10 classes), flattened to 64
    features, stratified split; ``size`` draws a stratified subsample first, and
    ``val_share`` of the training part (stratified) is set aside for validation."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    if size is not None and size < len(y):
        _, keep = _stratified_split(y, size / len(y), rng)
        x, y = x[keep], y[keep]
    train, test = _stratified_split(y, test_share, rng)
    fit, val = carve_validation(len(train), val_share, seed, y[train])
    fit, val = train[fit], train[val]
    x_fit, x_val, x_test = standardize(x[fit], x[val], x[test])
    y = y.astype(np.int64)
    return ClassData(x_fit, y[fit], x_val, y[val], x_test, y[test], 10)


# ------------------------------------------------------------------ segmentation


@dataclasses.dataclass(frozen=True)
class SegmentationData(Splits):
    """Images ``[N, 1, S, S]`` (float32) and masks ``[N, 1, S, S]`` (float32, 0 or 1)."""


def _shape_images(
    count: int, size: int, rng: np.random.Generator, empty_share: float, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    images = np.empty((count, 1, size, size), dtype=np.float32)
    masks = np.zeros((count, 1, size, size), dtype=np.float32)
    for i in range(count):
        mask = np.zeros((size, size), dtype=bool)
        if rng.random() >= empty_share:
            for _ in range(rng.integers(1, 3)):
                r, c = rng.uniform(0.15 * size, 0.85 * size, size=2)
                if rng.random() < 0.5:  # a disc
                    radius = rng.uniform(0.08, 0.2) * size
                    mask |= (rows - r) ** 2 + (cols - c) ** 2 <= radius**2
                else:  # an axis-aligned rectangle
                    half_h, half_w = rng.uniform(0.07, 0.18, size=2) * size
                    mask |= (np.abs(rows - r) <= half_h) & (np.abs(cols - c) <= half_w)
        # a thin line as bright as the shapes but not part of the mask, in half the
        # images: the model must tell shapes from lines, not bright from dark
        distractor = np.zeros((size, size), dtype=bool)
        if rng.random() < 0.5:
            start = rng.integers(0, size // 2)
            index = rng.integers(0, size)
            if rng.random() < 0.5:
                distractor[index, start : start + size // 2] = True
            else:
                distractor[start : start + size // 2, index] = True
        # a smooth illumination gradient plus pixel noise
        slope_r, slope_c = rng.uniform(-0.5, 0.5, size=2)
        background = slope_r * (rows / size - 0.5) + slope_c * (cols / size - 0.5)
        images[i, 0] = background + (mask | distractor) + rng.normal(0.0, noise, (size, size))
        masks[i, 0] = mask
    return images, masks


def segmentation_shapes(
    seed: int,
    *,
    train: int,
    test: int,
    size: int,
    val: int = 0,
    empty_share: float = 0.25,
    noise: float = 0.5,
) -> SegmentationData:
    """Noisy grey images of discs and rectangles (the mask) and thin lines (not the mask).

    A share ``empty_share`` of the images holds no shape, so their mask is empty.
    ``train + val`` training images are drawn and ``val`` of them set aside for
    validation.
    """
    rng = np.random.default_rng(seed)
    x_train, y_train = _shape_images(train + val, size, rng, empty_share, noise)
    x_test, y_test = _shape_images(test, size, rng, empty_share, noise)
    return SegmentationData(
        x_train[:train], y_train[:train], x_train[train:], y_train[train:], x_test, y_test
    )


# -------------------------------------------------------------------- GAN data


def ring_modes(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """Centres ``[modes, 2]`` of a mixture of Gaussians placed evenly on a circle."""
    angle = 2.0 * np.pi * np.arange(modes) / modes
    return (radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)).astype(np.float32)


def sample_ring(
    count: int, rng: np.random.Generator, *, modes: int = 8, radius: float = 2.0, std: float = 0.05
) -> np.ndarray:
    """``count`` samples ``[count, 2]`` of the ring mixture, every mode equally likely."""
    centres = ring_modes(modes, radius)
    pick = rng.integers(0, modes, size=count)
    return (centres[pick] + rng.normal(0.0, std, size=(count, 2))).astype(np.float32)


# ------------------------------------------------------------------------- boxes


@dataclasses.dataclass(frozen=True)
class BoxData(Splits):
    """Images ``[N, S*S]`` (float32, flattened) and boxes ``[N, 4]`` as ``(x1, y1, x2, y2)``
    in units of the image side (0 to 1)."""

    size: int


def _box_images(
    count: int, size: int, rng: np.random.Generator, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    images = rng.normal(0.0, noise, size=(count, size, size)).astype(np.float32)
    boxes = np.empty((count, 4), dtype=np.float32)
    for i in range(count):
        height, width = rng.integers(size // 6, size // 2 + 1, size=2)
        top = rng.integers(0, size - height + 1)
        left = rng.integers(0, size - width + 1)
        images[i, top : top + height, left : left + width] += 1.0
        boxes[i] = (left, top, left + width, top + height)
    return images.reshape(count, size * size), boxes / size


def synthetic_boxes(
    seed: int, *, train: int, test: int, size: int, val: int = 0, noise: float = 0.5
) -> BoxData:
    """Noisy images each holding one bright rectangle; the target is its box.  ``train +
    val`` training images are drawn and ``val`` of them set aside for validation."""
    rng = np.random.default_rng(seed)
    x_train, y_train = _box_images(train + val, size, rng, noise)
    x_test, y_test = _box_images(test, size, rng, noise)
    return BoxData(
        x_train[:train], y_train[:train], x_train[train:], y_train[train:], x_test, y_test, size
    )


# ------------------------------------------------------------------- sequences


@dataclasses.dataclass(frozen=True)
class SequenceData:
    """Rows of handwritten digits read left to right.

    ``x_*`` ``[N, 8, W]`` (float32): 8-pixel columns, the frames; ``labels_*`` ``[N, L]``
    the digits as classes 1 to 10 (0 is CTC's blank), padded with 0 past each row's
    length; ``frames_*`` ``[N, W]`` each column's class (its digit's, or 0 in a gap):
    the alignment, which only the frame-wise baseline is given.
    """

    x_train: np.ndarray
    labels_train: np.ndarray
    frames_train: np.ndarray
    x_val: np.ndarray
    labels_val: np.ndarray
    frames_val: np.ndarray
    x_test: np.ndarray
    labels_test: np.ndarray
    frames_test: np.ndarray

    #: digits per row at most, and the width of a row in columns
    max_digits: int = 4
    width: int = 48


def _digit_rows(
    images: np.ndarray, digits: np.ndarray, count: int, rng: np.random.Generator, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` rows of 1 to 4 digits drawn from ``images`` (``[n, 8, 8]``), with gaps
    of 1 to 3 blank columns before each digit (so two equal digits never touch)."""
    x = np.zeros((count, 8, width), dtype=np.float32)
    labels = np.zeros((count, 4), dtype=np.int64)
    frames = np.zeros((count, width), dtype=np.int64)
    for row in range(count):
        column = 0
        for position in range(int(rng.integers(1, 5))):
            column += int(rng.integers(1, 4))
            pick = int(rng.integers(len(images)))
            x[row, :, column : column + 8] = images[pick]
            labels[row, position] = digits[pick] + 1
            frames[row, column : column + 8] = digits[pick] + 1
            column += 8
    return x, labels, frames


def digit_sequences(seed: int, *, rows: tuple[int, int, int] = (1200, 300, 600)) -> SequenceData:
    """Rows of 1 to 4 of scikit-learn's digits, each digit image used in one part only:
    the 1797 images split 60/40 (stratified) into training and held-out images, 20% of
    the training images set aside for the validation rows; ``rows`` is the number of
    (training, validation, test) rows.  Pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    images, digits = load_digits(return_X_y=True)
    images = (images / 16.0).reshape(-1, 8, 8).astype(np.float32)
    rng = np.random.default_rng(seed)
    train, test = _stratified_split(digits, 0.4, rng)
    fit, val = carve_validation(len(train), 0.2, seed, digits[train])
    fit, val = train[fit], train[val]
    parts = [
        _digit_rows(images[pool], digits[pool], count, rng, SequenceData.width)
        for pool, count in zip((fit, val, test), rows, strict=True)
    ]
    return SequenceData(*(array for part in parts for array in part))


# ------------------------------------------------------------------- denoising

#: scikit-image's sample photographs used for denoising (all ship inside its package)
DENOISING_IMAGES = ("camera", "coins", "moon", "astronaut", "chelsea", "coffee", "brick", "gravel")
#: the horizontal bands of every image that each part's patches come from, as shares of
#: its height: the parts share no pixel
DENOISING_BANDS = {"train": (0.0, 0.6), "val": (0.6, 0.75), "test": (0.75, 1.0)}


@dataclasses.dataclass(frozen=True)
class DenoisingData(Splits):
    """Noisy patches ``[N, 1, S, S]`` and their clean versions (float32, clean in [0, 1]);
    ``origin`` ``[N, 3]`` holds each patch's image index and top-left corner (row, column)."""

    origin_train: np.ndarray
    origin_val: np.ndarray
    origin_test: np.ndarray


def grey_sample_images() -> list[np.ndarray]:
    """scikit-image's sample photographs of :data:`DENOISING_IMAGES` in grey, float in [0, 1]."""
    try:
        from skimage import color
        from skimage import data as samples
    except ModuleNotFoundError as err:
        raise ImportError(
            "the denoising scenario cuts its patches from scikit-image's sample images: "
            "pip install scikit-image (or pip install 'losskit[lab]')"
        ) from err
    images = []
    for name in DENOISING_IMAGES:
        image = getattr(samples, name)()
        image = color.rgb2gray(image) if image.ndim == 3 else image / 255.0
        images.append(image.astype(np.float32))
    return images


def _patches_in_band(
    images: list[np.ndarray],
    band: tuple[float, float],
    count: int,
    patch: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` patches lying wholly inside rows ``band`` (shares of the height) of images
    drawn in turn, at random positions; (patches ``[count, 1, patch, patch]``, origins)."""
    patches = np.empty((count, 1, patch, patch), dtype=np.float32)
    origins = np.empty((count, 3), dtype=np.int64)
    for i in range(count):
        index = i % len(images)
        image = images[index]
        first, stop = (round(share * image.shape[0]) for share in band)
        top = int(rng.integers(first, stop - patch + 1))
        left = int(rng.integers(0, image.shape[1] - patch + 1))
        patches[i, 0] = image[top : top + patch, left : left + patch]
        origins[i] = (index, top, left)
    return patches, origins


def denoising_patches(
    seed: int, *, train: int, val: int, test: int, patch: int = 32, noise: float = 0.1
) -> DenoisingData:
    """Grey patches of scikit-image's sample photographs with added Gaussian noise of
    standard deviation ``noise`` (not clipped).  Each part's patches come from its own
    band of rows of every image (:data:`DENOISING_BANDS`), so no held-out pixel is seen
    in training; positions and noise are drawn from the seed."""
    rng = np.random.default_rng(seed)
    images = grey_sample_images()
    arrays = []
    for part, count in (("train", train), ("val", val), ("test", test)):
        clean, origin = _patches_in_band(images, DENOISING_BANDS[part], count, patch, rng)
        noisy = (clean + rng.normal(0.0, noise, clean.shape)).astype(np.float32)
        arrays.append((noisy, clean, origin))
    (xt, yt, ot), (xv, yv, ov), (xs, ys, os_) = arrays
    return DenoisingData(xt, yt, xv, yv, xs, ys, ot, ov, os_)

"""The benchmark cases: each builds its inputs and one forward + backward step per library.

A case runs inside a worker process (see :mod:`benchmarks.__main__`); nothing here is
imported by the parent, so each worker imports only the libraries its case needs.
Every step computes a scalar loss and its gradient with respect to the predictions;
the inputs are built once, in float32, and shared by every implementation of the case.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

#: implementation label -> (one forward + backward step, the reset before a step)
Steps = dict[str, tuple[Callable[[], Any], Callable[[], None]]]

LOSSKIT = "losskit"
TORCH = "torch.nn.functional"
NAIVE_LOG_COSH = "torch.log(torch.cosh(d)).mean()"
KERAS = "keras.losses.log_cosh (torch backend)"
MONAI = "monai.losses"
KORNIA = "kornia.losses"
OPTAX = "optax"
KERAS_TF = "keras.losses (tensorflow backend)"
CLIP_FORMULA = "torch, CLIP's formula (F.normalize, matmul, F.cross_entropy)"
HINTON_FORMULA = "torch, Hinton's formula (F.kl_div of the log_softmaxes, batchmean, times T^2)"

REGRESSION_SIZE = 8_000_000
CE_SHAPE = (65_536, 1_000)
SEG_SHAPE = (2, 4, 96, 96, 96)  # [B, C, D, H, W] logits, integer labels [B, D, H, W]
KORNIA_SHAPE = (2, 4, 9216, 96)  # kornia takes 2-D images: the same volume, reshaped
CONTRASTIVE_SHAPE = (4096, 256)  # [N, D] queries and keys
TRIPLET_SHAPE = (65_536, 256)  # [N, D] anchors, positives and negatives
TEMPERATURE = 0.07
DISTILLATION_SHAPE = (8192, 1000)  # [N, C] student and teacher logits
DISTILLATION_TEMPERATURE = 4.0
SSIM_SHAPE = (16, 3, 256, 256)  # [N, C, H, W] images in [0, 1]


@dataclasses.dataclass(frozen=True)
class Target:
    """losskit / peer <= ratio, for ``metric`` ("time" or "memory").

    With several ``peers`` the ratio is taken against the best of them (the fastest for
    time, the leanest for memory)."""

    metric: str
    ratio: float
    peers: tuple[str, ...]

    def describe(self) -> str:
        against = self.peers[0] if len(self.peers) == 1 else "best of " + " / ".join(self.peers)
        return f"{self.metric} <= {self.ratio:g} vs {against}"


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    backend: str  # "torch", "jax" or "tensorflow": the library the worker runs
    shape: str
    build: Callable[[], Steps]
    peers: tuple[str, ...]
    targets: tuple[Target, ...]
    #: timed rounds (each round times every implementation once, in rotating order)
    rounds: int = 31
    #: steps per timed sample: several for fast steps, so that one scheduler hiccup of a
    #: few milliseconds weighs less (the table reports the time of one step)
    steps: int = 1
    #: worker processes the rounds are split between, their samples pooled: a JAX step's
    #: time depends on the process it runs in (at 8M elements, the same compiled step
    #: takes 17 ms for the life of one process and 29 ms in another), so one process is
    #: one draw of that
    workers: int = 1
    #: environment variables the worker needs (Keras's backend)
    env: dict[str, str] = dataclasses.field(default_factory=dict)


# ----------------------------------------------------------------------------- torch


def _torch_step(
    loss: Callable[[], Any], *leaves: Any
) -> tuple[Callable[[], Any], Callable[[], None]]:
    def step() -> None:
        loss().backward()

    def reset() -> None:
        for leaf in leaves:
            leaf.grad = None

    return step, reset


def _regression_inputs() -> tuple[Any, Any]:
    import torch

    gen = torch.Generator().manual_seed(0)
    pred = torch.empty(REGRESSION_SIZE).normal_(generator=gen).requires_grad_()
    target = torch.empty(REGRESSION_SIZE).normal_(generator=gen)
    return pred, target


def _torch_regression(name: str, peer: Callable[..., Any], **options: Any) -> Callable[[], Steps]:
    def build() -> Steps:
        import losskit

        pred, target = _regression_inputs()
        fn = getattr(losskit, name)
        return {
            LOSSKIT: _torch_step(lambda: fn(pred, target, **options), pred),
            TORCH: _torch_step(lambda: peer(pred, target, **options), pred),
        }

    return build


def _mse() -> Steps:
    import torch.nn.functional as F

    return _torch_regression("mse", F.mse_loss)()


def _mae() -> Steps:
    import torch.nn.functional as F

    return _torch_regression("mae", F.l1_loss)()


def _huber() -> Steps:
    import torch.nn.functional as F

    return _torch_regression("huber", F.huber_loss, delta=1.0)()


def _log_cosh() -> Steps:
    import keras
    import torch

    import losskit

    pred, target = _regression_inputs()
    return {
        LOSSKIT: _torch_step(lambda: losskit.log_cosh(pred, target), pred),
        NAIVE_LOG_COSH: _torch_step(lambda: torch.log(torch.cosh(pred - target)).mean(), pred),
        KERAS: _torch_step(lambda: keras.losses.log_cosh(target, pred).mean(), pred),
    }


def _cross_entropy() -> Steps:
    import torch
    import torch.nn.functional as F

    import losskit

    gen = torch.Generator().manual_seed(0)
    logits = torch.empty(CE_SHAPE).normal_(generator=gen).requires_grad_()
    labels = torch.empty(CE_SHAPE[0], dtype=torch.long).random_(CE_SHAPE[1], generator=gen)
    return {
        LOSSKIT: _torch_step(
            lambda: losskit.sparse_categorical_cross_entropy(logits, labels, from_logits=True),
            logits,
        ),
        TORCH: _torch_step(lambda: F.cross_entropy(logits, labels), logits),
    }


def _binary_cross_entropy(checks: bool) -> Callable[[], Steps]:
    """``checks=False`` runs losskit with its data checks off (``losskit.value_checks``):
    it shows what checking that the 8M targets lie in [0, 1] costs."""

    def build() -> Steps:
        import torch
        import torch.nn.functional as F

        import losskit

        gen = torch.Generator().manual_seed(0)
        logits = torch.empty(REGRESSION_SIZE).normal_(generator=gen).requires_grad_()
        target = torch.empty(REGRESSION_SIZE).bernoulli_(0.3, generator=gen)

        def ours() -> Any:
            with losskit.value_checks(checks):
                return losskit.binary_cross_entropy(logits, target, from_logits=True)

        return {
            LOSSKIT: _torch_step(ours, logits),
            TORCH: _torch_step(lambda: F.binary_cross_entropy_with_logits(logits, target), logits),
        }

    return build


def _segmentation_inputs() -> tuple[Any, Any]:
    import torch

    gen = torch.Generator().manual_seed(0)
    logits = torch.empty(SEG_SHAPE).normal_(generator=gen).requires_grad_()
    labels_shape = (SEG_SHAPE[0], *SEG_SHAPE[2:])
    labels = torch.empty(labels_shape, dtype=torch.long).random_(SEG_SHAPE[1], generator=gen)
    return logits, labels


def _segmentation(kind: str, kernels: bool = True) -> Callable[[], Steps]:
    """Multi-class overlap losses of softmax logits against integer labels.

    MONAI takes the labels as [B, 1, ...] and one-hot encodes them (``to_onehot_y``);
    kornia takes [B, C, H, W] logits and [B, H, W] labels.  Options as close to losskit's
    as each library allows: per-sample, per-class statistics, averaged; kornia's Dice with
    ``average="macro"`` (per class) and its Tversky loss with alpha = beta = 1 for IoU.

    ``kernels=False`` times losskit without its compiled overlap kernels (as without numba:
    composed PyTorch operations), against MONAI only."""

    def build() -> Steps:
        import kornia.losses
        import monai.losses

        import losskit

        logits, labels = _segmentation_inputs()
        monai_labels = labels.unsqueeze(1)
        k_logits, k_labels = (
            logits.view(KORNIA_SHAPE),
            labels.view(KORNIA_SHAPE[:1] + KORNIA_SHAPE[2:]),
        )
        common = {"softmax": True, "to_onehot_y": True}
        if kind == "dice":
            ours = lambda: losskit.dice(logits, labels, from_logits=True, axis=1)  # noqa: E731
            monai_loss = monai.losses.DiceLoss(**common)
            kornia_loss = lambda: kornia.losses.dice_loss(k_logits, k_labels, average="macro")  # noqa: E731
        elif kind == "jaccard":
            ours = lambda: losskit.jaccard(logits, labels, from_logits=True, axis=1)  # noqa: E731
            monai_loss = monai.losses.DiceLoss(jaccard=True, **common)
            kornia_loss = lambda: kornia.losses.tversky_loss(k_logits, k_labels, 1.0, 1.0)  # noqa: E731
        elif kind == "tversky":
            ours = lambda: losskit.tversky(  # noqa: E731
                logits, labels, alpha=0.3, beta=0.7, from_logits=True, axis=1
            )
            monai_loss = monai.losses.TverskyLoss(alpha=0.3, beta=0.7, **common)
            kornia_loss = lambda: kornia.losses.tversky_loss(k_logits, k_labels, 0.3, 0.7)  # noqa: E731
        else:
            ours = lambda: losskit.sparse_categorical_focal(  # noqa: E731
                logits, labels, gamma=2.0, from_logits=True, axis=1
            )
            monai_loss = monai.losses.FocalLoss(use_softmax=True, to_onehot_y=True, gamma=2.0)
            kornia_loss = lambda: kornia.losses.focal_loss(  # noqa: E731
                k_logits, k_labels, alpha=None, gamma=2.0, reduction="mean"
            )
        if not kernels:
            from losskit.torch.fast import _overlap_kernels

            with_kernels = ours

            def ours() -> Any:
                # forward decides which backward runs: switching the kernels off there is enough
                found, _overlap_kernels.NUMBA_FOUND = _overlap_kernels.NUMBA_FOUND, False
                try:
                    return with_kernels()
                finally:
                    _overlap_kernels.NUMBA_FOUND = found

            return {
                LOSSKIT: _torch_step(ours, logits),
                MONAI: _torch_step(lambda: monai_loss(logits, monai_labels), logits),
            }
        return {
            LOSSKIT: _torch_step(ours, logits),
            MONAI: _torch_step(lambda: monai_loss(logits, monai_labels), logits),
            KORNIA: _torch_step(kornia_loss, logits),
        }

    return build


def _generalized_dice() -> Steps:
    """Generalised Dice of softmax logits against integer labels, volume weights 1 / T^2,
    per sample; MONAI one-hot encodes the labels [B, 1, ...] (``to_onehot_y``).  Its
    smoothing 1e-5 and losskit's 0 are both negligible here (no class is absent)."""
    import monai.losses

    import losskit

    logits, labels = _segmentation_inputs()
    monai_labels = labels.unsqueeze(1)
    monai_loss = monai.losses.GeneralizedDiceLoss(softmax=True, to_onehot_y=True)
    return {
        LOSSKIT: _torch_step(
            lambda: losskit.generalized_dice(logits, labels, from_logits=True, axis=1), logits
        ),
        MONAI: _torch_step(lambda: monai_loss(logits, monai_labels), logits),
    }


def _info_nce(symmetric: bool) -> Callable[[], Steps]:
    """InfoNCE of 4096 query-key pairs of 256 values, the gradient with respect to both.

    The peer is the loss as CLIP trainers write it (open_clip's ``ClipLoss``):
    cross-entropy of the temperature-scaled cosine logits against the diagonal, in both
    directions for the symmetric form.  pytorch-metric-learning's ``NTXentLoss`` (the
    queries against the keys as reference embeddings) computes the same one-way loss
    but cannot run at this size: it builds a mask of every positive pair against every
    negative pair, N x N(N - 1) values (17.7 GB of peak memory already at N = 1024)."""

    def build() -> Steps:
        import torch
        import torch.nn.functional as F

        import losskit

        gen = torch.Generator().manual_seed(0)
        query = torch.empty(CONTRASTIVE_SHAPE).normal_(generator=gen).requires_grad_()
        key = torch.empty(CONTRASTIVE_SHAPE).normal_(generator=gen).requires_grad_()
        labels = torch.arange(CONTRASTIVE_SHAPE[0])

        def clip_formula() -> Any:
            logits = F.normalize(query, dim=1) @ F.normalize(key, dim=1).T / TEMPERATURE
            loss = F.cross_entropy(logits, labels)
            return (loss + F.cross_entropy(logits.T, labels)) / 2 if symmetric else loss

        return {
            LOSSKIT: _torch_step(
                lambda: losskit.info_nce(query, key, temperature=TEMPERATURE, symmetric=symmetric),
                query,
                key,
            ),
            CLIP_FORMULA: _torch_step(clip_formula, query, key),
        }

    return build


def _triplet() -> Steps:
    """Triplet margin loss (Euclidean distance, margin 1) of 65536 triplets of 256
    values, the gradient with respect to all three."""
    import torch
    import torch.nn.functional as F

    import losskit

    gen = torch.Generator().manual_seed(0)
    anchor, positive, negative = (
        torch.empty(TRIPLET_SHAPE).normal_(generator=gen).requires_grad_() for _ in range(3)
    )
    return {
        LOSSKIT: _torch_step(
            lambda: losskit.triplet_margin(anchor, positive, negative), anchor, positive, negative
        ),
        TORCH: _torch_step(
            lambda: F.triplet_margin_loss(anchor, positive, negative), anchor, positive, negative
        ),
    }


def _distillation() -> Steps:
    """Distillation at T=4 of 8192 rows of 1000 classes, the gradient with respect to the
    student's logits; the teacher's are a constant.  The peer is the loss as Hinton's
    recipe is usually written with PyTorch (it gives NaN where both networks give a
    class a logit of -inf, which losskit's kernel does not)."""
    import torch
    import torch.nn.functional as F

    import losskit

    gen = torch.Generator().manual_seed(0)
    student = torch.empty(DISTILLATION_SHAPE).normal_(generator=gen).requires_grad_()
    teacher = torch.empty(DISTILLATION_SHAPE).normal_(generator=gen)
    t = DISTILLATION_TEMPERATURE

    def hinton() -> Any:
        log_q, log_p = F.log_softmax(student / t, dim=1), F.log_softmax(teacher / t, dim=1)
        return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True) * t * t

    return {
        LOSSKIT: _torch_step(
            lambda: losskit.distillation(student, None, teacher, temperature=t), student
        ),
        HINTON_FORMULA: _torch_step(hinton, student),
    }


# ------------------------------------------------------------------------------- jax


def _ssim() -> Steps:
    """SSIM loss of images in [0, 1], 11-tap Gaussian window (sigma 1.5), no padding:
    MONAI's ``SSIMLoss`` and kornia's ``ssim_loss`` with ``padding="valid"`` (kornia's
    loss is half of losskit's, which changes nothing in the timing)."""
    import kornia.losses
    import monai.losses
    import torch

    import losskit

    gen = torch.Generator().manual_seed(0)
    pred = torch.rand(SSIM_SHAPE, generator=gen).requires_grad_()
    target = (pred.detach() + 0.1 * torch.randn(SSIM_SHAPE, generator=gen)).clamp(0, 1)
    monai_loss = monai.losses.SSIMLoss(spatial_dims=2, data_range=1.0)
    return {
        LOSSKIT: _torch_step(lambda: losskit.ssim(pred, target), pred),
        MONAI: _torch_step(lambda: monai_loss(pred, target), pred),
        KORNIA: _torch_step(
            lambda: kornia.losses.ssim_loss(pred, target, 11, padding="valid"), pred
        ),
    }


def _jax_step(
    loss: Callable[[Any], Any], pred: Any
) -> tuple[Callable[[], Any], Callable[[], None]]:
    import jax

    value_and_grad = jax.jit(jax.value_and_grad(loss))

    def step() -> None:
        jax.block_until_ready(value_and_grad(pred))

    return step, lambda: None


def _jax(kind: str) -> Callable[[], Steps]:
    """losskit (the generic array-API code, traced by JAX) and optax, both under jax.jit."""

    def build() -> Steps:
        import jax
        import jax.numpy as jnp
        import optax

        import losskit

        key_pred, key_target = jax.random.split(jax.random.PRNGKey(0))
        if kind in ("mse", "huber", "log_cosh", "bce"):
            pred = jax.random.normal(key_pred, (REGRESSION_SIZE,), jnp.float32)
            target = jax.random.normal(key_target, (REGRESSION_SIZE,), jnp.float32)
            if kind == "bce":
                target = (target > 0.5).astype(jnp.float32)
            ours, theirs = {
                "mse": (
                    lambda p: losskit.mse(p, target),
                    lambda p: optax.squared_error(p, target).mean(),
                ),
                "huber": (
                    lambda p: losskit.huber(p, target, delta=1.0),
                    lambda p: optax.huber_loss(p, target, delta=1.0).mean(),
                ),
                "log_cosh": (
                    lambda p: losskit.log_cosh(p, target),
                    lambda p: optax.log_cosh(p, target).mean(),
                ),
                "bce": (
                    lambda p: losskit.binary_cross_entropy(p, target, from_logits=True),
                    lambda p: optax.sigmoid_binary_cross_entropy(p, target).mean(),
                ),
            }[kind]
        elif kind == "triplet":
            pred = jax.random.normal(key_pred, TRIPLET_SHAPE, jnp.float32)
            key_positive, key_negative = jax.random.split(key_target)
            positive = jax.random.normal(key_positive, TRIPLET_SHAPE, jnp.float32)
            negative = jax.random.normal(key_negative, TRIPLET_SHAPE, jnp.float32)
            ours = lambda p: losskit.triplet_margin(p, positive, negative)  # noqa: E731
            theirs = lambda p: optax.losses.triplet_margin_loss(p, positive, negative).mean()  # noqa: E731
        elif kind == "ce":
            pred = jax.random.normal(key_pred, CE_SHAPE, jnp.float32)
            labels = jax.random.randint(key_target, CE_SHAPE[:1], 0, CE_SHAPE[1])
            ours = lambda p: losskit.sparse_categorical_cross_entropy(p, labels, from_logits=True)  # noqa: E731
            theirs = lambda p: optax.softmax_cross_entropy_with_integer_labels(p, labels).mean()  # noqa: E731
        else:
            # optax's dice_loss takes channels-last logits and one-hot targets: both get those.
            b, c, *spatial = SEG_SHAPE
            pred = jax.random.normal(key_pred, (b, *spatial, c), jnp.float32)
            labels = jax.random.randint(key_target, (b, *spatial), 0, c)
            one_hot = jax.nn.one_hot(labels, c, dtype=jnp.float32)
            alpha, beta = {"dice": (0.5, 0.5), "jaccard": (1.0, 1.0), "tversky": (0.3, 0.7)}[kind]
            # optax writes Dice as (I + s) / (I + (FP + FN) / 2 + s): losskit's smooth = 2 s.
            smooth = 0.5 if kind == "dice" else 1.0
            fn = {"dice": losskit.dice, "jaccard": losskit.jaccard}.get(kind)
            if fn is None:
                ours = lambda p: losskit.tversky(  # noqa: E731
                    p, one_hot, alpha=alpha, beta=beta, from_logits=True, axis=-1
                )
            else:
                ours = lambda p: fn(p, one_hot, from_logits=True, axis=-1)  # noqa: E731
            theirs = lambda p: optax.losses.dice_loss(  # noqa: E731
                p, one_hot, smooth=smooth, alpha=alpha, beta=beta
            ).mean()
        return {LOSSKIT: _jax_step(ours, pred), OPTAX: _jax_step(theirs, pred)}

    return build


# ------------------------------------------------------------------------ tensorflow


def _tensorflow_step(
    loss: Callable[[Any], Any], pred: Any
) -> tuple[Callable[[], Any], Callable[[], None]]:
    import tensorflow as tf

    @tf.function(jit_compile=True)
    def value_and_grad(p: Any) -> tuple[Any, Any]:
        with tf.GradientTape() as tape:
            tape.watch(p)
            value = loss(p)
        return value, tape.gradient(value, p)

    def step() -> None:
        value, _ = value_and_grad(pred)
        value.numpy()  # TensorFlow runs eagerly on the CPU: this only reads the scalar

    return step, lambda: None


def _tensorflow(kind: str) -> Callable[[], Steps]:
    """losskit (the generic code on losskit's TensorFlow namespace) and Keras's own losses
    on Keras's TensorFlow backend, both inside tf.function(jit_compile=True)."""

    def build() -> Steps:
        import tensorflow as tf

        # the worker's thread budget (OMP_NUM_THREADS), as torch.set_num_threads for torch
        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ["OMP_NUM_THREADS"]))
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import keras

        import losskit

        rng = tf.random.Generator.from_seed(0)
        if kind == "mse":
            pred = rng.normal((REGRESSION_SIZE,), dtype=tf.float32)
            target = rng.normal((REGRESSION_SIZE,), dtype=tf.float32)
            keras_mse = keras.losses.MeanSquaredError()
            ours = lambda p: losskit.mse(p, target)  # noqa: E731
            theirs = lambda p: keras_mse(target, p)  # noqa: E731
        elif kind == "ce":
            pred = rng.normal(CE_SHAPE, dtype=tf.float32)
            labels = rng.uniform(CE_SHAPE[:1], 0, CE_SHAPE[1], dtype=tf.int64)
            keras_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            ours = lambda p: losskit.sparse_categorical_cross_entropy(  # noqa: E731
                p, labels, from_logits=True
            )
            theirs = lambda p: keras_ce(labels, p)  # noqa: E731
        else:
            # Keras's Dice takes probabilities: both get channels-last logits, Keras's
            # through a softmax first; one score per sample and class, averaged.
            b, c, *spatial = SEG_SHAPE
            pred = rng.normal((b, *spatial, c), dtype=tf.float32)
            labels = rng.uniform((b, *spatial), 0, c, dtype=tf.int64)
            one_hot = tf.one_hot(labels, c, dtype=tf.float32)
            keras_dice = keras.losses.Dice(axis=(1, 2, 3))
            ours = lambda p: losskit.dice(p, one_hot, from_logits=True, axis=-1)  # noqa: E731
            theirs = lambda p: keras_dice(one_hot, keras.ops.softmax(p, axis=-1))  # noqa: E731
        return {LOSSKIT: _tensorflow_step(ours, pred), KERAS_TF: _tensorflow_step(theirs, pred)}

    return build


def _torch_target(ratio: float, *peers: str) -> tuple[Target, ...]:
    return (Target("time", ratio, peers),)


SEGMENTATION_TARGETS = (
    Target("time", 0.6, (MONAI, KORNIA)),
    Target("memory", 0.6, (MONAI, KORNIA)),
)

CASES: tuple[Case, ...] = (
    Case("MSE", "torch", "8M", _mse, (TORCH,), _torch_target(1.05, TORCH), steps=4),
    Case("MAE", "torch", "8M", _mae, (TORCH,), _torch_target(1.05, TORCH), steps=4),
    Case("Huber", "torch", "8M", _huber, (TORCH,), _torch_target(1.05, TORCH), steps=4),
    Case(
        "log-cosh",
        "torch",
        "8M",
        _log_cosh,
        (NAIVE_LOG_COSH, KERAS),
        _torch_target(0.5, NAIVE_LOG_COSH),
        steps=2,
        env={"KERAS_BACKEND": "torch"},
    ),
    Case(
        "cross-entropy",
        "torch",
        "65536x1000",
        _cross_entropy,
        (TORCH,),
        _torch_target(1.05, TORCH),
        rounds=15,
    ),
    Case(
        "BCE with logits",
        "torch",
        "8M",
        _binary_cross_entropy(checks=True),
        (TORCH,),
        _torch_target(1.05, TORCH),
        steps=2,
    ),
    Case(
        "BCE with logits, value checks off",
        "torch",
        "8M",
        _binary_cross_entropy(checks=False),
        (TORCH,),
        (),
        steps=2,
    ),
    Case(
        "Dice",
        "torch",
        "2x4x96^3",
        _segmentation("dice"),
        (MONAI, KORNIA),
        SEGMENTATION_TARGETS,
        rounds=11,
    ),
    Case(
        "Dice, without numba (composed PyTorch)",
        "torch",
        "2x4x96^3",
        _segmentation("dice", kernels=False),
        (MONAI,),
        (),
        rounds=11,
    ),
    Case(
        "generalised Dice",
        "torch",
        "2x4x96^3",
        _generalized_dice,
        (MONAI,),
        (Target("time", 0.6, (MONAI,)), Target("memory", 0.6, (MONAI,))),
        rounds=11,
    ),
    Case(
        "soft IoU",
        "torch",
        "2x4x96^3",
        _segmentation("jaccard"),
        (MONAI, KORNIA),
        SEGMENTATION_TARGETS,
        rounds=11,
    ),
    Case(
        "Tversky",
        "torch",
        "2x4x96^3",
        _segmentation("tversky"),
        (MONAI, KORNIA),
        SEGMENTATION_TARGETS,
        rounds=11,
    ),
    Case(
        "focal (multi-class)",
        "torch",
        "2x4x96^3",
        _segmentation("focal"),
        (MONAI, KORNIA),
        (Target("time", 0.5, (MONAI, KORNIA)),),
        rounds=11,
    ),
    Case("SSIM", "torch", "16x3x256x256", _ssim, (MONAI, KORNIA), SEGMENTATION_TARGETS, rounds=7),
    Case(
        "InfoNCE, CLIP (symmetric)",
        "torch",
        "4096x256",
        _info_nce(symmetric=True),
        (CLIP_FORMULA,),
        _torch_target(1.05, CLIP_FORMULA),
        rounds=11,
    ),
    Case(
        "InfoNCE (one-way)",
        "torch",
        "4096x256",
        _info_nce(symmetric=False),
        (CLIP_FORMULA,),
        _torch_target(1.05, CLIP_FORMULA),
        rounds=11,
    ),
    Case(
        "triplet margin",
        "torch",
        "3x65536x256",
        _triplet,
        (TORCH,),
        _torch_target(1.05, TORCH),
        rounds=15,
    ),
    Case(
        "distillation, T=4",
        "torch",
        "8192x1000",
        _distillation,
        (HINTON_FORMULA,),
        (),
        rounds=15,
    ),
    *(
        Case(
            f"{label} (jax.jit)",
            "jax",
            shape,
            _jax(kind),
            (OPTAX,),
            (Target("time", 1.1, (OPTAX,)),),
            rounds=33,
            steps=4 if shape == "8M" else 1,
            workers=3,
        )
        for label, kind, shape in (
            ("MSE", "mse", "8M"),
            ("Huber", "huber", "8M"),
            ("log-cosh", "log_cosh", "8M"),
            ("cross-entropy", "ce", "65536x1000"),
            ("BCE with logits", "bce", "8M"),
            ("Dice", "dice", "2x96^3x4"),
            ("soft IoU", "jaccard", "2x96^3x4"),
            ("Tversky", "tversky", "2x96^3x4"),
            ("triplet margin", "triplet", "3x65536x256"),
        )
    ),
    *(
        Case(
            f"{label} (tf.function, XLA)",
            "tensorflow",
            shape,
            _tensorflow(kind),
            (KERAS_TF,),
            (Target("time", 1.1, (KERAS_TF,)),),
            rounds=31 if shape == "8M" else 11,
            steps=4 if shape == "8M" else 1,
            env={"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        for label, kind, shape in (
            ("MSE", "mse", "8M"),
            ("cross-entropy", "ce", "65536x1000"),
            ("Dice", "dice", "2x96^3x4"),
        )
    ),
)

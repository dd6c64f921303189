"""Table entries for the GAN losses.

The references write each variant from its textbook form, -log D and -log(1 - D)
with D the sigmoid (through ``np.logaddexp`` for logits), element by element.
"""

from __future__ import annotations

import numpy as np

import losskit

from .spec import Invalid, LossCase, Peer, Sample, reference_reduce

VARIANTS = ("minimax", "non_saturating", "least_squares", "hinge", "wasserstein")


def _minus_log_d(x, from_logits):
    return np.logaddexp(0.0, -x) if from_logits else -np.log(x)


def _minus_log_one_minus_d(x, from_logits):
    return np.logaddexp(0.0, x) if from_logits else -np.log1p(-x)


def _discriminator_ref(
    real, fake, *, variant="non_saturating", from_logits=True, reduction="mean", weights=None
):
    if variant in ("minimax", "non_saturating"):
        loss = _minus_log_d(real, from_logits) + _minus_log_one_minus_d(fake, from_logits)
    elif variant == "least_squares":
        loss = ((real - 1) ** 2 + fake**2) / 2
    elif variant == "hinge":
        loss = np.maximum(0, 1 - real) + np.maximum(0, 1 + fake)
    else:
        loss = -(real - fake)
    return reference_reduce(loss, reduction, weights)


def _generator_ref(
    fake, *, variant="non_saturating", from_logits=True, reduction="mean", weights=None
):
    if variant == "minimax":
        loss = -_minus_log_one_minus_d(fake, from_logits)
    elif variant == "non_saturating":
        loss = _minus_log_d(fake, from_logits)
    elif variant == "least_squares":
        loss = (fake - 1) ** 2 / 2
    else:
        loss = -fake
    return reference_reduce(loss, reduction, weights)


def _outputs(rng, shape, from_logits):
    return rng.normal(size=shape) * 3 if from_logits else rng.uniform(0.02, 0.98, size=shape)


def _discriminator_samples(rng):
    for variant in VARIANTS:
        yield Sample(
            (_outputs(rng, (6,), True), _outputs(rng, (6,), True)),
            {"variant": variant},
            desc=f"{variant} logits",
            grad_args=(0, 1),
        )
    yield Sample(
        (_outputs(rng, (3, 2), False), _outputs(rng, (3, 2), False)),
        {"variant": "minimax", "from_logits": False},
        desc="minimax probabilities [B, 2]",
        grad_args=(0, 1),
    )
    yield Sample(
        (_outputs(rng, (2, 1, 3, 3), True), _outputs(rng, (2, 1, 3, 3), True)),
        {},
        desc="default variant, patch discriminator",
        grad_args=(0, 1),
    )


def _generator_samples(rng):
    for variant in VARIANTS:
        yield Sample((_outputs(rng, (6,), True),), {"variant": variant}, desc=f"{variant} logits")
    for variant in ("minimax", "non_saturating"):
        yield Sample(
            (_outputs(rng, (3, 2), False),),
            {"variant": variant, "from_logits": False},
            desc=f"{variant} probabilities",
        )


_SCALE = {"least_squares": 100.0}  # (1e4)^2 overflows float16; 100^2 / 2 does not


def _discriminator_extremes():
    for variant in VARIANTS:
        s = _SCALE.get(variant, 1e4)
        yield Sample(
            (np.array([s, -s, 0.0]), np.array([-s, s, s])),
            {"variant": variant},
            desc=f"{variant} outputs ±{s:g}",
            grad_args=(0, 1),
        )
    yield Sample(
        (np.array([1.0, 0.0, 0.5]), np.array([0.0, 1.0, 1.0])),
        {"variant": "minimax", "from_logits": False},
        desc="probabilities 0 and 1",
        grad_args=(0, 1),
    )


def _generator_extremes():
    for variant in VARIANTS:
        s = _SCALE.get(variant, 1e4)
        yield Sample((np.array([s, -s, 0.0]),), {"variant": variant}, desc=f"{variant} ±{s:g}")
    for variant in ("minimax", "non_saturating"):
        yield Sample(
            (np.array([0.0, 1.0, 0.5]),),
            {"variant": variant, "from_logits": False},
            desc=f"{variant} probabilities 0 and 1",
        )


def _discriminator_invalid():
    x = np.array([0.3, 0.6])
    yield Invalid((x, x[:1]), {}, "fake_pred must have the same shape as real_pred", "shape")
    yield Invalid((x, x[:, None]), {}, "fake_pred must have the same shape", "[N] vs [N, 1]")
    yield Invalid((x, x), {"variant": "relativistic"}, "variant must be one of")
    yield Invalid(
        (x, x), {"variant": "hinge", "from_logits": False}, "applies to the 'minimax'", "hinge p"
    )
    yield Invalid(
        (x * 3, x),
        {"variant": "minimax", "from_logits": False},
        "real_pred must hold prob",
        "prob",
        value_check=True,
    )
    yield Invalid((x, np.array([1, 0])), {}, "fake_pred must have a real floating dtype", "int")
    yield Invalid((x, x), {"from_logits": 1}, "from_logits must be True or False")


def _generator_invalid():
    x = np.array([0.3, 0.6])
    yield Invalid((x,), {"variant": "saturating"}, "variant must be one of")
    yield Invalid(
        (x,), {"variant": "wasserstein", "from_logits": False}, "applies to the 'minimax'", "w p"
    )
    yield Invalid(
        (x - 1,),
        {"from_logits": False},
        "fake_pred must hold probabilities",
        "prob",
        value_check=True,
    )
    yield Invalid((np.array([1, 0]),), {}, "fake_pred must have a real floating dtype", "int")
    yield Invalid((x,), {"reduction": "batchmean"}, "reduction must be one of")


def _t(a):
    import torch

    return torch.from_numpy(np.asarray(a))


def _torch_bce(x, label, from_logits):
    import torch.nn.functional as F

    target = np.full(x.shape, float(label))
    if from_logits:
        return F.binary_cross_entropy_with_logits(_t(x), _t(target), reduction="none").numpy()
    return F.binary_cross_entropy(_t(x), _t(target), reduction="none").numpy()


def _discriminator_torch(sample: Sample, reduction: str):
    """The logistic discriminator loss as PyTorch's BCE: real labelled 1, generated 0."""
    real, fake = sample.args
    kw = sample.kwargs
    if kw.get("variant", "non_saturating") not in ("minimax", "non_saturating"):
        return None
    fl = kw.get("from_logits", True)
    return reference_reduce(_torch_bce(real, 1, fl) + _torch_bce(fake, 0, fl), reduction)


def _generator_torch(sample: Sample, reduction: str):
    """Non-saturating generator: BCE of generated outputs labelled real (1)."""
    (fake,) = sample.args
    kw = sample.kwargs
    fl = kw.get("from_logits", True)
    if kw.get("variant", "non_saturating") == "non_saturating":
        return reference_reduce(_torch_bce(fake, 1, fl), reduction)
    if kw["variant"] == "minimax":
        return reference_reduce(-_torch_bce(fake, 0, fl), reduction)
    return None


CASES = [
    LossCase(
        "gan_discriminator",
        losskit.gan_discriminator,
        _discriminator_ref,
        _discriminator_samples,
        extremes=_discriminator_extremes,
        invalid=_discriminator_invalid,
        peers=(Peer("torch BCE (real 1, generated 0)", "torch", _discriminator_torch),),
        nonnegative=False,
    ),
    LossCase(
        "gan_generator",
        losskit.gan_generator,
        _generator_ref,
        _generator_samples,
        extremes=_generator_extremes,
        invalid=_generator_invalid,
        peers=(Peer("torch BCE (generated labelled 1)", "torch", _generator_torch),),
        nonnegative=False,
    ),
]

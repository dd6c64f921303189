"""Generative adversarial network losses, for the discriminator and for the generator.

Both take the discriminator's outputs: ``real_pred`` on real samples and ``fake_pred``
on generated ones.  For ``"minimax"`` and ``"non_saturating"`` they are logits by
default (``from_logits=True``) and go through log-sigmoid, exact for any finite logit;
the other variants take the raw, unbounded scores of a critic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from losskit.core.namespace import namespace, require_floating
from losskit.core.options import choice, flag
from losskit.core.primitives import safe_log, softplus
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import (
    check_probabilities,
    check_same_shape,
)
from losskit.errors import LossInputError

__all__ = ["gan_discriminator", "gan_generator"]

Array = Any

GAN_VARIANTS: tuple[str, ...] = (
    "minimax",
    "non_saturating",
    "least_squares",
    "hinge",
    "wasserstein",
)
#: variants whose inputs are the logits (or probabilities) of a logistic discriminator
_LOGISTIC = ("minimax", "non_saturating")


def _probabilities_need_a_logistic_variant(options: Mapping[str, Any]) -> None:
    """from_logits=False only for the variants whose discriminator outputs a probability."""
    variant, from_logits = options["variant"], options["from_logits"]
    if not from_logits and variant not in _LOGISTIC:
        raise LossInputError(
            f"from_logits=False (probabilities) applies to the 'minimax' and 'non_saturating' "
            f"variants only; variant={variant!r} takes the critic's raw scores"
        )


def _scores(x: Array, name: str, xp: Any, from_logits: bool) -> None:
    require_floating(x, name, xp)
    if not from_logits:
        check_probabilities(x, name, xp)


def _minus_log_d(x: Array, from_logits: bool, xp: Any) -> Array:
    """-log D: -log(sigmoid(x)) = softplus(-x) for logits."""
    return softplus(-x, xp=xp) if from_logits else -safe_log(x, xp=xp)


def _minus_log_one_minus_d(x: Array, from_logits: bool, xp: Any) -> Array:
    """-log(1 - D): -log(1 - sigmoid(x)) = softplus(x) for logits."""
    return softplus(x, xp=xp) if from_logits else -safe_log(1.0 - x, xp=xp)


GAN_FROM_LOGITS = flag(
    "from_logits",
    "True (default) when the discriminator outputs logits; False for probabilities, "
    "allowed for 'minimax' and 'non_saturating' only.",
)


@register_loss(
    tasks="generative",
    summary="GAN discriminator loss on its outputs for real and generated samples.",
    options=(
        choice(
            "variant",
            GAN_VARIANTS,
            (
                "'minimax' and 'non_saturating' (same discriminator loss): the logistic loss of "
                "Goodfellow et al., on logits; 'least_squares': LSGAN with targets 1 (real) and 0 "
                "(fake); 'hinge': margin 1, as in SNGAN and BigGAN; 'wasserstein': the WGAN critic "
                "(keep it Lipschitz with a gradient penalty or weight clipping)."
            ),
        ),
        GAN_FROM_LOGITS,
    ),
    constraints=(_probabilities_need_a_logistic_variant,),
)
def gan_discriminator(
    real_pred: Array,
    fake_pred: Array,
    *,
    variant: Literal[
        "minimax", "non_saturating", "least_squares", "hinge", "wasserstein"
    ] = "non_saturating",
    from_logits: bool = True,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Discriminator (critic) loss of a GAN, pair by pair of real and generated outputs.

    With :math:`r` the discriminator's output on a real sample and :math:`g` on a
    generated one (logits; :math:`\sigma` the sigmoid):

    .. math::
        \ell^{\mathrm{minimax}} = \ell^{\mathrm{non\_saturating}}
            &= -\log\sigma(r) - \log(1 - \sigma(g)) = \operatorname{softplus}(-r)
               + \operatorname{softplus}(g) \\
        \ell^{\mathrm{least\_squares}} &= \tfrac12 (r - 1)^2 + \tfrac12 g^2 \\
        \ell^{\mathrm{hinge}} &= \max(0, 1 - r) + \max(0, 1 + g) \\
        \ell^{\mathrm{wasserstein}} &= g - r

    The minimax and non-saturating GANs differ only in the generator's loss, so both
    names give the logistic loss here.  ``"mean"`` is the mean over real outputs plus the
    mean over generated ones.  Wasserstein's critic needs a Lipschitz constraint (gradient
    penalty, weight clipping or spectral normalisation) applied by the caller.

    Args:
        real_pred: discriminator outputs on real samples, any shape.
        fake_pred: discriminator outputs on generated samples, ``real_pred``'s shape
            (same batch size; never broadcast).
        variant: ``"non_saturating"`` (default), ``"minimax"``, ``"least_squares"``,
            ``"hinge"`` or ``"wasserstein"``.
        from_logits: whether the outputs are logits (default) or probabilities; the
            latter only for ``"minimax"`` and ``"non_saturating"``.
        {reduction}

    Returns:
        The reduced loss, or for ``"none"`` the loss of each (real, generated) pair, of
        ``real_pred``'s shape.

    Examples:
        >>> import numpy as np, losskit
        >>> real, fake = np.array([2.0, 1.0]), np.array([-1.0, 0.5])
        >>> round(float(losskit.gan_discriminator(real, fake, variant="hinge")), 4)
        0.75
        >>> round(float(losskit.gan_discriminator(real, fake)), 4)
        0.8638
    """
    xp = namespace(real_pred=real_pred, fake_pred=fake_pred)
    _scores(real_pred, "real_pred", xp, from_logits)
    _scores(fake_pred, "fake_pred", xp, from_logits)
    check_same_shape(real_pred, fake_pred, names=("real_pred", "fake_pred"))
    if fake_pred.dtype != real_pred.dtype:
        raise LossInputError(
            f"fake_pred must have real_pred's dtype {real_pred.dtype}; got {fake_pred.dtype}"
        )
    r, g = real_pred, fake_pred
    if variant in _LOGISTIC:
        loss = _minus_log_d(r, from_logits, xp) + _minus_log_one_minus_d(g, from_logits, xp)
    elif variant == "least_squares":
        loss = 0.5 * (r - 1.0) ** 2 + 0.5 * g**2
    elif variant == "hinge":
        loss = xp.clip(1.0 - r, 0.0, None) + xp.clip(1.0 + g, 0.0, None)
    else:
        loss = g - r
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="generative",
    summary="GAN generator loss on the discriminator's outputs for generated samples.",
    options=(
        choice(
            "variant",
            GAN_VARIANTS,
            (
                "'non_saturating' (default): -log D(G(z)), the usual choice; 'minimax': log(1 - "
                "D(G(z))), the original, negative and saturating; 'least_squares': (D - 1)^2 / 2; "
                "'hinge' and 'wasserstein': -D(G(z))."
            ),
        ),
        GAN_FROM_LOGITS,
    ),
    constraints=(_probabilities_need_a_logistic_variant,),
)
def gan_generator(
    fake_pred: Array,
    *,
    variant: Literal[
        "minimax", "non_saturating", "least_squares", "hinge", "wasserstein"
    ] = "non_saturating",
    from_logits: bool = True,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Generator loss of a GAN, from the discriminator's outputs on generated samples.

    With :math:`g` the discriminator's output (a logit) on a generated sample:

    .. math::
        \ell^{\mathrm{minimax}} &= \log(1 - \sigma(g)) = -\operatorname{softplus}(g) \\
        \ell^{\mathrm{non\_saturating}} &= -\log\sigma(g) = \operatorname{softplus}(-g) \\
        \ell^{\mathrm{least\_squares}} &= \tfrac12 (g - 1)^2 \\
        \ell^{\mathrm{hinge}} = \ell^{\mathrm{wasserstein}} &= -g

    The minimax, hinge and Wasserstein losses are negative for a generator that fools
    the discriminator; only their gradients matter.

    Args:
        fake_pred: discriminator outputs on generated samples, any shape.
        variant: ``"non_saturating"`` (default), ``"minimax"``, ``"least_squares"``,
            ``"hinge"`` or ``"wasserstein"``.
        from_logits: whether the outputs are logits (default) or probabilities; the
            latter only for ``"minimax"`` and ``"non_saturating"``.
        {reduction}

    Returns:
        The reduced loss, or for ``"none"`` the per-sample loss of ``fake_pred``'s shape.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.gan_generator(np.array([0.0, 2.0]))), 4)
        0.41
        >>> float(losskit.gan_generator(np.array([0.0, 2.0]), variant="hinge"))
        -1.0
    """
    xp = namespace(fake_pred=fake_pred)
    _scores(fake_pred, "fake_pred", xp, from_logits)
    g = fake_pred
    if variant == "minimax":
        loss = -_minus_log_one_minus_d(g, from_logits, xp)
    elif variant == "non_saturating":
        loss = _minus_log_d(g, from_logits, xp)
    elif variant == "least_squares":
        loss = 0.5 * (g - 1.0) ** 2
    else:
        loss = -g
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)

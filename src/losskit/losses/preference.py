"""Preference-optimisation losses: align a language model with pairs (or single labels)
of preferred and dispreferred responses.

Every loss here takes **per-sequence log-probabilities**, one number per response:
:math:`\\log\\pi(y\\mid x) = \\sum_t \\log\\pi(y_t \\mid x, y_{<t})` over the response's
tokens (DPO, KTO), or their *average* over the response's tokens (SimPO, ORPO, and IPO
as TRL runs it).  :func:`sequence_log_probs` turns a model's logits and the response's
token labels into either.  The arrays of one call all have the same shape (``[B]``
for a batch of B pairs, or any other) and the unreduced loss has that shape too.

Conventions follow the papers and TRL (``DPOTrainer``, ``CPOTrainer``,
``ORPOTrainer``, ``KTOTrainer``); ``docs/conventions.md`` ("Preference losses") lists
where they could be read two ways.  Every loss decreases when the policy's
log-probability of the chosen (desirable) response rises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from losskit.core.namespace import (
    as_float,
    autocast_to_float32,
    is_static_number,
    namespace,
    require_floating,
    require_integer,
    stop_gradient,
)
from losskit.core.options import choice, flag, real
from losskit.core.primitives import gather_classes, log1mexp, logsumexp_parts, sigmoid, softplus
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import (
    check_broadcastable,
    check_ignore_index,
    check_labels,
    check_same_shape,
    check_shape,
    check_values,
)
from losskit.errors import LossInputError

__all__ = ["dpo", "kto", "orpo", "sequence_log_probs", "simpo"]

Array = Any

DPO_FORMS: tuple[str, ...] = ("sigmoid", "ipo", "hinge")


# ---------------------------------------------------------------------------- inputs


def _log_probs(**named: Array) -> tuple[Any, list[Array]]:
    """The namespace and the named log-probability arrays: real floating, all of the
    first one's shape (never broadcast), cast to its dtype."""
    xp = namespace(**named)
    names = list(named)
    first = named[names[0]]
    for name in names:
        require_floating(named[name], name, xp)
    arrays = [autocast_to_float32(first, xp)]
    for name in names[1:]:
        check_same_shape(first, named[name], names=(names[0], name))
        arrays.append(as_float(named[name], arrays[0], name, xp))
    return xp, arrays


def sequence_log_probs(
    logits: Array, labels: Array, *, ignore_index: int = -100, average: bool = False
) -> Array:
    r"""Per-sequence log-probability of ``labels`` under ``logits``: the masked sum (or
    mean) over tokens of :math:`\log\operatorname{softmax}(z_t)[y_t]`.

    .. math::
        \log\pi(y) = \sum_{t:\,y_t \ne \text{ignore}} \log\operatorname{softmax}(z_t)_{y_t},
        \qquad \log\bar\pi(y) = \frac{\log\pi(y)}{\#\{t: y_t \ne \text{ignore}\}}

    The inputs to :func:`dpo`, :func:`kto` (sums) and :func:`simpo`, :func:`orpo`
    (``average=True``).  The shift between a causal model's logits and its labels is
    **the caller's**: position ``t`` of ``logits`` must already score the label at
    position ``t`` (for a causal LM, ``logits[..., :-1, :]`` with ``labels[..., 1:]``).
    Prompt and padding tokens take ``ignore_index``.  A sequence whose tokens are all
    ignored has log-probability 0 (its mean too, not 0/0).

    Each token's log-probability is its logit minus the log-sum-exp of its row, so no
    ``[..., T, V]`` log-softmax array is kept beside the logits.

    Args:
        logits: ``[..., T, V]`` real floating scores over a vocabulary of V tokens.
        labels: ``[..., T]`` integer token ids in ``[0, V)`` or ``ignore_index``.
        ignore_index: the label of tokens left out (prompt, padding); default -100.
        average: the mean over the kept tokens instead of their sum.

    Returns:
        ``[...]``: one log-probability per sequence, in ``logits``' dtype.

    Examples:
        >>> import numpy as np, losskit
        >>> logits = np.log(np.array([[[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]]]))
        >>> labels = np.array([[-100, 1, 0]])
        >>> round(float(losskit.sequence_log_probs(logits, labels)[0]), 4)  # log(.75 * .9)
        -0.393
        >>> round(float(losskit.sequence_log_probs(logits, labels, average=True)[0]), 4)
        -0.1965
    """
    check_ignore_index(ignore_index, optional=False)
    if not isinstance(average, bool):
        raise LossInputError(f"average must be True or False; got {average!r}")
    xp = namespace(logits=logits, labels=labels)
    require_floating(logits, "logits", xp)
    require_integer(labels, "labels", xp)
    if logits.ndim < 2:
        raise LossInputError(
            f"logits must have a token axis and a vocabulary axis, [..., T, V]; got shape "
            f"{tuple(logits.shape)}"
        )
    if logits.shape[-1] == 0:
        raise LossInputError(
            f"logits must have a vocabulary of at least one token; got shape {tuple(logits.shape)}"
        )
    check_shape(
        labels,
        tuple(logits.shape[:-1]),
        "labels",
        f"logits' shape {tuple(logits.shape)} without its vocabulary axis",
    )
    check_labels(labels, logits.shape[-1], "labels", xp, ignore_index=ignore_index)
    logits = autocast_to_float32(logits, xp)
    kept = labels != ignore_index
    # an ignored label gathers class 0, whose value is then multiplied by 0
    token_ids = xp.where(kept, labels, xp.zeros_like(labels))
    # log softmax(z)[y] = (z[y] - m) - log s, logsumexp(z) = m + log s kept apart
    # (logsumexp_parts): one gather and one reduction over V
    m, log_s = logsumexp_parts(logits, axis=-1, xp=xp)
    token_log_probs = (gather_classes(logits, token_ids, axis=-1, xp=xp) - m) - log_s
    mask = xp.astype(kept, logits.dtype)
    total = xp.sum(token_log_probs * mask, axis=-1)
    if not average:
        return total
    count = xp.sum(mask, axis=-1)
    # an all-ignored sequence: 0 / 1 = 0, with a zero gradient, not 0 / 0
    return total / xp.where(count > 0, count, xp.ones_like(count))


# ------------------------------------------------------------------------- options

BETA_DOC = (
    "inverse temperature beta > 0: how far the policy may move from the reference (small "
    "beta: far). Usual: 0.1 (DPO paper, TRL); 0.01-0.5."
)


def _smoothing_needs_sigmoid(options: Mapping[str, Any]) -> None:
    """Label smoothing (cDPO) is defined for the sigmoid form only."""
    smoothing = options["label_smoothing"]
    if options["form"] != "sigmoid" and is_static_number(smoothing) and smoothing != 0:
        raise LossInputError(
            f"label_smoothing applies to form='sigmoid' (conservative DPO) only; "
            f"got label_smoothing={smoothing!r} with form={options['form']!r}"
        )


# -------------------------------------------------------------------------- losses


@register_loss(
    tasks="preference",
    summary=(
        "Direct preference optimisation (DPO) on policy and reference log-probabilities of "
        "chosen and rejected responses; IPO and hinge forms, conservative label smoothing."
    ),
    options=(
        real("beta", BETA_DOC, 0.0, closed="neither"),
        choice(
            "form",
            DPO_FORMS,
            "'sigmoid' (default): DPO's logistic loss; 'ipo': IPO's squared distance to the "
            "margin 1/(2 beta), bounded in its effect (TRL feeds it average log-probs); "
            "'hinge': SLiC's hinge max(0, 1 - beta h).",
        ),
        real(
            "label_smoothing",
            "probability epsilon in [0, 0.5] that a preference label is flipped: conservative "
            "DPO (cDPO), form='sigmoid' only. Default 0; 0.1 or so for noisy labels.",
            0.0,
            0.5,
        ),
    ),
    constraints=(_smoothing_needs_sigmoid,),
)
def dpo(
    policy_chosen_logps: Array,
    policy_rejected_logps: Array,
    reference_chosen_logps: Array,
    reference_rejected_logps: Array,
    *,
    beta: float = 0.1,
    form: Literal["sigmoid", "ipo", "hinge"] = "sigmoid",
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Direct preference optimisation, pair by pair, in one of three forms.

    With :math:`h = \bigl(\log\pi(y_w) - \log\pi(y_l)\bigr) - \bigl(\log\pi_{\mathrm{ref}}(y_w)
    - \log\pi_{\mathrm{ref}}(y_l)\bigr)` the policy's log-ratio margin over the
    reference's, for the chosen response :math:`y_w` and the rejected :math:`y_l`:

    .. math::
        \ell^{\mathrm{sigmoid}} &= -(1 - \epsilon)\log\sigma(\beta h)
            - \epsilon\log\sigma(-\beta h) \\
        \ell^{\mathrm{ipo}} &= \bigl(h - \tfrac{1}{2\beta}\bigr)^2 \\
        \ell^{\mathrm{hinge}} &= \max(0,\ 1 - \beta h)

    ``"sigmoid"`` with :math:`\epsilon = 0` is DPO (Rafailov et al., eq. 7); with
    :math:`\epsilon > 0` it is conservative DPO (cDPO), which assumes each label is
    flipped with probability :math:`\epsilon`.  ``"ipo"`` is IPO (Azar et al., eq. 17),
    which regresses :math:`h` to :math:`1/(2\beta)` instead of pushing it to infinity;
    TRL computes it on *average* log-probabilities (``sequence_log_probs(...,
    average=True)``), the paper on sums: pass either.  ``"hinge"`` is SLiC's calibration
    loss (Zhao et al.) with margin :math:`1/\beta`.  The log-sigmoids are softplus
    terms, finite for any margin.  For reference-free DPO pass zeros as the reference
    log-probabilities.

    Args:
        policy_chosen_logps: the policy's log-probability of each chosen response,
            any shape (``[B]`` for B pairs), real floating.
        policy_rejected_logps: the policy's log-probability of each rejected response,
            the same shape.
        reference_chosen_logps: the frozen reference model's log-probability of each
            chosen response, the same shape (no gradient is needed).
        reference_rejected_logps: the reference's log-probability of each rejected
            response, the same shape.
        beta: :math:`\beta > 0`.
        form: ``"sigmoid"`` (default), ``"ipo"`` or ``"hinge"``.
        label_smoothing: :math:`\epsilon \in [0, 0.5]`, ``form="sigmoid"`` only.
        {reduction}

    Returns:
        The reduced loss, or the loss of each pair (the inputs' shape) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> chosen, rejected = np.array([-10.0]), np.array([-12.0])
        >>> ref_chosen, ref_rejected = np.array([-11.0]), np.array([-11.0])
        >>> round(float(losskit.dpo(chosen, rejected, ref_chosen, ref_rejected, beta=0.5)), 4)
        0.3133
        >>> float(losskit.dpo(chosen, rejected, ref_chosen, ref_rejected, beta=0.5, form="ipo"))
        1.0
    """
    xp, (pc, pr, rc, rr) = _log_probs(
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
        reference_chosen_logps=reference_chosen_logps,
        reference_rejected_logps=reference_rejected_logps,
    )
    margin = (pc - pr) - (rc - rr)
    if form == "sigmoid":
        z = beta * margin
        # -log sigmoid(z) = softplus(-z); -log sigmoid(-z) = softplus(z)
        loss = softplus(-z, xp=xp)
        if not (is_static_number(label_smoothing) and label_smoothing == 0):
            loss = (1.0 - label_smoothing) * loss + label_smoothing * softplus(z, xp=xp)
    elif form == "ipo":
        loss = (margin - 1.0 / (2.0 * beta)) ** 2
    else:
        loss = xp.clip(1.0 - beta * margin, 0.0, None)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="preference",
    summary=(
        "SimPO: reference-free preference loss on length-normalised (average) log-probabilities "
        "with a target margin gamma."
    ),
    options=(
        real(
            "beta",
            "scale beta > 0 of the average log-probability margin. Usual: 2.0-2.5 (SimPO paper); "
            "much larger than DPO's beta, because average log-probs differ far less than sums.",
            0.0,
            closed="neither",
        ),
        real(
            "gamma",
            "target reward margin gamma >= 0, in units of beta times average log-probability. "
            "Usual: 0.5-1.5 (SimPO paper); TRL's simpo_gamma is this gamma.",
            0.0,
        ),
    ),
)
def simpo(
    chosen_avg_logps: Array,
    rejected_avg_logps: Array,
    *,
    beta: float = 2.0,
    gamma: float = 0.5,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Simple preference optimisation (SimPO): no reference model, length-normalised.

    .. math::
        \ell = -\log\sigma\bigl(\beta\log\bar\pi(y_w) - \beta\log\bar\pi(y_l) - \gamma\bigr),
        \qquad \bar\pi(y) = \pi(y)^{1/|y|}

    where :math:`\log\bar\pi(y) = \frac{1}{|y|}\log\pi(y)` is the **average**
    log-probability of a response's :math:`|y|` tokens (Meng et al., eq. 6): pass
    ``sequence_log_probs(logits, labels, average=True)``, not sums.  The implicit reward
    is :math:`\beta\log\bar\pi`, and :math:`\gamma` the margin the chosen
    response's reward must exceed the rejected one's by.  TRL's ``CPOTrainer`` with
    ``loss_type="simpo"`` computes the same value (it writes the margin as
    ``simpo_gamma / beta`` inside the sigmoid's argument).

    Args:
        chosen_avg_logps: the policy's average token log-probability of each chosen
            response, any shape, real floating.
        rejected_avg_logps: the same for each rejected response, the same shape.
        beta: :math:`\beta > 0`.
        gamma: the target margin :math:`\gamma \ge 0`.
        {reduction}

    Returns:
        The reduced loss, or the loss of each pair (the inputs' shape) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.simpo(np.array([-0.5]), np.array([-1.0]), beta=2.0, gamma=1.0)), 4)
        0.6931
    """
    xp, (chosen, rejected) = _log_probs(
        chosen_avg_logps=chosen_avg_logps, rejected_avg_logps=rejected_avg_logps
    )
    z = beta * (chosen - rejected) - gamma
    return reduce_loss(softplus(-z, xp=xp), reduction=reduction, weights=weights, xp=xp)


def _log_odds(avg_logps: Array, xp: Any) -> Array:
    """log(p / (1 - p)) from log p: log p - log(1 - exp(log p))."""
    return avg_logps - log1mexp(avg_logps, xp=xp)


@register_loss(
    tasks="preference",
    summary=(
        "ORPO: odds-ratio preference loss on the policy's average log-probabilities, plus the "
        "chosen response's negative log-likelihood; no reference model."
    ),
    options=(
        real(
            "lambda_",
            "weight lambda >= 0 of the odds-ratio term (TRL's ORPOConfig.beta). Usual: 0.1 "
            "(ORPO paper, TRL); 0.05-1.",
            0.0,
        ),
        flag(
            "include_nll",
            "True (default): add the chosen response's negative average log-likelihood, the "
            "supervised term of ORPO; False: the odds-ratio term alone, for callers that "
            "compute the supervised loss themselves (normalised per token, say).",
        ),
    ),
)
def orpo(
    chosen_avg_logps: Array,
    rejected_avg_logps: Array,
    *,
    lambda_: float = 0.1,
    include_nll: bool = True,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Odds-ratio preference optimisation (ORPO): supervised fine-tuning plus an odds-ratio
    penalty, in one loss and without a reference model.

    .. math::
        \ell = -\log\bar\pi(y_w)
            - \lambda\log\sigma\Bigl(\log\frac{\operatorname{odds}(y_w)}{\operatorname{odds}(y_l)}\Bigr),
        \qquad \operatorname{odds}(y) = \frac{\bar\pi(y)}{1 - \bar\pi(y)},\quad
        \bar\pi(y) = \pi(y)^{1/|y|}

    on **average** token log-probabilities :math:`\log\bar\pi` (Hong et al., eqs.
    4-7; pass ``sequence_log_probs(logits, labels, average=True)``).  The first term is
    the supervised loss on the chosen response, per sequence; ``include_nll=False``
    leaves it out (the odds-ratio term alone, :math:`\lambda` times it).  Averaged over a
    batch it is a mean over sequences of per-sequence token means; TRL's ORPO computes
    the same.  The log-odds are evaluated as :math:`\log\bar\pi - \log(1 - \bar\pi)` with
    :math:`\log(1 - \bar\pi)` from ``log1mexp``, exact for tiny and near-zero
    log-probabilities; an average log-probability of exactly 0 (:math:`\bar\pi = 1`)
    gives a large finite value.
    Log-probabilities must be <= 0.

    Args:
        chosen_avg_logps: the policy's average token log-probability of each chosen
            response, <= 0, any shape, real floating.
        rejected_avg_logps: the same for each rejected response, the same shape.
        lambda_: :math:`\lambda \ge 0`, the weight of the odds-ratio term.
        include_nll: whether to add the chosen response's negative log-likelihood.
        {reduction}

    Returns:
        The reduced loss, or the loss of each pair (the inputs' shape) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> chosen, rejected = np.log(np.array([0.5])), np.log(np.array([0.2]))
        >>> round(float(losskit.orpo(chosen, rejected, lambda_=1.0, include_nll=False)), 4)
        0.2231
    """
    xp, (chosen, rejected) = _log_probs(
        chosen_avg_logps=chosen_avg_logps, rejected_avg_logps=rejected_avg_logps
    )
    for name, x in (("chosen_avg_logps", chosen), ("rejected_avg_logps", rejected)):
        # NaN passes (a NaN log-probability is the model's: the loss is NaN, as elsewhere)
        check_values(
            x,
            lambda v: xp.any(v > 0),
            f"{name} must hold log-probabilities, <= 0; found a positive value (a sum of "
            "logits, or a log-probability taken twice?)",
        )
    log_odds_ratio = _log_odds(chosen, xp) - _log_odds(rejected, xp)
    loss = lambda_ * softplus(-log_odds_ratio, xp=xp)  # -log sigmoid(r) = softplus(-r)
    if include_nll:
        loss = loss - chosen
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="preference",
    summary=(
        "KTO: Kahneman-Tversky optimisation on single responses labelled desirable or "
        "undesirable, against a reference KL point estimate."
    ),
    options=(
        real("beta", BETA_DOC, 0.0, closed="neither"),
        real(
            "desirable_weight",
            "weight lambda_D >= 0 of desirable responses. Default 1; raise the weight of the "
            "rarer kind so that lambda_D n_D / (lambda_U n_U) lies in [1, 4/3] (KTO paper).",
            0.0,
        ),
        real(
            "undesirable_weight",
            "weight lambda_U >= 0 of undesirable responses. Default 1.",
            0.0,
        ),
    ),
)
def kto(
    policy_logps: Array,
    reference_logps: Array,
    desirable: Array,
    kl: Array,
    *,
    beta: float = 0.1,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Kahneman-Tversky optimisation (KTO): one response at a time, desirable or not.

    Eq. 8 of Ethayarajh et al., with :math:`r = \log\pi(y) - \log\pi_{\mathrm{ref}}(y)`
    and :math:`z` the reference point, a non-negative estimate of
    :math:`\mathrm{KL}(\pi\,\|\,\pi_{\mathrm{ref}})`:

    .. math::
        \ell = \begin{cases} \lambda_D\,\bigl(1 - \sigma(\beta (r - z))\bigr) & y \text{ desirable} \\
        \lambda_U\,\bigl(1 - \sigma(\beta (z - r))\bigr) & y \text{ undesirable} \end{cases}

    ``kl`` is the caller's estimate of :math:`z`, as in
    TRL: the mean of :math:`\log\pi(y') - \log\pi_{\mathrm{ref}}(y')` over responses
    :math:`y'` paired with *other* prompts of the batch (gathered over ranks), or any
    other.  It is clipped at 0 and carries no gradient (the paper and TRL do the same).
    ``"mean"`` is the plain mean over responses of the weighted losses, as TRL's mean of
    its concatenated desirable and undesirable losses.  :math:`1 - \sigma(t)` is
    evaluated as :math:`\sigma(-t)`, with no cancellation.

    Args:
        policy_logps: the policy's log-probability of each response, any shape, real
            floating.
        reference_logps: the reference's log-probability of each response, the same shape.
        desirable: whether each response is desirable: booleans, or 0 and 1, the same shape.
        kl: the reference point :math:`z`, an array: 0-d (one estimate for the batch),
            or of a shape that broadcasts to the responses' without enlarging it.
        beta: :math:`\beta > 0`.
        desirable_weight: :math:`\lambda_D \ge 0`.
        undesirable_weight: :math:`\lambda_U \ge 0`.
        {reduction}

    Returns:
        The reduced loss, or the loss of each response (the inputs' shape) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> policy, reference = np.array([-10.0, -12.0]), np.array([-11.0, -11.0])
        >>> good = np.array([True, False])
        >>> round(float(losskit.kto(policy, reference, good, np.array(0.0), beta=1.0)), 4)
        0.2689
    """
    # every array from one library (the labels and the KL point too), then the log-probs
    namespace(
        policy_logps=policy_logps, reference_logps=reference_logps, desirable=desirable, kl=kl
    )
    xp, (policy, reference) = _log_probs(policy_logps=policy_logps, reference_logps=reference_logps)
    check_same_shape(policy, desirable, names=("policy_logps", "desirable"))
    if xp.isdtype(desirable.dtype, "bool"):
        good = desirable
    else:
        if xp.isdtype(desirable.dtype, "complex floating"):
            raise LossInputError(
                f"desirable must hold booleans or 0 and 1; got dtype {desirable.dtype}"
            )
        check_values(
            desirable,
            lambda d: xp.any((d != 0) & (d != 1)),
            "desirable must hold booleans or 0 and 1; found another value",
        )
        good = desirable != 0
    require_floating(kl, "kl", xp)
    check_broadcastable(kl, tuple(policy.shape), "kl", "the responses' shape")
    z = stop_gradient(xp.clip(as_float(kl, policy, "kl", xp), 0.0, None), xp)
    r = policy - reference
    # 1 - sigmoid(t) = sigmoid(-t): desirable t = beta (r - z), undesirable t = beta (z - r)
    t = beta * (r - z)
    loss = xp.where(
        good, desirable_weight * sigmoid(-t, xp=xp), undesirable_weight * sigmoid(t, xp=xp)
    )
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)

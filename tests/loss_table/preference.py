"""Table entries for the preference-optimisation losses.

The references write each loss from its paper's equation in float64 NumPy, through
probabilities where the paper does (sigma(z) = 1 / (1 + exp(-z)), ORPO's odds
p / (1 - p) with p = exp(average log-probability)), not through losskit's softplus and
log1mexp forms.  Samples hold moderate log-probabilities (sums of tens of tokens, or
averages of a few nats), where those direct forms are exact to float64 precision.
"""

from __future__ import annotations

import numpy as np

import losskit

from .spec import Gap, Invalid, LossCase, Sample, reference_reduce


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ------------------------------------------------------------------------ references


def _dpo_ref(
    pc,
    pr,
    rc,
    rr,
    *,
    beta=0.1,
    form="sigmoid",
    label_smoothing=0.0,
    reduction="mean",
    weights=None,
):
    # Rafailov et al. eq. 7; cDPO (Mitchell); IPO (Azar et al. eq. 17); SLiC hinge
    h = (pc - pr) - (rc - rr)
    if form == "sigmoid":
        eps = label_smoothing
        loss = -(1 - eps) * np.log(_sigmoid(beta * h)) - eps * np.log(_sigmoid(-beta * h))
    elif form == "ipo":
        loss = (h - 1 / (2 * beta)) ** 2
    else:
        loss = np.maximum(0.0, 1 - beta * h)
    return reference_reduce(loss, reduction, weights)


def _simpo_ref(c, r, *, beta=2.0, gamma=0.5, reduction="mean", weights=None):
    # Meng et al. eq. 6, on average log-probabilities
    return reference_reduce(-np.log(_sigmoid(beta * c - beta * r - gamma)), reduction, weights)


def _orpo_ref(c, r, *, lambda_=0.1, include_nll=True, reduction="mean", weights=None):
    # Hong et al. eqs. 4-7: odds(y) = p / (1 - p), p the average token probability
    pc, pr = np.exp(c), np.exp(r)
    ratio = (pc / -np.expm1(c)) / (pr / -np.expm1(r))  # 1 - p, exact for p near 1
    loss = -lambda_ * np.log(_sigmoid(np.log(ratio)))
    if include_nll:
        loss = loss - c
    return reference_reduce(loss, reduction, weights)


def _kto_ref(
    policy,
    reference,
    desirable,
    kl,
    *,
    beta=0.1,
    desirable_weight=1.0,
    undesirable_weight=1.0,
    reduction="mean",
    weights=None,
):
    # Ethayarajh et al. eq. 8: lambda_y - v(x, y), the reference point clipped at 0
    z = np.maximum(kl, 0.0)
    r = policy - reference
    value = np.where(
        desirable.astype(bool),
        desirable_weight * _sigmoid(beta * (r - z)),
        undesirable_weight * _sigmoid(beta * (z - r)),
    )
    lam = np.where(desirable.astype(bool), desirable_weight, undesirable_weight)
    return reference_reduce(lam - value, reduction, weights)


# --------------------------------------------------------------------------- samples


def _sums(rng, shape):
    """Summed log-probabilities of responses of tens of tokens."""
    return -rng.uniform(5.0, 40.0, size=shape)


def _averages(rng, shape):
    """Average token log-probabilities."""
    return -rng.uniform(0.05, 3.0, size=shape)


def _pairs(rng, shape):
    """Policy and reference log-probabilities of chosen and rejected responses; the
    reference is the policy a few nats away."""
    pc, pr = _sums(rng, shape), _sums(rng, shape)
    return pc, pr, pc + rng.normal(size=shape) * 3, pr + rng.normal(size=shape) * 3


def _dpo_samples(rng):
    for form, beta in (("sigmoid", 0.1), ("sigmoid", 0.5), ("ipo", 0.1), ("hinge", 0.1)):
        yield Sample(
            _pairs(rng, (6,)),
            {"form": form, "beta": beta},
            desc=f"{form} beta={beta}",
            grad_args=(0, 1),
        )
    yield Sample(
        _pairs(rng, (2, 3)),
        {"label_smoothing": 0.1},
        desc="cDPO label_smoothing=0.1 [2, 3]",
        grad_args=(0, 1, 2, 3),
    )
    yield Sample(_pairs(rng, (5,)), {}, desc="defaults")
    yield Sample(tuple(np.zeros(0) for _ in range(4)), {}, desc="empty")


def _simpo_samples(rng):
    yield Sample(
        (_averages(rng, (6,)), _averages(rng, (6,))), {}, desc="defaults", grad_args=(0, 1)
    )
    yield Sample(
        (_averages(rng, (2, 3)), _averages(rng, (2, 3))),
        {"beta": 2.5, "gamma": 1.4},
        desc="beta=2.5 gamma=1.4 [2, 3]",
        grad_args=(0, 1),
    )
    yield Sample((_averages(rng, (4,)), _averages(rng, (4,))), {"gamma": 0.0}, desc="gamma=0")
    yield Sample((np.zeros(0), np.zeros(0)), {}, desc="empty")


def _orpo_samples(rng):
    yield Sample(
        (_averages(rng, (6,)), _averages(rng, (6,))), {}, desc="defaults", grad_args=(0, 1)
    )
    yield Sample(
        (_averages(rng, (2, 3)), _averages(rng, (2, 3))),
        {"lambda_": 1.0, "include_nll": False},
        desc="odds-ratio term alone [2, 3]",
        grad_args=(0, 1),
    )
    # average log-probabilities near 0 (p near 1) and far below (p near 0)
    yield Sample(
        (np.array([-1e-3, -0.01, -0.69, -8.0]), np.array([-0.7, -2e-3, -20.0, -0.5])),
        {"lambda_": 0.5},
        desc="near 0 and far below",
        grad_args=(0, 1),
    )
    yield Sample((np.zeros(0), np.zeros(0)), {}, desc="empty")


def _kto_samples(rng):
    def unpaired(shape, kl):
        policy = _sums(rng, shape)
        desirable = rng.integers(0, 2, size=shape)
        return policy, policy + rng.normal(size=shape) * 3, desirable, kl

    yield Sample(unpaired((8,), np.array(0.7)), {}, desc="defaults")
    yield Sample(
        unpaired((8,), np.array(1.2)),
        {"beta": 0.5, "desirable_weight": 1.33, "undesirable_weight": 1.0},
        desc="weighted beta=0.5",
    )
    yield Sample(
        unpaired((2, 4), np.array(-0.3)), {"beta": 0.2}, desc="negative KL estimate [2, 4]"
    )
    yield Sample(unpaired((3,), np.array([0.0, 0.5, 2.0])), {}, desc="per-response KL point")
    yield Sample(
        (np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64), np.array(0.0)), {}, desc="empty"
    )


# -------------------------------------------------------------------------- extremes

# log-probability differences of 1e4 either way, and log-probabilities of exactly 0
_BIG = 1e4


def _dpo_extremes():
    pc = np.array([0.0, -_BIG, -_BIG, 0.0])
    pr = np.array([-_BIG, 0.0, -_BIG, 0.0])
    rc = np.array([-_BIG, 0.0, 0.0, 0.0])
    rr = np.array([0.0, -_BIG, 0.0, -_BIG])
    for form in ("sigmoid", "hinge", "ipo"):
        yield Sample((pc, pr, rc, rr), {"form": form}, desc=f"{form} ±1e4", grad_args=(0, 1))
    yield Sample((pc, pr, rc, rr), {"label_smoothing": 0.2}, desc="cDPO ±1e4", grad_args=(0, 1))


def _two_extremes():
    return (np.array([0.0, -_BIG, -_BIG, -1e-30]), np.array([-_BIG, 0.0, -_BIG, -1e-30]))


def _simpo_extremes():
    yield Sample(_two_extremes(), {}, desc="±1e4", grad_args=(0, 1))


def _orpo_extremes():
    yield Sample(_two_extremes(), {}, desc="±1e4, exactly 0", grad_args=(0, 1))
    yield Sample(_two_extremes(), {"include_nll": False}, desc="odds ratio ±1e4", grad_args=(0, 1))


def _kto_extremes():
    policy = np.array([0.0, -_BIG, 0.0, -_BIG])
    reference = np.array([-_BIG, 0.0, -_BIG, 0.0])
    desirable = np.array([1, 1, 0, 0])
    yield Sample((policy, reference, desirable, np.array(0.0)), {}, desc="±1e4")
    yield Sample((policy, reference, desirable, np.array(_BIG)), {}, desc="±1e4, KL 1e4")


# --------------------------------------------------------------------------- invalid


def _dpo_invalid():
    x = -np.array([3.0, 4.0, 5.0])
    yield Invalid(
        (x, x[:2], x, x),
        {},
        "policy_rejected_logps must have the same shape as policy_chosen_logps",
        "shape",
    )
    yield Invalid(
        (x, x, x[:, None], x), {}, "reference_chosen_logps must have the same shape", "[N, 1]"
    )
    yield Invalid((x, x, x, x), {"beta": 0.0}, "beta must lie in", "beta = 0")
    yield Invalid((x, x, x, x), {"beta": -0.1}, "beta must lie in", "beta < 0")
    yield Invalid((x, x, x, x), {"form": "kto"}, "form must be one of")
    yield Invalid(
        (x, x, x, x),
        {"form": "ipo", "label_smoothing": 0.1},
        "label_smoothing applies to form='sigmoid'",
        "ipo smoothing",
    )
    yield Invalid((x, x, x, x), {"label_smoothing": 0.6}, "label_smoothing must lie in")
    yield Invalid(
        (x, x, np.array([1, 2, 3]), x),
        {},
        "reference_chosen_logps must have a real floating dtype",
        "int",
    )
    yield Invalid((x, x, x, x), {"reduction": "batchmean"}, "reduction must be one of")


def _pair_invalid(name: str, options: dict):
    x = -np.array([0.3, 0.4, 0.5])
    yield Invalid(
        (x, x[:2]), {}, "rejected_avg_logps must have the same shape as chosen_avg_logps", "shape"
    )
    yield Invalid(
        (np.array([1, 0, 0]), x), {}, "chosen_avg_logps must have a real floating dtype", "int"
    )
    for option, value in options.items():
        yield Invalid((x, x), {option: value}, f"{option} must lie in", f"{option}={value}")


def _orpo_invalid():
    yield from _pair_invalid("orpo", {"lambda_": -1.0})
    x = -np.array([0.3, 0.4, 0.5])
    yield Invalid(
        (x, -x),
        {},
        "rejected_avg_logps must hold log-probabilities, <= 0",
        "positive",
        value_check=True,
    )
    yield Invalid((x, x), {"include_nll": 1}, "include_nll must be True or False")


def _kto_invalid():
    x = -np.array([3.0, 4.0, 5.0, 6.0])
    good = np.array([1, 0, 1, 0])
    kl = np.array(0.1)
    yield Invalid(
        (x, x, np.array([1, 0, 2, 0]), kl),
        {},
        "desirable must hold booleans or 0 and 1",
        "label 2",
        value_check=True,
    )
    yield Invalid(
        (x, x, good[:3], kl), {}, "desirable must have the same shape as policy_logps", "shape"
    )
    yield Invalid((x, x[:3], good, kl), {}, "reference_logps must have the same shape", "ref")
    yield Invalid((x, x, good, np.zeros(3)), {}, "kl must be broadcastable", "kl shape")
    yield Invalid((x, x, good, np.array(0)), {}, "kl must have a real floating dtype", "kl int")
    yield Invalid((x, x, good, kl), {"beta": 0.0}, "beta must lie in", "beta = 0")
    yield Invalid((x, x, good, kl), {"undesirable_weight": -1.0}, "undesirable_weight must lie in")


CASES = [
    LossCase(
        "dpo",
        losskit.dpo,
        _dpo_ref,
        _dpo_samples,
        extremes=_dpo_extremes,
        invalid=_dpo_invalid,
        gaps=(
            Gap(
                "test_finite_at_extremes",
                "IPO squares the margin: (2e4)^2 overflows float16 (max 65504), as any "
                "squared loss does beyond a margin of about 250",
                dtypes=("float16",),
                samples=lambda s: s.kwargs.get("form") == "ipo",
            ),
        ),
    ),
    LossCase(
        "simpo",
        losskit.simpo,
        _simpo_ref,
        _simpo_samples,
        extremes=_simpo_extremes,
        invalid=lambda: _pair_invalid("simpo", {"beta": 0.0, "gamma": -0.5}),
    ),
    LossCase(
        "orpo",
        losskit.orpo,
        _orpo_ref,
        _orpo_samples,
        extremes=_orpo_extremes,
        invalid=_orpo_invalid,
    ),
    LossCase(
        "kto",
        losskit.kto,
        _kto_ref,
        _kto_samples,
        extremes=_kto_extremes,
        invalid=_kto_invalid,
    ),
]

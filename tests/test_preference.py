"""Preference losses beyond the table: signs, TRL's conventions, sequence_log_probs.

The table (``loss_table/preference.py``) checks values against the papers' equations on
every backend.  Here:

- **signs**: every loss falls when the policy's log-probability of the chosen (or
  desirable) response rises, and rises with the rejected one's (the bug of Liger PR
  #484 was a sign);
- **TRL's conventions**: each loss restated the way TRL's trainers parametrise it
  (``DPOTrainer``'s ``loss_type``, ``CPOTrainer``'s ``simpo_gamma``, ``ORPOTrainer``'s
  ``beta``, ``KTOTrainer``'s concatenated losses and clamped KL), written here in
  PyTorch from the formulas, gives losskit's value (docs/conventions.md, "Preference
  losses");
- :func:`losskit.sequence_log_probs` against PyTorch's cross-entropy with
  ``ignore_index``.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from array_backends import HAS_JAX

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(484)


def _t(x, grad=False):
    return torch.tensor(x, dtype=torch.float64, requires_grad=grad)


def _pairs(n=16):
    pc, pr = -RNG.uniform(5, 40, n), -RNG.uniform(5, 40, n)
    return pc, pr, pc + RNG.normal(size=n) * 3, pr + RNG.normal(size=n) * 3


def _averages(n=16):
    return -RNG.uniform(0.05, 3.0, n), -RNG.uniform(0.05, 3.0, n)


# --------------------------------------------------------------------------- signs

PAIRED = [
    ("dpo", {"form": "sigmoid"}),
    ("dpo", {"form": "sigmoid", "label_smoothing": 0.2}),
    ("dpo", {"form": "ipo"}),
    ("dpo", {"form": "hinge", "beta": 0.01}),  # 1 - beta h > 0: no flat part in the sample
    ("simpo", {}),
    ("orpo", {}),
    ("orpo", {"include_nll": False}),
]


@pytest.mark.parametrize("name, options", PAIRED, ids=lambda v: str(v))
def test_the_loss_falls_when_the_chosen_log_prob_rises(name, options):
    fn = getattr(losskit, name)
    if name == "dpo":
        arrays = list(_pairs())
        if options.get("form") == "ipo":
            # IPO regresses the margin to 1/(2 beta): below it, raising the chosen lowers it
            arrays[0] = arrays[1] + (arrays[2] - arrays[3]) + RNG.uniform(-5, 4, 16)
    else:
        arrays = list(_averages())
    chosen, rejected = _t(arrays[0], grad=True), _t(arrays[1], grad=True)
    rest = [_t(a) for a in arrays[2:]]
    loss = fn(chosen, rejected, *rest, reduction="sum", **options)
    d_chosen, d_rejected = torch.autograd.grad(loss, (chosen, rejected))
    assert (d_chosen < 0).all(), d_chosen
    assert (d_rejected > 0).all(), d_rejected
    if name != "orpo":
        # a function of the margin alone: the two gradients are opposite (ORPO's odds
        # and supervised term are not)
        torch.testing.assert_close(d_rejected, -d_chosen)
    # and the value itself, without autograd: a step up of the chosen log-probability
    step = np.full(16, 1e-3)
    before = fn(*arrays, reduction="none", **options)
    after = fn(arrays[0] + step, *arrays[1:], reduction="none", **options)
    assert np.all(after < before)


def test_kto_falls_with_desirable_and_rises_with_undesirable_log_probs():
    policy = -RNG.uniform(5, 40, 16)
    reference = policy + RNG.normal(size=16) * 3
    desirable = np.arange(16) % 2 == 0
    p = _t(policy, grad=True)
    loss = losskit.kto(p, _t(reference), torch.tensor(desirable), _t(0.4), reduction="sum")
    (grad,) = torch.autograd.grad(loss, (p,))
    assert (grad[desirable] < 0).all() and (grad[~desirable] > 0).all(), grad


def test_dpo_is_minus_log_sigmoid_of_the_reward_margin():
    """The DPO paper's eq. 7 with the implicit rewards beta log(pi / pi_ref) written out."""
    pc, pr, rc, rr = _pairs()
    beta = 0.3
    reward_chosen, reward_rejected = beta * (pc - rc), beta * (pr - rr)
    expected = -F.logsigmoid(_t(reward_chosen - reward_rejected)).numpy()
    got = losskit.dpo(pc, pr, rc, rr, beta=beta, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the rejected and chosen responses swapped: the loss of the other label
    swapped = losskit.dpo(pr, pc, rr, rc, beta=beta, reduction="none")
    np.testing.assert_allclose(swapped, -F.logsigmoid(_t(reward_rejected - reward_chosen)).numpy())


# ------------------------------------------------------------- TRL's conventions


def _trl_dpo(pc, pr, rc, rr, beta, loss_type, label_smoothing=0.0):
    """DPOTrainer's loss per pair: logits = (chosen - rejected) - (ref_chosen - ref_rejected)."""
    logits = (pc - pr) - (rc - rr)
    if loss_type == "sigmoid":
        return (
            -F.logsigmoid(beta * logits) * (1 - label_smoothing)
            - F.logsigmoid(-beta * logits) * label_smoothing
        )
    if loss_type == "ipo":
        return (logits - 1 / (2 * beta)) ** 2
    return torch.relu(1 - beta * logits)


@pytest.mark.parametrize(
    "loss_type, label_smoothing", [("sigmoid", 0.0), ("sigmoid", 0.1), ("ipo", 0.0), ("hinge", 0.0)]
)
def test_dpo_matches_trl_dpo_trainer(loss_type, label_smoothing):
    arrays = _pairs()
    if loss_type == "ipo":
        # TRL averages the log-probabilities over the response's tokens for IPO
        lengths = RNG.integers(5, 40, size=16)
        arrays = tuple(a / lengths for a in arrays)
    expected = _trl_dpo(*map(_t, arrays), 0.1, loss_type, label_smoothing).mean()
    got = losskit.dpo(*arrays, beta=0.1, form=loss_type, label_smoothing=label_smoothing)
    np.testing.assert_allclose(got, expected.item(), rtol=1e-12)


def test_simpo_gamma_is_trl_simpo_gamma():
    """CPOTrainer(loss_type="simpo") subtracts simpo_gamma / beta inside beta * (...)."""
    c, r = _averages()
    beta, simpo_gamma = 2.0, 0.7
    logits = (_t(c) - _t(r)) - simpo_gamma / beta
    expected = (-F.logsigmoid(beta * logits)).mean()
    np.testing.assert_allclose(losskit.simpo(c, r, beta=beta, gamma=simpo_gamma), expected.item())


def test_orpo_lambda_is_trl_orpo_beta_and_includes_the_nll():
    """ORPOTrainer: nll of the chosen response minus beta times the mean log-sigmoid of
    the log odds ratio; with average log-probabilities the nll is -mean(chosen)."""
    c, r = _averages()
    beta = 0.1
    tc, tr = _t(c), _t(r)
    log_odds = (tc - tr) - (torch.log1p(-torch.exp(tc)) - torch.log1p(-torch.exp(tr)))
    expected = -tc.mean() - beta * F.logsigmoid(log_odds).mean()
    np.testing.assert_allclose(losskit.orpo(c, r, lambda_=beta), expected.item(), rtol=1e-12)
    alone = losskit.orpo(c, r, lambda_=beta, include_nll=False)
    np.testing.assert_allclose(alone, (-beta * F.logsigmoid(log_odds)).mean().item(), rtol=1e-12)


def test_kto_matches_trl_kto_trainer():
    """KTOTrainer: the KL point is max(0, mean of policy - reference log-probs on mismatched
    pairs), detached; desirable and undesirable losses are weighted, concatenated and
    averaged."""
    n = 12
    policy, reference = -RNG.uniform(5, 40, n), -RNG.uniform(5, 40, n)
    desirable = RNG.integers(0, 2, n).astype(bool)
    kl_policy, kl_reference = -RNG.uniform(5, 40, n), -RNG.uniform(5, 40, n)
    beta, wd, wu = 0.1, 1.33, 1.0
    kl = (_t(kl_policy) - _t(kl_reference)).mean().clamp(min=0)
    ratios = _t(policy) - _t(reference)
    chosen = 1 - torch.sigmoid(beta * (ratios[desirable] - kl))
    rejected = 1 - torch.sigmoid(beta * (kl - ratios[~desirable]))
    expected = torch.cat((wd * chosen, wu * rejected)).mean()
    kl_estimate = np.mean(kl_policy - kl_reference)  # the caller's estimate, unclamped
    got = losskit.kto(
        policy,
        reference,
        desirable,
        np.asarray(kl_estimate),
        beta=beta,
        desirable_weight=wd,
        undesirable_weight=wu,
    )
    np.testing.assert_allclose(got, expected.item(), rtol=1e-12)


def test_kto_reference_point_carries_no_gradient():
    kl = _t(0.5, grad=True)
    policy = _t(-RNG.uniform(5, 40, 4), grad=True)
    loss = losskit.kto(policy, _t(-RNG.uniform(5, 40, 4)), torch.tensor([1, 0, 1, 0]), kl)
    assert kl.grad is None
    loss.backward()
    assert kl.grad is None or float(kl.grad) == 0.0
    assert policy.grad is not None


# -------------------------------------------------------------- sequence_log_probs


def _lm_batch(b=3, t=7, v=11, ignored=0.3):
    logits = RNG.normal(size=(b, t, v)) * 3
    labels = RNG.integers(0, v, size=(b, t))
    labels[RNG.uniform(size=(b, t)) < ignored] = -100
    labels[0, :2] = -100  # a prompt
    return logits, labels


def test_sequence_log_probs_is_minus_the_summed_token_cross_entropy():
    logits, labels = _lm_batch()
    nll = F.cross_entropy(
        _t(logits).reshape(-1, logits.shape[-1]),
        torch.from_numpy(labels).reshape(-1),
        ignore_index=-100,
        reduction="none",
    ).reshape(labels.shape)
    kept = torch.from_numpy(labels != -100)
    np.testing.assert_allclose(
        losskit.sequence_log_probs(logits, labels), (-nll.sum(-1)).numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(
        losskit.sequence_log_probs(logits, labels, average=True),
        (-nll.sum(-1) / kept.sum(-1)).numpy(),
        rtol=1e-12,
    )


def test_sequence_log_probs_of_an_all_ignored_sequence_is_zero_with_zero_gradient():
    logits, labels = _lm_batch()
    labels[1] = -100
    x = _t(logits, grad=True)
    out = losskit.sequence_log_probs(x, torch.from_numpy(labels), average=True)
    assert out[1].item() == 0.0
    (grad,) = torch.autograd.grad(out.sum(), (x,))
    assert torch.isfinite(grad).all() and (grad[1] == 0).all()


def test_sequence_log_probs_keeps_dtype_and_any_leading_axes():
    logits, labels = _lm_batch(b=4)
    out = losskit.sequence_log_probs(
        logits.reshape(2, 2, *logits.shape[1:]).astype(np.float32), labels.reshape(2, 2, -1)
    )
    assert out.shape == (2, 2) and out.dtype == np.float32
    np.testing.assert_allclose(
        out.reshape(-1), losskit.sequence_log_probs(logits, labels), rtol=1e-5
    )
    custom = np.where(labels == -100, 0, labels)
    custom[:, 0] = 5
    np.testing.assert_allclose(
        losskit.sequence_log_probs(logits, custom, ignore_index=5),
        losskit.sequence_log_probs(logits, np.where(custom == 5, -100, custom)),
    )


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
def test_sequence_log_probs_under_jax_jit():
    import jax
    import jax.numpy as jnp

    logits, labels = _lm_batch()
    jitted = jax.jit(lambda z, y: losskit.sequence_log_probs(z, y, average=True))
    np.testing.assert_allclose(
        jitted(jnp.asarray(logits), jnp.asarray(labels)),
        losskit.sequence_log_probs(logits, labels, average=True),
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    "logits, labels, kwargs, match",
    [
        (
            np.zeros((2, 3, 4)),
            np.zeros((2, 4), dtype=np.int64),
            {},
            "labels must have shape (2, 3)",
        ),
        (np.zeros((2, 3, 4)), np.zeros((2, 3)), {}, "labels must hold integer class labels"),
        (np.zeros((2, 3, 4), dtype=np.int64), np.zeros((2, 3), dtype=np.int64), {}, "logits must"),
        (np.zeros(4), np.zeros((), dtype=np.int64), {}, "logits must have a token axis"),
        (np.zeros((2, 3, 4)), np.full((2, 3), 4), {}, "labels must hold class labels in [0, 4)"),
        (
            np.zeros((2, 3, 4)),
            np.zeros((2, 3), dtype=np.int64),
            {"ignore_index": None},
            "ignore_index",
        ),
        (np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=np.int64), {"average": 1}, "average must be"),
    ],
)
def test_sequence_log_probs_names_the_bad_argument(logits, labels, kwargs, match):
    import re

    with pytest.raises(losskit.LossInputError, match=re.escape(match)):
        losskit.sequence_log_probs(logits, labels, **kwargs)


def test_dpo_from_logits_end_to_end_prefers_the_chosen_response():
    """sequence_log_probs into dpo: a gradient step on the chosen response's logits
    lowers the loss (the whole pipeline has the right sign)."""
    logits, labels = _lm_batch(b=4)
    chosen_logits = _t(logits[:2], grad=True)
    rejected_logits = _t(logits[2:])
    y = torch.from_numpy(labels)
    reference = losskit.sequence_log_probs(_t(logits), y).detach()

    def loss_of(z):
        return losskit.dpo(
            losskit.sequence_log_probs(z, y[:2]),
            losskit.sequence_log_probs(rejected_logits, y[2:]),
            reference[:2],
            reference[2:],
        )

    loss = loss_of(chosen_logits)
    (grad,) = torch.autograd.grad(loss, (chosen_logits,))
    assert loss_of(chosen_logits - 0.1 * grad).item() < loss.item()

"""Sequence losses: a label sequence read off a sequence of per-frame class scores.

Connectionist temporal classification (:func:`ctc`) sums the probability of every
alignment of a label sequence to the frames.  Its forward (alpha) recursion runs in
log space over time (:func:`ctc_alignment_nll`, a kernel a backend may compute faster:
PyTorch's own ``F.ctc_loss``), and its gradient comes from the backend's autodiff.

Layout, in one convention for every backend: **batch first**, ``pred`` of shape
``[B, T, C]`` (batch, time, classes), as Keras and optax.  ``torch.nn.CTCLoss`` takes
``[T, B, C]``: pass ``log_probs.transpose(0, 1)``.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import device

from losskit.core.inputs import require_classes
from losskit.core.kernels import kernel
from losskit.core.namespace import (
    autocast_to_float32,
    namespace,
    require_floating,
    require_integer,
    scan,
    stop_gradient,
)
from losskit.core.options import flag, integer
from losskit.core.primitives import log_softmax, logsumexp
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import DerivedArray, register_loss
from losskit.core.validation import check_range, check_shape, check_values
from losskit.errors import LossInputError

__all__ = ["ctc", "ctc_alignment_nll"]

Array = Any


# --------------------------------------------------------------------------- kernels


def _logsumexp_of(*terms: Array, xp: Any) -> Array:
    """log(sum_k exp(terms_k)), element by element, exact at -inf and with a finite gradient.

    -inf is log 0, an alignment state no path reaches.  With m = max_k terms_k (outside
    the gradient: it cancels exactly) replaced by 0 where it is -inf, no term computes
    -inf - (-inf).  Where every term is -inf the sum s is 0: the result is the constant
    -inf, and s is replaced by 1 under the log (double where), so the unused branch's
    derivative 1/s stays finite and the gradient there is 0, not NaN.
    """
    m = terms[0]
    for t in terms[1:]:
        m = xp.maximum(m, t)
    m = stop_gradient(m, xp)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    s = xp.exp(terms[0] - m)
    for t in terms[1:]:
        s = s + xp.exp(t - m)
    reached = s != 0  # (a NaN term makes s NaN, which propagates)
    log_s = xp.log(xp.where(reached, s, xp.ones_like(s)))
    return xp.where(reached, log_s + m, xp.full_like(s, -math.inf))


def _shift(x: Array, k: int, fill: Any, xp: Any) -> Array:
    """``x`` moved k states right along its last axis, ``fill`` coming in (slices within
    bounds only: the standard leaves out-of-bounds stops unspecified)."""
    size = x.shape[-1]
    if k >= size:
        return xp.full_like(x, fill)
    # full_like, not full: the batch size may be unknown while tracing (tf.function)
    return xp.concat([xp.full_like(x[..., :k], fill), x[..., : size - k]], axis=-1)


@kernel
def ctc_alignment_nll(
    log_probs: Array,
    target: Array,
    input_lengths: Array,
    target_lengths: Array,
    *,
    blank: int,
    xp: Any,
) -> Array:
    r"""-log p(target | log_probs) of each sequence, summed over alignments: shape ``[B]``.

    ``log_probs`` ``[B, T, C]`` (float32 or float64), ``target`` ``[B, S]`` integer
    labels (padding past ``target_lengths`` is ignored), lengths ``[B]``, all checked by
    the loss.  The result is inf where no alignment has a positive probability (a target
    too long for its input, or a -inf log-probability on every path), with a zero
    gradient there.

    The alpha recursion over the extended labels :math:`l' = (\varnothing, l_1,
    \varnothing, \dots, l_S, \varnothing)` of length :math:`L = 2S + 1`:

    .. math::
        \alpha_t(s) = \log p_t(l'_s) + \operatorname{LSE}\bigl(\alpha_{t-1}(s),
        \alpha_{t-1}(s-1), [\alpha_{t-1}(s-2)]_{l'_s \ne \varnothing,\, l'_s \ne l'_{s-2}}\bigr)

    from :math:`\alpha_0 = (\log p_0(\varnothing), \log p_0(l_1), -\infty, \dots)`, held
    fixed from :math:`t = T_b` on, and :math:`-\log p = -\operatorname{LSE}(\alpha_{T_b -
    1}(L_b - 1), \alpha_{T_b - 1}(L_b - 2))`.
    """
    frames = log_probs.shape[1]
    width = target.shape[1]
    dev = device(log_probs)
    index_dtype = xp.__array_namespace_info__().default_dtypes(device=dev)["indexing"]
    target = xp.astype(target, index_dtype)
    input_lengths = xp.astype(input_lengths, index_dtype)
    target_lengths = xp.astype(target_lengths, index_dtype)
    blank_label = xp.asarray(blank, dtype=index_dtype, device=dev)
    neg_inf = xp.asarray(-math.inf, dtype=log_probs.dtype, device=dev)

    # Extended labels [B, L]: blank, l_1, blank, ..., l_S, blank.  Padding past a target's
    # length becomes blank, so any padding value (0, -1, C) gathers safely.
    positions = xp.arange(width, dtype=index_dtype, device=dev)
    labels = xp.where(positions < target_lengths[:, None], target, blank_label)
    blanks = xp.full_like(labels, blank)
    # -1 for the batch, which may be unknown while tracing (tf.function)
    pairs = (
        labels if width == 0 else xp.reshape(xp.stack([blanks, labels], axis=-1), (-1, 2 * width))
    )
    last_blank = xp.full_like(target_lengths[:, None], blank)
    extended = xp.concat([pairs, last_blank], axis=-1)
    states = 2 * width + 1
    # A path may skip the blank between two labels that differ: into s from s - 2.
    skips = (extended != blank_label) & (extended != _shift(extended, 2, blank, xp))

    # log p_t(l'_s) for every frame and state: [B, T, L]
    index = extended[:, None, :] + xp.zeros_like(log_probs[:, :, :1], dtype=index_dtype)
    emit = xp.take_along_axis(log_probs, index, axis=2)

    # A sequence whose input or whose target is empty: probability 1 of the empty target
    # on no frames (and of blanks only), 0 of a non-empty target on no frames.
    empty_input = input_lengths == 0
    if frames == 0:
        return xp.where(target_lengths == 0, xp.zeros_like(neg_inf), -neg_inf)

    state = xp.arange(states, dtype=index_dtype, device=dev)
    alpha = xp.where(state[None, :] < 2, emit[:, 0, :], neg_inf)

    def step(alpha: Array, frame: tuple[Array, Array]) -> Array:
        emit_t, t = frame
        stay = alpha
        move = _shift(alpha, 1, -math.inf, xp)
        skip = xp.where(skips, _shift(alpha, 2, -math.inf, xp), neg_inf)
        new = _logsumexp_of(stay, move, skip, xp=xp) + emit_t
        # frames past a sequence's input length leave its alphas as they are
        return xp.where((t < input_lengths)[:, None], new, alpha)

    # Over frames 1..T-1: jax.lax.scan under JAX (one traced step), a loop elsewhere.
    frames_first = xp.permute_dims(emit[:, 1:, :], (1, 0, 2))  # [T - 1, B, L]
    times = xp.arange(1, frames, dtype=index_dtype, device=dev)
    alpha = scan(step, alpha, (frames_first, times), xp)

    # End in the last blank (state 2 S_b) or on the last label (state 2 S_b - 1).
    last = 2 * target_lengths
    end_blank = xp.take_along_axis(alpha, last[:, None], axis=1)[:, 0]
    previous = xp.take_along_axis(alpha, xp.clip(last - 1, 0, None)[:, None], axis=1)[:, 0]
    end_label = xp.where(target_lengths > 0, previous, neg_inf)
    nll = -_logsumexp_of(end_blank, end_label, xp=xp)
    no_frames = xp.where(target_lengths == 0, xp.zeros_like(nll), xp.full_like(nll, math.inf))
    return xp.where(empty_input, no_frames, nll)


# ---------------------------------------------------------------------- validation


def _ctc_inputs(
    pred: Array,
    target: Array,
    input_lengths: Array,
    target_lengths: Array,
    blank: int,
    from_logits: bool,
) -> tuple[Any, Array, Any]:
    """Check the four arrays; return the namespace, the per-frame log-probabilities (in
    float32 for 16-bit inputs) and the dtype of the result."""
    xp = namespace(
        pred=pred, target=target, input_lengths=input_lengths, target_lengths=target_lengths
    )
    require_floating(pred, "pred", xp)
    if pred.ndim != 3:
        raise LossInputError(
            f"pred must have shape [B, T, C] (batch, time, classes: batch first; transpose "
            f"PyTorch's [T, B, C] with pred.transpose(0, 1)); got shape {tuple(pred.shape)}"
        )
    batch, frames, classes = pred.shape
    require_classes(pred, 2)
    if blank >= classes:
        raise LossInputError(
            f"blank must be a class index in [0, {classes}) (pred has {classes} classes on its "
            f"last axis); got {blank}"
        )
    require_integer(target, "target", xp)
    for name, array in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if not xp.isdtype(array.dtype, "integral"):
            raise LossInputError(f"{name} must hold integer lengths; got dtype {array.dtype}")
    if target.ndim != 2 or target.shape[0] != batch:
        raise LossInputError(
            f"target must have shape [B, S] ({batch} padded label sequences, B from pred's "
            f"shape {tuple(pred.shape)}); got shape {tuple(target.shape)}"
        )
    width = target.shape[1]
    check_shape(input_lengths, (batch,), "input_lengths", "one length per sequence of pred")
    check_shape(target_lengths, (batch,), "target_lengths", "one length per sequence of target")
    check_range(
        input_lengths,
        0,
        frames,
        f"input_lengths must lie in [0, {frames}] (pred has {frames} frames); found a length "
        "outside",
        xp,
    )
    check_range(
        target_lengths,
        0,
        width,
        f"target_lengths must lie in [0, {width}] (target has {width} label positions); found "
        "a length outside",
        xp,
    )
    used = xp.arange(width, device=device(target))[None, :] < target_lengths[:, None]
    check_values(
        target,
        lambda y: xp.any(used & ((y < 0) | (y >= classes))),
        f"target must hold class labels in [0, {classes}) within target_lengths; found a "
        "label outside (padding past target_lengths may hold any value)",
    )
    check_values(
        target,
        lambda y: xp.any(used & (y == blank)),
        f"target must not contain the blank label {blank} within target_lengths; found one. "
        "Labels are the non-blank classes: shift them, or choose another blank",
    )
    pred = autocast_to_float32(pred, xp)
    dtype = pred.dtype
    # 16-bit inputs are computed in float32: the recursion adds T log-probabilities.
    if xp.finfo(pred.dtype).bits < 32:
        pred = xp.astype(pred, xp.float32)
    if from_logits:
        return xp, log_softmax(pred, axis=-1, xp=xp), dtype
    frame = xp.arange(frames, device=device(pred))[None, :] < input_lengths[:, None]
    tolerance = 1e-2 + classes * float(xp.finfo(dtype).eps)
    check_values(
        pred,
        # ~(|lse| <= tol) also catches NaN
        lambda p: xp.any(frame & ~(xp.abs(logsumexp(p, axis=-1, xp=xp)) <= tolerance)),
        "pred must hold log-probabilities (from_logits=False): logsumexp over the classes "
        f"must be 0 (within {tolerance:.2g}) at every frame before input_lengths; found a "
        "frame that is not, or NaN. Pass from_logits=True for raw scores",
    )
    return xp, pred, dtype


def _every_frame(pred: Array, target: Array, options: Any, xp: Any) -> Array:
    """Each sequence's input length when every frame counts: ``[B]``, all ``T``."""
    # a sum of ones, not a full(): the batch and T may be unknown while tracing
    return xp.sum(xp.ones_like(pred[..., 0], dtype=target.dtype), axis=1)


def _labels_before_padding(pred: Array, target: Array, options: Any, xp: Any) -> Array:
    """Each target's length when padding is the blank or negative (Keras pads with its
    blank, 0): the count of its other labels, which a target never holds."""
    labels = (target != options["blank"]) & (target >= 0)
    return xp.sum(xp.astype(labels, target.dtype), axis=1)


# ---------------------------------------------------------------------------- losses


@register_loss(
    tasks="sequence",
    reduction_note=(
        "For ctc, the loss is one value per sequence, and 'mean' first divides each by its "
        "target length (at least 1), as torch.nn.CTCLoss: sum_b w_b l_b / max(S_b, 1) / "
        "sum_b w_b; Keras's CTC mean is reduction='sum' divided by the batch size."
    ),
    derived_arrays={
        "input_lengths": DerivedArray(_every_frame, "every frame of y_pred counts"),
        "target_lengths": DerivedArray(
            _labels_before_padding,
            "y_true's labels other than the blank; pad y_true with the blank or -1",
        ),
    },
    summary=(
        "Connectionist temporal classification: -log of the summed probability of every "
        "alignment of a label sequence to the frames (speech, handwriting, OCR)."
    ),
    options=(
        integer(
            "blank",
            (
                "class index of the blank, in [0, C). Default 0, as torch.nn.CTCLoss, optax "
                "(blank_id) and Keras (mask_index); some models put it last (C - 1)."
            ),
            0,
        ),
        flag(
            "from_logits",
            (
                "True when pred holds raw per-frame scores (a log-softmax over classes is "
                "applied first, as optax and Keras do); False (default) for log-probabilities, "
                "as torch.nn.CTCLoss takes."
            ),
        ),
        flag(
            "zero_infinity",
            (
                "True: a sequence no alignment can produce (its target needs more frames than "
                "it has) counts 0, with a zero gradient, instead of inf. Default False."
            ),
        ),
    ),
)
def ctc(
    pred: Array,
    target: Array,
    input_lengths: Array,
    target_lengths: Array,
    *,
    blank: int = 0,
    from_logits: bool = False,
    zero_infinity: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
    normalizer: Any = None,
) -> Array:
    r"""Connectionist temporal classification (CTC) loss.

    .. math::
        \ell_b = -\log \sum_{\pi \in \mathcal B^{-1}(y_b)} \prod_{t=1}^{T_b} p_t(\pi_t),

    where :math:`\mathcal B` removes repeated labels and then blanks, so the sum runs over
    every path :math:`\pi` of :math:`T_b` frames that reads as the target :math:`y_b`.

    Layout (batch first, as Keras and optax): ``pred`` ``[B, T, C]``, ``target`` ``[B, S]``
    padded integer labels, ``input_lengths`` and ``target_lengths`` ``[B]``.
    ``torch.nn.CTCLoss`` takes ``[T, B, C]`` (``pred.transpose(0, 1)``); optax takes
    paddings (``input_lengths = T - logit_paddings.sum(1)``, likewise for the labels).

    Reductions, as PyTorch's: ``"none"`` is :math:`w_b \ell_b`, one value per sequence
    (what optax's ``ctc_loss`` and Keras's ``ctc`` return); ``"sum"`` is
    :math:`\sum_b w_b \ell_b`; ``"mean"`` divides each loss by its target length first
    (:math:`\max(S_b, 1)`), :math:`\sum_b w_b \ell_b / \max(S_b, 1) / \sum_b w_b`, as
    ``torch.nn.CTCLoss``; with ``normalizer`` :math:`N` it is
    :math:`\sum_b w_b \ell_b / \max(S_b, 1) / N` (each loss still divided by its target
    length; :math:`N` is then a number of sequences).  Keras's ``CTC`` loss (``"sum_over_batch_size"``) is the plain
    mean over sequences: ``ctc(..., reduction="sum") / B``.

    The recursion runs in log space, in float32 for 16-bit inputs (the result has the
    input's dtype); a log-probability of -inf is an exact 0, and an impossible sequence
    gives inf with a zero gradient (0 with ``zero_infinity=True``), never NaN.  The
    loss is never negative: rounding below 0 is clipped to 0, outside the gradient.

    Args:
        pred: per-frame log-probabilities (``from_logits=False``; each frame before
            ``input_lengths`` must sum to 1 in probability) or raw scores
            (``from_logits=True``), ``[B, T, C]``, real floating.  Frames past
            ``input_lengths`` are ignored.
        target: the label sequences, ``[B, S]`` integers in ``[0, C)`` other than
            ``blank``; positions past ``target_lengths`` are padding and may hold anything.
        input_lengths: frames of each sequence, ``[B]`` integers in ``[0, T]``.
        target_lengths: labels of each sequence, ``[B]`` integers in ``[0, S]``.
        blank: class index of the blank.
        from_logits: whether ``pred`` holds raw scores.
        zero_infinity: count impossible sequences as 0 instead of inf.
        {reduction}

    Returns:
        The reduced loss, or one value per sequence (``[B]``) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> log_probs = np.log(np.full((1, 2, 2), 0.5))  # two frames, blank and one label
        >>> round(float(losskit.ctc(log_probs, np.array([[1]]), np.array([2]), np.array([1]))), 4)
        0.2877
    """
    xp, log_probs, dtype = _ctc_inputs(
        pred, target, input_lengths, target_lengths, blank, from_logits
    )
    nll = ctc_alignment_nll(log_probs, target, input_lengths, target_lengths, blank=blank, xp=xp)
    if zero_infinity:
        # The kernel's gradient is 0 where nll is inf, so the 0 chosen here has one too.
        nll = xp.where(xp.isinf(nll), xp.zeros_like(nll), nll)
    # -log p >= 0 for p <= 1; rounding may put it a few ulps below: lift the value to 0,
    # outside the gradient (no inf - inf where the loss is inf).
    nll = nll + stop_gradient(xp.where(nll < 0, -nll, xp.zeros_like(nll)), xp)
    if reduction == "mean":
        count = xp.astype(xp.clip(target_lengths, 1, None), nll.dtype)
        nll = nll / count
    loss = xp.astype(nll, dtype) if nll.dtype != dtype else nll
    return reduce_loss(loss, reduction=reduction, weights=weights, normalizer=normalizer, xp=xp)

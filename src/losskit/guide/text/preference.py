"""The guide's text for the preference-optimisation losses: what each one does, when to
use it, where it fails, and its references.  Keyed by loss name; read by ``losskit
explain``, the advisor and the docs."""

from losskit.guide.entries import GuideEntry

_DPO = "Rafailov, R., Sharma, A., Mitchell, E., Ermon, S., Manning, C. D. & Finn, C. (2023). "
_DPO += "Direct Preference Optimization: Your Language Model is Secretly a Reward Model. NeurIPS."

ENTRIES: dict[str, GuideEntry] = {
    "dpo": GuideEntry(
        explanation=(
            "DPO fine-tunes a language model on pairs of responses to the same prompt, one "
            "preferred (chosen) and one not (rejected), without training a reward model or "
            "running reinforcement learning. The implicit reward of a response is beta times "
            "how much more likely the policy makes it than a frozen reference model; the loss "
            "is a logistic loss on the difference of the two rewards, so the policy learns to "
            "raise the chosen response relative to the rejected one while the reference keeps "
            "it close to where it started. The 'ipo' form replaces the logistic loss by a "
            "squared distance to a fixed margin 1/(2 beta), which stops the margin growing "
            "without bound when preferences are deterministic; 'hinge' stops at margin "
            "1/beta; label_smoothing (conservative DPO) assumes a share of labels are flipped."
        ),
        good_for=(
            "aligning a supervised fine-tuned model with pairwise human or AI preferences",
            "offline preference data where a reference model's log-probabilities can be "
            "precomputed once",
            "noisy preference labels, with label_smoothing (cDPO) or form='ipo'",
        ),
        not_good_for=(
            "data with single thumbs-up or thumbs-down labels and no pairs (use kto)",
            "training without the memory or compute for a reference model's forward pass "
            "(use simpo or orpo)",
            "long responses compared by summed log-probabilities with a small beta: the loss "
            "favours length; consider simpo's length normalisation",
        ),
        outlier_sensitivity=(
            "low: the sigmoid form grows at most linearly in the margin and saturates as the "
            "margin grows; 'ipo' is quadratic in the margin's distance to 1/(2 beta)"
        ),
        imbalance_sensitivity=(
            "not applicable: each example is a pair of one chosen and one rejected response"
        ),
        input_forms=("sequence log-probabilities",),
        references=(
            _DPO,
            (
                "Azar, M. G. et al. (2024). A General Theoretical Paradigm to Understand "
                "Learning from Human Preferences (IPO). AISTATS."
            ),
            (
                "Mitchell, E. (2023). A note on DPO with noisy preferences and relationship "
                "to IPO (conservative DPO)."
            ),
            (
                "Zhao, Y., Joshi, R., Liu, T., Khalman, M., Saleh, M. & Liu, P. J. (2023). "
                "SLiC-HF: Sequence Likelihood Calibration with Human Feedback. arXiv:2305.10425."
            ),
        ),
    ),
    "simpo": GuideEntry(
        explanation=(
            "SimPO is DPO without the reference model and with length normalisation: the "
            "implicit reward of a response is beta times its average token log-probability "
            "under the policy, the quantity that decoding actually ranks by, and the chosen "
            "response's reward must beat the rejected one's by a margin gamma. Dropping the "
            "reference halves the forward passes; averaging over tokens removes DPO's "
            "preference for longer responses."
        ),
        good_for=(
            "pairwise preference data when no reference model is wanted or affordable",
            "responses of very different lengths",
        ),
        not_good_for=(
            "summed log-probabilities: it expects averages (sequence_log_probs(..., "
            "average=True)) and its beta of about 2 is far too large for sums",
            "staying close to a reference model: nothing in the loss anchors the policy; "
            "a small learning rate and early stopping must",
        ),
        outlier_sensitivity=(
            "low: a logistic loss in the margin, at most linear, saturating as the margin grows"
        ),
        imbalance_sensitivity=(
            "not applicable: each example is a pair of one chosen and one rejected response"
        ),
        input_forms=("average log-probabilities",),
        references=(
            (
                "Meng, Y., Xia, M. & Chen, D. (2024). SimPO: Simple Preference Optimization "
                "with a Reference-Free Reward. NeurIPS."
            ),
        ),
    ),
    "orpo": GuideEntry(
        explanation=(
            "ORPO folds supervised fine-tuning and preference alignment into one stage and "
            "one model: the negative log-likelihood of the chosen response teaches the task, "
            "and a logistic penalty on the log of the odds ratio between the chosen and the "
            "rejected response, weighted by lambda, pushes the rejected response's odds down. "
            "Odds p / (1 - p) of the average token probability react strongly once a "
            "response becomes likely, which is where the supervised loss alone would also "
            "raise the rejected response. No reference model is needed."
        ),
        good_for=(
            "aligning a base model directly from preference pairs, skipping a separate "
            "supervised stage",
            "training with one model in memory",
        ),
        not_good_for=(
            "an already aligned model that must stay close to itself: no reference anchors it",
            "summed log-probabilities: the odds need average token probabilities in (0, 1)",
        ),
        outlier_sensitivity=(
            "medium: the supervised term grows linearly with the chosen response's negative "
            "log-likelihood; the odds-ratio term is a logistic loss"
        ),
        imbalance_sensitivity=(
            "not applicable: each example is a pair of one chosen and one rejected response"
        ),
        input_forms=("average log-probabilities",),
        references=(
            (
                "Hong, J., Lee, N. & Thorne, J. (2024). ORPO: Monolithic Preference "
                "Optimization without Reference Model. EMNLP."
            ),
        ),
    ),
    "kto": GuideEntry(
        explanation=(
            "KTO learns from single responses labelled desirable or undesirable, not from "
            "pairs. Its value function, after Kahneman and Tversky's prospect theory, "
            "compares each response's implicit reward (beta times the policy's log-ratio to "
            "the reference) with a reference point, an estimate of the KL divergence between "
            "policy and reference: desirable responses are pushed above it, undesirable ones "
            "below, each through a sigmoid that saturates, so a few extreme examples cannot "
            "dominate. Separate weights balance desirable and undesirable examples."
        ),
        good_for=(
            "binary feedback (thumbs up or down) with no pairs of responses to one prompt",
            "unbalanced feedback, with desirable_weight and undesirable_weight",
            "noisy labels: the saturating sigmoid bounds each example's pull",
        ),
        not_good_for=(
            "pairwise data where dpo applies directly",
            "batches too small to estimate the KL reference point from mismatched pairs",
        ),
        outlier_sensitivity=("low: each example's loss is a sigmoid, bounded by its weight"),
        imbalance_sensitivity=(
            "medium: the mean is over responses, so the more frequent kind dominates unless "
            "desirable_weight and undesirable_weight balance them"
        ),
        input_forms=("sequence log-probabilities", "binary labels"),
        references=(
            (
                "Ethayarajh, K., Xu, W., Muennighoff, N., Jurafsky, D. & Kiela, D. (2024). "
                "KTO: Model Alignment as Prospect Theoretic Optimization. ICML."
            ),
        ),
    ),
}

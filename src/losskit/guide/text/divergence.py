"""The guide's text for the divergences between class distributions and the distillation
loss: what each one does, when to use it, where it fails, and its references.  Keyed by
loss name; read by ``losskit explain``, the advisor and the docs."""

from losskit.guide.entries import GuideEntry
from losskit.guide.text._references import AGARWAL_2024, HINTON_2015

_LIN = (
    "Lin, J. (1991). Divergence Measures Based on the Shannon Entropy. IEEE Transactions on "
    "Information Theory 37(1), 145-151."
)

ENTRIES: dict[str, GuideEntry] = {
    "kl_divergence": GuideEntry(
        explanation=(
            "Measures how much information is lost when one distribution is used in place "
            "of the other. It is zero exactly when the two agree and positive otherwise. "
            "Forward, KL(target || pred), differs from categorical cross-entropy only by the "
            "entropy of the target, a constant, so the gradients are the same; its value, "
            "though, reads as a distance from the target (0 at a perfect match). It is "
            "mass-covering: the prediction is pushed to give probability wherever the target "
            "does. Reverse, KL(pred || target), is mode-seeking: the prediction may drop "
            "some of the target's classes but is punished hard for mass where the target "
            "has none, which suits a student too small to cover a teacher's every mode."
        ),
        good_for=(
            "matching a predicted distribution to a target distribution",
            "knowledge distillation from a teacher's soft predictions (forward, or reverse "
            "for a small student)",
            "regularising towards a prior distribution",
        ),
        not_good_for=(
            "hard one-hot labels: it equals cross-entropy there, which is simpler",
            "targets that are not distributions (they must sum to 1 along the class axis)",
            "symmetric comparisons: the two directions differ; jensen_shannon is symmetric",
        ),
        outlier_sensitivity=(
            "high: a near-zero predicted probability where the target has mass gives a very "
            "large loss (forward), and mass where the target has none does (reverse)"
        ),
        imbalance_sensitivity=(
            "medium: classes with little target mass contribute little, so rare classes are "
            "learnt slowly"
        ),
        input_forms=("probabilities", "logits", "soft labels", "log-probabilities"),
        references=(
            (
                "Kullback, S. & Leibler, R. A. (1951). On Information and Sufficiency. The "
                "Annals of Mathematical Statistics 22(1), 79-86."
            ),
            HINTON_2015,
        ),
    ),
    "jensen_shannon": GuideEntry(
        explanation=(
            "Compares both distributions with their mixture m = beta target + (1 - beta) "
            "pred. At beta = 0.5 it is the Jensen-Shannon divergence: symmetric, at most "
            "log 2, and finite even where one distribution gives a class zero probability "
            "and the other does not, where both KLs are infinite. beta moves it between "
            "the two KLs, which are its values at beta = 0 (forward) and 1 (reverse) by "
            "definition, as in GKD's distillation of language models; the mixture formula "
            "itself tends to 0 at both ends, so the loss jumps there."
        ),
        good_for=(
            "distillation where neither mass-covering nor mode-seeking is wanted outright "
            "(GKD uses beta between 0.1 and 0.9)",
            "comparing distributions that may have disjoint supports",
            "a bounded, symmetric consistency loss between two predictions (augmentations, "
            "AugMix's consistency term)",
        ),
        not_good_for=(
            "hard one-hot labels: cross-entropy trains faster",
            "training from far away: its gradient fades once the distributions barely "
            "overlap (the value saturates at log 2)",
        ),
        outlier_sensitivity=(
            "low: each example's loss is at most log 2 (0 < beta < 1), so a wrong target "
            "cannot dominate"
        ),
        imbalance_sensitivity=(
            "medium: classes with little mass in both distributions contribute little"
        ),
        input_forms=("probabilities", "logits", "soft labels", "log-probabilities"),
        references=(_LIN, AGARWAL_2024),
    ),
    "total_variation": GuideEntry(
        explanation=(
            "Half the L1 distance between the two distributions: the largest difference of "
            "the probability they give any set of classes. It lies in [0, 1], is symmetric, "
            "and its gradient keeps a constant size, so it neither explodes on confident "
            "mistakes as the KLs do nor fades as Jensen-Shannon does."
        ),
        good_for=(
            "a bounded distance between predicted and target distributions that is easy to "
            "read (the probability mass that must move)",
            "robust matching of soft labels that may be noisy",
        ),
        not_good_for=(
            "fast training: its gradient does not grow with the error, so it learns more "
            "slowly than cross-entropy or KL",
            "calibrated probabilities: it does not punish over-confidence the way a log loss does",
        ),
        outlier_sensitivity="low: each example's loss is at most 1",
        imbalance_sensitivity=(
            "medium: classes with little mass in both distributions contribute little"
        ),
        input_forms=("probabilities", "logits", "soft labels", "log-probabilities"),
        references=(
            (
                "Tsybakov, A. B. (2009). Introduction to Nonparametric Estimation, section "
                "2.4. Springer."
            ),
        ),
    ),
    "distillation": GuideEntry(
        explanation=(
            "Trains a student network to reproduce a teacher's predictions: both logits are "
            "divided by a temperature T, which softens the distributions so the teacher's "
            "small probabilities (which wrong classes look alike) carry signal, and the "
            "divergence between them is multiplied by T^2, which keeps the gradient's size "
            "independent of T. The divergence is KL(teacher || student) by default, as in "
            "Hinton et al.; beta = 1 gives the reverse KL and values in between the "
            "generalised Jensen-Shannon divergence. The hard labels, when given, leave out "
            "positions equal to ignore_index (padding tokens), and let one composite add "
            "the hard-label cross-entropy: combine({'distillation': 0.9, "
            "'sparse_categorical_cross_entropy': 0.1})."
        ),
        good_for=(
            "compressing a large model into a smaller one (classifiers, language models)",
            "training on unlabelled data labelled by a teacher",
            "ensembles distilled into one network",
        ),
        not_good_for=(
            "a teacher no better than the student: the student learns the teacher's mistakes",
            "teachers whose logits are unavailable (only top-1 predictions): use those as "
            "hard labels with cross-entropy",
            "temperatures far from the teacher's confidence: too low and the soft targets "
            "are one-hot, too high and they are uniform",
        ),
        outlier_sensitivity=(
            "medium: a confidently wrong teacher pulls the student as hard as a right one; "
            "a small weight on the hard-label loss anchors the student to the labels"
        ),
        imbalance_sensitivity=(
            "medium: the student inherits the teacher's bias towards frequent classes"
        ),
        input_forms=("logits", "teacher logits", "integer labels"),
        references=(HINTON_2015, AGARWAL_2024),
    ),
}

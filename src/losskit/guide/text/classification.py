"""The guide's text for the classification losses: what each one does, when to use it, where it
fails, and its references.  Keyed by loss name; read by ``losskit explain``, the advisor
and the docs."""

from losskit.guide.entries import GuideEntry
from losskit.guide.text._references import (
    BISHOP_2006,
    GOODFELLOW_2016,
    HE_2009,
    LIN_2017,
    SZEGEDY_2016,
)

ENTRIES: dict[str, GuideEntry] = {
    "binary_cross_entropy": GuideEntry(
        explanation=(
            "The standard loss for yes/no questions. The model gives a probability p that the "
            "answer is yes, and the loss is -log p when the answer is yes and -log(1 - p) "
            "when it is no: being confidently wrong is very expensive, being confidently "
            "right is almost free. Each output is treated on its own, so it also serves "
            "multi-label problems where several labels can be true at once. Pass logits with "
            "from_logits=True: it is exact for any logit."
        ),
        good_for=(
            "binary classification",
            "multi-label classification: one independent yes/no per label",
            "calibrated probabilities: it is a proper scoring rule",
            "rare positives, with pos_weight set to the ratio of negatives to positives",
        ),
        not_good_for=(
            ("mutually exclusive classes (use categorical or sparse categorical cross-entropy)"),
            "heavy imbalance without pos_weight: the many easy negatives dominate the mean",
            "noisy labels: a mislabelled example with a confident prediction costs a lot",
        ),
        outlier_sensitivity=(
            "high: the loss of a confidently wrong prediction is unbounded (-log p), so "
            "mislabelled examples pull hard on the model"
        ),
        imbalance_sensitivity=(
            "high: with rare positives the mean is dominated by negatives; set pos_weight to "
            "negatives / positives, or use binary_focal"
        ),
        input_forms=(
            "probabilities",
            "logits",
            "binary labels",
            "soft labels",
        ),
        references=(
            BISHOP_2006,
            GOODFELLOW_2016,
            SZEGEDY_2016,
            HE_2009,
        ),
    ),
    "binary_focal": GuideEntry(
        explanation=(
            "Binary cross-entropy multiplied by (1 - p_t)^gamma, where p_t is the probability "
            "the model gives to the correct answer. Examples the model already gets right "
            "with confidence (p_t near 1) are scaled down to almost nothing, so training "
            "concentrates on the hard, misclassified ones. It was designed for object "
            "detectors, where a few objects hide among many thousands of easy background "
            "boxes. alpha additionally weights positives against negatives."
        ),
        good_for=(
            "extreme class imbalance with many easy negatives (dense detection, rare events)",
            "multi-label problems where most labels are easy negatives",
            "focusing training on hard examples",
        ),
        not_good_for=(
            "calibrated probabilities: the down-weighting makes predictions under-confident",
            (
                "noisy labels: the hardest examples may simply be mislabelled, and focal loss "
                "emphasises them"
            ),
            "balanced data, where plain cross-entropy is as good and simpler",
        ),
        outlier_sensitivity=(
            "high: misclassified examples keep almost their full cross-entropy weight, and "
            "mislabelled examples are exactly those"
        ),
        imbalance_sensitivity=(
            "low: easy examples of the majority class contribute little, and alpha can weight "
            "the classes further"
        ),
        input_forms=(
            "probabilities",
            "logits",
            "binary labels",
            "soft labels",
        ),
        references=(LIN_2017,),
    ),
    "categorical_cross_entropy": GuideEntry(
        explanation=(
            "The standard loss when each example belongs to exactly one of C classes. The "
            "model gives a probability to every class (a softmax of its scores) and the loss "
            "is minus the log of the probability given to the true class. The target is a "
            "one-hot vector or a probability distribution over the classes (soft labels, as "
            "in distillation or mixup). For integer labels use "
            "sparse_categorical_cross_entropy, which avoids building the one-hot array."
        ),
        good_for=(
            "multi-class classification with one-hot or soft targets",
            "knowledge distillation and mixup, whose targets are distributions",
            "calibrated class probabilities",
        ),
        not_good_for=(
            ("multi-label problems, where several classes can be true (use binary_cross_entropy)"),
            "integer labels (use sparse_categorical_cross_entropy: no one-hot needed)",
            "strong imbalance without class_weights: the common classes dominate",
        ),
        outlier_sensitivity=(
            "high: a confidently wrong prediction has an unbounded loss, so mislabelled "
            "examples weigh heavily; label_smoothing softens this"
        ),
        imbalance_sensitivity=(
            "high: every example counts equally, so frequent classes dominate the mean; set "
            "class_weights or use categorical_focal"
        ),
        input_forms=(
            "probabilities",
            "logits",
            "one-hot labels",
            "soft labels",
        ),
        references=(
            BISHOP_2006,
            GOODFELLOW_2016,
            SZEGEDY_2016,
        ),
    ),
    "sparse_categorical_cross_entropy": GuideEntry(
        explanation=(
            "Cross-entropy for one-of-C classification with the labels given as integers "
            "0..C-1. It reads the log-probability of the true class directly instead of "
            "multiplying by a one-hot vector, which saves memory when C is large (language "
            "models, segmentation maps). ignore_index leaves out positions such as padding "
            "tokens or unlabelled pixels, and the mean is taken over the positions that "
            "remain. For language models, z_loss adds PaLM's penalty on the squared "
            "log-sum-exp and softcap bounds the logits with c tanh(x / c) as Gemma 2 does; "
            "return_lse=True also returns the log-sum-exp, to log it."
        ),
        good_for=(
            "multi-class classification with integer labels",
            "many classes: no one-hot array is built",
            ("per-pixel and per-token labels with padding or unlabelled positions (ignore_index)"),
        ),
        not_good_for=(
            "soft or mixed targets (use categorical_cross_entropy)",
            "multi-label problems (use binary_cross_entropy)",
            "strong imbalance without class_weights: the common classes dominate",
        ),
        outlier_sensitivity=(
            "high: a confidently wrong prediction has an unbounded loss; label_smoothing "
            "softens this"
        ),
        imbalance_sensitivity=(
            "high: frequent classes dominate the mean; set class_weights (the mean is then "
            "normalised by the weights of the true classes) or use sparse_categorical_focal"
        ),
        input_forms=(
            "probabilities",
            "logits",
            "integer labels",
        ),
        references=(
            BISHOP_2006,
            GOODFELLOW_2016,
            SZEGEDY_2016,
            (
                "Chowdhery, A. et al. (2022). PaLM: Scaling Language Modeling with Pathways. "
                "arXiv:2204.02311 (z-loss)."
            ),
            (
                "Gemma Team (2024). Gemma 2: Improving Open Language Models at a Practical "
                "Size. arXiv:2408.00118 (logit soft-capping)."
            ),
        ),
    ),
    "categorical_focal": GuideEntry(
        explanation=(
            "Multi-class cross-entropy multiplied by (1 - p)^gamma, where p is the "
            "probability given to the true class. Well-classified examples fade out of the "
            "loss, so the model spends its capacity on the hard and rare ones. alpha is an "
            "optional weight per class. Targets are one-hot vectors or class probabilities; "
            "for integer labels use sparse_categorical_focal."
        ),
        good_for=(
            "multi-class problems with many easy examples and a few hard or rare ones",
            "long-tailed class distributions, together with per-class alpha",
        ),
        not_good_for=(
            "calibrated probabilities: predictions come out under-confident",
            "noisy labels: it emphasises the examples that look wrong",
            "integer labels (use sparse_categorical_focal)",
        ),
        outlier_sensitivity=(
            "high: misclassified examples keep nearly their full cross-entropy, mislabelled "
            "examples included"
        ),
        imbalance_sensitivity=(
            "low: easy examples of frequent classes contribute little, and alpha weights the "
            "classes"
        ),
        input_forms=(
            "probabilities",
            "logits",
            "one-hot labels",
            "soft labels",
        ),
        references=(
            LIN_2017,
            HE_2009,
        ),
    ),
    "sparse_categorical_focal": GuideEntry(
        explanation=(
            "The focal loss for one-of-C classification with integer labels: minus (1 - "
            "p)^gamma log p for the probability p of the true class. Confident correct "
            "predictions are scaled down so training concentrates on hard examples. alpha "
            "weights each class, and ignore_index leaves out padding or unlabelled positions."
        ),
        good_for=(
            "imbalanced multi-class problems with integer labels",
            "dense per-pixel classification with many easy background pixels",
        ),
        not_good_for=(
            "calibrated probabilities: predictions come out under-confident",
            "noisy labels: it emphasises the examples that look wrong",
            "soft targets (use categorical_focal)",
        ),
        outlier_sensitivity=(
            "high: misclassified examples keep nearly their full cross-entropy, mislabelled "
            "examples included"
        ),
        imbalance_sensitivity=(
            "low: easy examples of frequent classes contribute little, and alpha weights the "
            "classes"
        ),
        input_forms=(
            "probabilities",
            "logits",
            "integer labels",
        ),
        references=(
            LIN_2017,
            HE_2009,
        ),
    ),
    "hinge": GuideEntry(
        explanation=(
            "The support vector machine's loss. Labels are -1 or +1 and the model outputs a "
            "score; the loss is zero once the score has the right sign with a margin of at "
            "least 1, and grows linearly as the score falls short. Examples beyond the margin "
            "stop contributing at all, so the model ignores easy points and cares only about "
            "those near or on the wrong side of the boundary."
        ),
        good_for=(
            "maximum-margin binary classifiers (linear SVMs)",
            "decisions where only the sign matters, not a probability",
            "ignoring examples that are already classified with a margin",
        ),
        not_good_for=(
            "probability estimates: the scores are not calibrated",
            "0/1 labels: convert them to -1/+1 first",
            ("smooth optimisation: the loss has a kink at the margin (squared_hinge is smooth)"),
        ),
        outlier_sensitivity=(
            "medium: a badly wrong point adds a loss linear in its score, with a bounded gradient"
        ),
        imbalance_sensitivity=(
            "high: the boundary shifts towards the minority class unless examples are "
            "weighted (weights)"
        ),
        input_forms=(
            "scores",
            "sign labels",
        ),
        references=(
            (
                "Cortes, C. & Vapnik, V. (1995). Support-Vector Networks. Machine Learning "
                "20(3), 273-297."
            ),
            (
                "Rosasco, L., De Vito, E., Caponnetto, A., Piana, M. & Verri, A. (2004). Are "
                "Loss Functions All the Same? Neural Computation 16(5), 1063-1076."
            ),
        ),
    ),
    "squared_hinge": GuideEntry(
        explanation=(
            "The hinge loss squared: zero for scores on the right side of the margin, and "
            "growing quadratically as they fall short. Squaring makes the loss differentiable "
            "at the margin and punishes large violations harder than the plain hinge. It is "
            "the loss of the L2 support vector machine."
        ),
        good_for=(
            "margin classifiers trained by gradient descent: smooth at the margin",
            "replacing a softmax output layer with a linear SVM objective",
        ),
        not_good_for=(
            "probability estimates: the scores are not calibrated",
            "data with mislabelled points: a large violation costs its square",
            "0/1 labels: convert them to -1/+1 first",
        ),
        outlier_sensitivity="high: a badly wrong point costs the square of its margin violation",
        imbalance_sensitivity=(
            "high: the boundary shifts towards the minority class unless examples are "
            "weighted (weights)"
        ),
        input_forms=(
            "scores",
            "sign labels",
        ),
        references=(
            (
                "Mangasarian, O. L. & Musicant, D. R. (2001). Lagrangian Support Vector "
                "Machines. Journal of Machine Learning Research 1, 161-177."
            ),
            (
                "Tang, Y. (2013). Deep Learning using Linear Support Vector Machines. "
                "arXiv:1306.0239."
            ),
        ),
    ),
    "nll": GuideEntry(
        explanation=(
            "The negative log-likelihood of the true class, read from log-probabilities the "
            "model has already computed: -log p of the labelled class, nothing more. It is "
            "cross-entropy with the log-softmax taken out, for models whose last layer is a "
            "log-softmax (or any model that outputs log-likelihoods), and it follows PyTorch's "
            "NLLLoss: class weights, ignore_index, and a mean divided by the kept labels' "
            "weights."
        ),
        good_for=(
            "models that end in a log-softmax, or output log-likelihoods of another kind",
            "porting PyTorch code that uses NLLLoss",
            "sequence models with padding (ignore_index)",
        ),
        not_good_for=(
            "logits or probabilities: use sparse_categorical_cross_entropy, which normalises "
            "them (nll refuses positive values, the sign of that mistake)",
            "noisy labels: a confidently wrong label costs without bound",
        ),
        outlier_sensitivity=(
            "high: -log p is unbounded, so a mislabelled example with a confident prediction "
            "pulls hard"
        ),
        imbalance_sensitivity=(
            "high: frequent classes dominate the mean; class_weights (inverse frequency) "
            "rebalance it"
        ),
        input_forms=("log-probability predictions", "integer labels"),
        references=(
            (
                "Bishop, C. M. (2006). Pattern Recognition and Machine Learning, Springer, "
                "section 4.3.4 (multiclass logistic regression)."
            ),
            "PyTorch documentation: torch.nn.NLLLoss.",
        ),
    ),
    "multiclass_hinge": GuideEntry(
        explanation=(
            "The support vector machine's loss for several classes. The model gives each "
            "class a score, and the true class must beat the others by a margin (1 by "
            "default). The Crammer-Singer form charges only the worst offender, the class "
            "that comes closest to or beats the true one; the Weston-Watkins form charges "
            "every class that violates the margin, summed (divided by the number of classes, "
            "as PyTorch does). Once the margin holds the loss is exactly zero, so easy "
            "examples stop contributing."
        ),
        good_for=(
            "maximum-margin multi-class classifiers on class scores",
            "decisions where only the top class matters, not its probability",
            "ports of PyTorch's MultiMarginLoss, optax's multiclass_hinge_loss or Keras's "
            "CategoricalHinge",
        ),
        not_good_for=(
            "probability estimates: the scores are not calibrated",
            "smooth optimisation: the loss has a kink at the margin (squared=True is smooth)",
            "many classes with Weston-Watkins: the division by C shrinks the loss and its "
            "gradient as C grows",
        ),
        outlier_sensitivity=(
            "medium: a badly wrong example adds a loss linear in its score gap (squared: "
            "quadratic), with a bounded gradient per class"
        ),
        imbalance_sensitivity=(
            "high: frequent classes dominate the mean; weight samples by their class's "
            "inverse frequency through weights"
        ),
        input_forms=("scores", "integer labels"),
        references=(
            (
                "Crammer, K. & Singer, Y. (2001). On the Algorithmic Implementation of "
                "Multiclass Kernel-based Vector Machines. Journal of Machine Learning Research "
                "2, 265-292."
            ),
            (
                "Weston, J. & Watkins, C. (1999). Support Vector Machines for Multi-Class "
                "Pattern Recognition. ESANN."
            ),
        ),
    ),
    "asymmetric_focal": GuideEntry(
        explanation=(
            "A focal loss for multi-label problems, where each image has a few positive "
            "labels among many negatives. Positives and negatives get their own focusing "
            "exponent: the negatives' is larger (4 against 0 by default), so the flood of easy "
            "negatives is played down while the rare positives keep their full gradient. A "
            "probability margin (clip) shifts the negatives' probabilities down, so a negative "
            "predicted below it costs nothing at all, and a negative predicted very high, "
            "often a missing label, is played down too. Known as ASL."
        ),
        good_for=(
            "multi-label classification with many labels and few positives per sample "
            "(image tagging, MS-COCO, Open Images)",
            "datasets with missing positive labels, which appear as confident negatives",
            "rare positives without computing pos_weight from counts",
        ),
        not_good_for=(
            "calibrated probabilities: the asymmetric down-weighting biases them",
            "mutually exclusive classes (use a softmax loss)",
            "balanced labels: the asymmetry has nothing to correct (binary_cross_entropy)",
        ),
        outlier_sensitivity=(
            "medium: the margin and gamma_neg soften confident negatives (often missing "
            "labels), but a positive predicted near 0 still costs -log p"
        ),
        imbalance_sensitivity=(
            "low: it is designed for positive-negative imbalance; gamma_neg and clip set how "
            "strongly negatives are discounted"
        ),
        input_forms=("probabilities", "logits", "binary labels", "soft labels"),
        references=(
            (
                "Ridnik, T., Ben-Baruch, E., Zamir, N., Noy, A., Friedman, I., Protter, M. & "
                "Zelnik-Manor, L. (2021). Asymmetric Loss For Multi-Label Classification. ICCV."
            ),
            (
                "Lin, T.-Y., Goyal, P., Girshick, R., He, K. & Dollar, P. (2017). Focal Loss "
                "for Dense Object Detection. ICCV."
            ),
        ),
    ),
    "generalized_cross_entropy": GuideEntry(
        explanation=(
            "A loss for training on labels that are partly wrong. It is (1 - p^q) / q, where p "
            "is the probability given to the labelled class. As q goes to 0 it becomes "
            "cross-entropy, which learns fast but lets a wrong label with a confident "
            "prediction pull without limit; at q = 1 it is 1 - p, bounded by 1, which barely "
            "moves for mislabelled examples but learns slowly. q = 0.7, the paper's choice, "
            "keeps most of the robustness and most of the speed."
        ),
        good_for=(
            "classification with noisy labels (crowd-sourced, weakly or automatically labelled)",
            "a drop-in replacement for cross-entropy when labels are known to be unreliable",
        ),
        not_good_for=(
            "clean labels: cross-entropy trains faster and reaches as good a model",
            "many classes with q near 1: the gradients of hard examples vanish and training "
            "underfits",
            "calibrated probabilities: it is not a proper scoring rule for q > 0",
        ),
        outlier_sensitivity=(
            "low: the loss is bounded by 1/q, so a mislabelled example adds at most that, "
            "and its gradient shrinks as p goes to 0"
        ),
        imbalance_sensitivity=(
            "high: like cross-entropy, frequent classes dominate the mean; reweight samples "
            "through weights"
        ),
        input_forms=("probabilities", "logits", "integer labels"),
        references=(
            (
                "Zhang, Z. & Sabuncu, M. R. (2018). Generalized Cross Entropy Loss for Training "
                "Deep Neural Networks with Noisy Labels. NeurIPS."
            ),
            (
                "Ghosh, A., Kumar, H. & Sastry, P. S. (2017). Robust Loss Functions under Label "
                "Noise for Deep Neural Networks. AAAI."
            ),
        ),
    ),
}

"""The guide's text for the classification losses: what each one does, when to use it, where it
fails, and its references.  Keyed by loss name; read by ``losskit explain``, the advisor
and the docs."""

from losskit.guide.entries import GuideEntry

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
            (
                "Bishop, C. M. (2006). Pattern Recognition and Machine Learning, Springer, "
                "section 4.3 (logistic and softmax regression)."
            ),
            (
                "Goodfellow, I., Bengio, Y. & Courville, A. (2016). Deep Learning, MIT Press, "
                "section 6.2.2."
            ),
            (
                "Szegedy, C., Vanhoucke, V., Ioffe, S., Shlens, J. & Wojna, Z. (2016). "
                "Rethinking the Inception Architecture for Computer Vision. CVPR (label "
                "smoothing)."
            ),
            (
                "He, H. & Garcia, E. A. (2009). Learning from Imbalanced Data. IEEE "
                "Transactions on Knowledge and Data Engineering 21(9), 1263-1284."
            ),
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
        references=(
            (
                "Lin, T.-Y., Goyal, P., Girshick, R., He, K. & Dollar, P. (2017). Focal Loss "
                "for Dense Object Detection. IEEE International Conference on Computer Vision "
                "(ICCV)."
            ),
        ),
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
            (
                "Bishop, C. M. (2006). Pattern Recognition and Machine Learning, Springer, "
                "section 4.3 (logistic and softmax regression)."
            ),
            (
                "Goodfellow, I., Bengio, Y. & Courville, A. (2016). Deep Learning, MIT Press, "
                "section 6.2.2."
            ),
            (
                "Szegedy, C., Vanhoucke, V., Ioffe, S., Shlens, J. & Wojna, Z. (2016). "
                "Rethinking the Inception Architecture for Computer Vision. CVPR (label "
                "smoothing)."
            ),
        ),
    ),
    "sparse_categorical_cross_entropy": GuideEntry(
        explanation=(
            "Cross-entropy for one-of-C classification with the labels given as integers "
            "0..C-1. It reads the log-probability of the true class directly instead of "
            "multiplying by a one-hot vector, which saves memory when C is large (language "
            "models, segmentation maps). ignore_index leaves out positions such as padding "
            "tokens or unlabelled pixels, and the mean is taken over the positions that "
            "remain."
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
            (
                "Bishop, C. M. (2006). Pattern Recognition and Machine Learning, Springer, "
                "section 4.3 (logistic and softmax regression)."
            ),
            (
                "Goodfellow, I., Bengio, Y. & Courville, A. (2016). Deep Learning, MIT Press, "
                "section 6.2.2."
            ),
            (
                "Szegedy, C., Vanhoucke, V., Ioffe, S., Shlens, J. & Wojna, Z. (2016). "
                "Rethinking the Inception Architecture for Computer Vision. CVPR (label "
                "smoothing)."
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
            (
                "Lin, T.-Y., Goyal, P., Girshick, R., He, K. & Dollar, P. (2017). Focal Loss "
                "for Dense Object Detection. IEEE International Conference on Computer Vision "
                "(ICCV)."
            ),
            (
                "He, H. & Garcia, E. A. (2009). Learning from Imbalanced Data. IEEE "
                "Transactions on Knowledge and Data Engineering 21(9), 1263-1284."
            ),
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
            (
                "Lin, T.-Y., Goyal, P., Girshick, R., He, K. & Dollar, P. (2017). Focal Loss "
                "for Dense Object Detection. IEEE International Conference on Computer Vision "
                "(ICCV)."
            ),
            (
                "He, H. & Garcia, E. A. (2009). Learning from Imbalanced Data. IEEE "
                "Transactions on Knowledge and Data Engineering 21(9), 1263-1284."
            ),
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
}

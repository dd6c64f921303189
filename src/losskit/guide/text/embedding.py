"""The guide's text for the embedding losses (contrastive, metric learning, additive-margin
softmax): what each one does, when to use it, where it fails, and its references.  Keyed
by loss name; read by ``losskit explain``, the advisor and the docs."""

from losskit.guide.entries import GuideEntry
from losskit.guide.text._references import HADSELL_2006

_BATCH_NEGATIVES = (
    "small batches: every other example of the batch is a negative, and few negatives "
    "make an easy, weak signal"
)
_CHEN = (
    "Chen, T., Kornblith, S., Norouzi, M. & Hinton, G. (2020). A Simple Framework for "
    "Contrastive Learning of Visual Representations. ICML."
)
_KHOSLA = (
    "Khosla, P., Teterwak, P., Wang, C., Sarna, A., Tian, Y., Isola, P., Maschinot, A., "
    "Liu, C. & Krishnan, D. (2020). Supervised Contrastive Learning. NeurIPS."
)

ENTRIES: dict[str, GuideEntry] = {
    "info_nce": GuideEntry(
        explanation=(
            "Each query has one matching key (another view of the same image, the caption of "
            "an image) and must pick it out of all the keys of the batch: a softmax "
            "classification whose classes are the keys. Pulling matching pairs together and "
            "pushing everything else apart learns embeddings whose cosine similarity measures "
            "relatedness. The symmetric form, which also makes each key pick its query, is "
            "CLIP's loss for image-text training."
        ),
        good_for=(
            "self-supervised learning from two views or augmentations of each example",
            "two-tower models matching two modalities (CLIP: images and captions; queries and documents)",
            "large batches or a queue of negatives (MoCo), which make the task harder and the embeddings better",
        ),
        not_good_for=(
            _BATCH_NEGATIVES,
            (
                "batches holding several examples of the same class or near-duplicates: they "
                "are pushed apart as negatives; with labels use supervised_contrastive"
            ),
        ),
        outlier_sensitivity=(
            "medium: a mismatched pair (a wrong caption) costs about log(batch size) and its "
            "gradient is bounded, but with a low temperature it dominates its row"
        ),
        imbalance_sensitivity=(
            "medium: frequent concepts fill the batch with false negatives of each other"
        ),
        input_forms=("embeddings", "paired views"),
        references=(
            (
                "van den Oord, A., Li, Y. & Vinyals, O. (2018). Representation Learning with "
                "Contrastive Predictive Coding. arXiv:1807.03748."
            ),
            (
                "He, K., Fan, H., Wu, Y., Xie, S. & Girshick, R. (2020). Momentum Contrast for "
                "Unsupervised Visual Representation Learning. CVPR."
            ),
            (
                "Radford, A. et al. (2021). Learning Transferable Visual Models From Natural "
                "Language Supervision. ICML."
            ),
        ),
    ),
    "nt_xent": GuideEntry(
        explanation=(
            "SimCLR's loss: the batch holds several embeddings per example (augmented views), "
            "marked by equal labels. Every pair of views of the same example is scored like a "
            "softmax classification of the positive against the anchor's negatives, the "
            "embeddings with other labels. Unlike InfoNCE, both views are anchors and "
            "negatives come from the whole batch."
        ),
        good_for=(
            "SimCLR-style self-supervised learning: labels = the index of the source image",
            "matching optax's ntxent and pytorch-metric-learning's NTXentLoss",
        ),
        not_good_for=(
            _BATCH_NEGATIVES,
            (
                "class labels with many examples per class: supervised_contrastive treats all "
                "of them as one group"
            ),
        ),
        outlier_sensitivity=(
            "medium: a wrongly grouped pair costs about log(batch size), with a bounded gradient"
        ),
        imbalance_sensitivity=(
            "medium: an anchor's negatives are drawn from the batch, so frequent classes "
            "dominate them"
        ),
        input_forms=("embeddings", "group labels"),
        references=(
            _CHEN,
            (
                "Sohn, K. (2016). Improved Deep Metric Learning with Multi-class N-pair Loss "
                "Objective. NeurIPS."
            ),
        ),
    ),
    "supervised_contrastive": GuideEntry(
        explanation=(
            "The contrastive loss with class labels: every other embedding of the anchor's "
            "class is a positive, everything else in the batch a negative. Each anchor "
            "averages the log-probability of its positives under a softmax over the whole "
            "batch, so a class forms one tight cluster. Khosla et al. found it more robust to "
            "hyperparameters than cross-entropy, with a linear classifier trained on top."
        ),
        good_for=(
            "learning class-structured embeddings from labelled data (retrieval, few-shot, pre-training)",
            "batches with several examples per class (sample classes, then examples)",
        ),
        not_good_for=(
            "batches where most classes appear once: those anchors have no positive and contribute nothing",
            _BATCH_NEGATIVES,
        ),
        outlier_sensitivity=(
            "medium: a mislabelled example is pulled towards a wrong cluster by every member "
            "of it, with a bounded gradient"
        ),
        imbalance_sensitivity=(
            "high: frequent classes contribute more anchors and more positives per anchor"
        ),
        input_forms=("embeddings", "group labels"),
        references=(_KHOSLA,),
    ),
    "triplet_margin": GuideEntry(
        explanation=(
            "Each triplet holds an anchor, a positive of the same identity and a negative of "
            "another: the loss asks the anchor to be closer to the positive than to the "
            "negative by a margin, and is zero once it is. Only the relative distances count, "
            "so the embeddings are free to arrange themselves otherwise."
        ),
        good_for=(
            "metric learning with identities (faces, people, products) and mined triplets",
            "verification: thresholds on the learnt distance",
        ),
        not_good_for=(
            (
                "random triplets: most are already satisfied and give no gradient, so mine "
                "hard or semi-hard negatives"
            ),
            "learning from labels without mining: supervised_contrastive uses the whole batch",
        ),
        outlier_sensitivity=(
            "medium: a wrong triplet grows linearly with the distances (with the Euclidean or "
            "cosine distance), quadratically with the squared distance"
        ),
        imbalance_sensitivity=("medium: the triplets the sampler draws decide what is learnt"),
        input_forms=("embeddings", "triplets"),
        references=(
            (
                "Schroff, F., Kalenichenko, D. & Philbin, J. (2015). FaceNet: A Unified "
                "Embedding for Face Recognition and Clustering. CVPR."
            ),
            (
                "Balntas, V., Riba, E., Ponsa, D. & Mikolajczyk, K. (2016). Learning local "
                "feature descriptors with triplets and shallow convolutional neural networks. "
                "BMVC."
            ),
        ),
    ),
    "pair_contrastive": GuideEntry(
        explanation=(
            "The original contrastive loss on labelled pairs: a similar pair (y = 1) is "
            "pulled together in proportion to its squared distance, a dissimilar one (y = 0) "
            "is pushed apart until it is at least a margin away, then left alone."
        ),
        good_for=(
            "siamese networks trained on pairs labelled same or different (signatures, duplicates)",
            "dimensionality reduction that keeps neighbourhoods (DrLIM)",
        ),
        not_good_for=(
            (
                "data where similar pairs should not collapse to one point: the loss keeps "
                "pulling them together"
            ),
            "batches with many examples per class: a batch-wide loss (supervised_contrastive) learns more per step",
        ),
        outlier_sensitivity=(
            "high: a mislabelled similar pair that lies far apart costs its squared distance"
        ),
        imbalance_sensitivity=(
            "medium: the ratio of similar to dissimilar pairs sets which term dominates"
        ),
        input_forms=("embeddings", "binary labels"),
        references=(HADSELL_2006,),
    ),
    "cosine_embedding": GuideEntry(
        explanation=(
            "A pair loss on directions: a similar pair (y = 1) is pushed towards cosine "
            "similarity 1, a dissimilar one (y = -1) towards a cosine at most the margin. The "
            "length of the embeddings is ignored."
        ),
        good_for=(
            "pairs labelled similar or dissimilar, when only the direction of the embeddings matters",
            "matching PyTorch's CosineEmbeddingLoss",
        ),
        not_good_for=(
            "distances that should carry meaning: the loss sees angles only",
            "labelled batches: a batch-wide contrastive loss learns more per step",
        ),
        outlier_sensitivity="low: the loss is bounded by 2 per pair",
        imbalance_sensitivity=(
            "medium: the ratio of similar to dissimilar pairs sets which term dominates"
        ),
        input_forms=("embeddings", "sign labels"),
        references=(
            "PyTorch documentation, torch.nn.CosineEmbeddingLoss.",
            HADSELL_2006,
        ),
    ),
    "margin_ranking": GuideEntry(
        explanation=(
            "A pairwise ranking loss on scores: when the first item should rank higher (y = "
            "1), its score must exceed the second's by the margin; y = -1 reverses the "
            "order. Only the order of the two scores matters, not their values."
        ),
        good_for=(
            "learning to rank from pairwise preferences (search, recommendation)",
            "reward models and scorers trained from comparisons",
        ),
        not_good_for=(
            "calibrated scores or probabilities: only differences are trained",
            "listwise ranking metrics: the loss sees one pair at a time",
        ),
        outlier_sensitivity=("medium: a wrongly ordered pair costs linearly in the score gap"),
        imbalance_sensitivity="not applicable: each pair is one comparison",
        input_forms=("scores", "sign labels"),
        references=(
            (
                "Herbrich, R., Graepel, T. & Obermayer, K. (2000). Large Margin Rank "
                "Boundaries for Ordinal Regression. Advances in Large Margin Classifiers."
            ),
            "PyTorch documentation, torch.nn.MarginRankingLoss.",
        ),
    ),
    "cosine_similarity": GuideEntry(
        explanation=(
            "The negative cosine similarity between a predicted vector and a target vector: "
            "-1 when they point the same way, whatever their lengths. It regresses "
            "directions, not embeddings against each other."
        ),
        good_for=(
            "predicting a target embedding's direction (distillation of embeddings, word vectors)",
            "BYOL- and SimSiam-style self-supervision (prediction against a stopped-gradient target)",
        ),
        not_good_for=(
            "targets whose length matters: use mse",
            "learning from pairs or labels alone: it needs the target vector",
        ),
        outlier_sensitivity="low: the loss is bounded in [-1, 1]",
        imbalance_sensitivity="not applicable: a regression of directions",
        input_forms=("embeddings", "real values"),
        references=(
            "Keras documentation, keras.losses.CosineSimilarity.",
            (
                "Grill, J.-B. et al. (2020). Bootstrap Your Own Latent: A New Approach to "
                "Self-Supervised Learning. NeurIPS."
            ),
        ),
    ),
    "arcface": GuideEntry(
        explanation=(
            "A softmax classifier over learnable class centres where logits are scaled "
            "cosines, and the true class's angle is enlarged by a margin m before the "
            "softmax. To win, an embedding must lie closer to its centre than to any other "
            "by that angle, so classes become compact and well separated on the sphere: the "
            "embeddings then serve for open-set recognition of identities never seen in "
            "training."
        ),
        good_for=(
            "face and speaker recognition with many identities",
            "embeddings for open-set retrieval trained from class labels",
        ),
        not_good_for=(
            (
                "noisy labels: the margin pushes mislabelled examples hard (sub-centre "
                "ArcFace addresses it)"
            ),
            "a handful of classes with a large scale: the softmax saturates; lower the scale",
        ),
        outlier_sensitivity=(
            "high: a mislabelled example keeps a large loss and gradient, amplified by the scale"
        ),
        imbalance_sensitivity=(
            "high: like softmax cross-entropy, frequent classes dominate the centres"
        ),
        input_forms=("embeddings", "integer labels", "class centres"),
        references=(
            (
                "Deng, J., Guo, J., Xue, N. & Zafeiriou, S. (2019). ArcFace: Additive Angular "
                "Margin Loss for Deep Face Recognition. CVPR."
            ),
        ),
    ),
    "cosface": GuideEntry(
        explanation=(
            "Like ArcFace, a softmax over scaled cosines to learnable class centres, with the "
            "margin subtracted from the true class's cosine instead of added to its angle. "
            "Simpler and as effective in practice; the margin is the same in cosine units "
            "everywhere."
        ),
        good_for=(
            "face and speaker recognition with many identities",
            "embeddings for open-set retrieval trained from class labels",
        ),
        not_good_for=(
            "noisy labels: the margin pushes mislabelled examples hard",
            "a handful of classes with a large scale: the softmax saturates; lower the scale",
        ),
        outlier_sensitivity=(
            "high: a mislabelled example keeps a large loss and gradient, amplified by the scale"
        ),
        imbalance_sensitivity=(
            "high: like softmax cross-entropy, frequent classes dominate the centres"
        ),
        input_forms=("embeddings", "integer labels", "class centres"),
        references=(
            (
                "Wang, H., Wang, Y., Zhou, Z., Ji, X., Gong, D., Zhou, J., Li, Z. & Liu, W. "
                "(2018). CosFace: Large Margin Cosine Loss for Deep Face Recognition. CVPR."
            ),
        ),
    ),
}

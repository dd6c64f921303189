"""The guide's text for the segmentation losses: what each one does, when to use it, where it
fails, and its references.  Keyed by loss name; read by ``losskit explain``, the advisor
and the docs."""

from losskit.guide.entries import GuideEntry
from losskit.guide.text._references import BERMAN_2018, SUDRE_2017

#: What the overlap losses (Dice and its relatives) accept, shared by their entries.
OVERLAP_INPUT_FORMS = (
    "probabilities",
    "logits",
    "masks",
    "binary labels",
    "one-hot labels",
    "integer labels",
    "soft labels",
)

ENTRIES: dict[str, GuideEntry] = {
    "dice": GuideEntry(
        explanation=(
            "Dice measures how much two masks overlap: twice the shared area divided by the "
            "two areas added together, 1 for a perfect match and 0 for none. The soft version "
            "uses probabilities instead of hard pixels so it can be trained, and the loss is "
            "one minus it. Because it is a ratio per object, a tiny structure counts as much "
            "as a large one, which is why it is popular in medical imaging where the "
            "foreground is a few percent of the image."
        ),
        good_for=(
            "segmentation with a small foreground (lesions, organs, thin structures)",
            "training directly for the Dice score used as the evaluation metric",
            "combining with cross-entropy (Dice + CE) for stable early training",
        ),
        not_good_for=(
            "early training alone: its gradient is noisy when predictions are uniform",
            "calibrated per-pixel probabilities: it only cares about the overlap ratio",
            "tiny masks with batch=False and smooth=0, where one pixel swings the score",
        ),
        outlier_sensitivity=(
            "low: a mislabelled pixel changes a ratio over the whole mask, not a per-pixel log term"
        ),
        imbalance_sensitivity=(
            "low: each class is scored by a ratio of its own areas, so background size does "
            "not drown a small foreground"
        ),
        input_forms=OVERLAP_INPUT_FORMS,
        references=(
            (
                "Milletari, F., Navab, N. & Ahmadi, S.-A. (2016). V-Net: Fully Convolutional "
                "Neural Networks for Volumetric Medical Image Segmentation. 3DV."
            ),
            SUDRE_2017,
        ),
    ),
    "jaccard": GuideEntry(
        explanation=(
            "The Jaccard index, or intersection over union (IoU), is the shared area divided "
            "by the area covered by either mask. Its soft version uses probabilities so it "
            "can be trained; the loss is one minus it. It ranks predictions like Dice but "
            "penalises partial overlaps more (IoU = Dice / (2 - Dice)), and matches the IoU "
            "metric reported in most segmentation benchmarks."
        ),
        good_for=(
            "training for the IoU / mIoU metric",
            "segmentation with a small foreground",
            "combining with cross-entropy for stable training",
        ),
        not_good_for=(
            "early training alone: its gradient is noisy when predictions are uniform",
            "calibrated per-pixel probabilities",
            "tiny masks with batch=False and smooth=0",
        ),
        outlier_sensitivity="low: a mislabelled pixel changes a ratio over the whole mask",
        imbalance_sensitivity=(
            "low: each class is scored by a ratio of its own areas, independent of the background"
        ),
        input_forms=OVERLAP_INPUT_FORMS,
        references=(
            (
                "Rahman, M. A. & Wang, Y. (2016). Optimizing Intersection-Over-Union in Deep "
                "Neural Networks for Image Segmentation. ISVC."
            ),
            (
                "Jaccard, P. (1912). The distribution of the flora in the alpine zone. New "
                "Phytologist."
            ),
        ),
    ),
    "tversky": GuideEntry(
        explanation=(
            "The Tversky index generalises Dice: it divides the overlap by the overlap plus "
            "weighted false positives and false negatives. alpha = beta = 0.5 gives Dice; "
            "raising beta makes missed foreground cost more than spurious foreground, which "
            "trades precision for recall. That is useful when the object is small and missing "
            "it is the expensive mistake."
        ),
        good_for=(
            "small, rare structures where recall matters more than precision",
            "tuning the precision/recall balance of a segmentation model",
            "highly unbalanced medical segmentation",
        ),
        not_good_for=(
            "tasks where false positives and negatives cost the same: use dice",
            "early training alone: ratio losses have noisy gradients at first",
        ),
        outlier_sensitivity="low: a mislabelled pixel changes a ratio over the whole mask",
        imbalance_sensitivity=(
            "low: each class is scored by its own areas, and beta can favour the rare "
            "foreground further"
        ),
        input_forms=OVERLAP_INPUT_FORMS,
        references=(
            (
                "Salehi, S. S. M., Erdogmus, D. & Gholipour, A. (2017). Tversky loss function "
                "for image segmentation using 3D fully convolutional deep networks. MLMI."
            ),
        ),
    ),
    "focal_tversky": GuideEntry(
        explanation=(
            "The Tversky loss of each sample and class raised to the power gamma. With gamma "
            "below 1 (0.75 in the paper) a class that is already well segmented still gets a "
            "sizeable gradient, so training keeps improving the hard, small structures "
            "instead of polishing the easy ones. gamma = 1 is the Tversky loss."
        ),
        good_for=(
            "small lesions and thin structures that plain Dice or Tversky under-segment",
            "multi-class segmentation where a few classes lag behind",
        ),
        not_good_for=(
            "gamma far below 1 from the start: gradients near a perfect score grow large",
            "tasks where all classes are easy and balanced: plain dice is simpler",
        ),
        outlier_sensitivity="low: a mislabelled pixel changes a ratio over the whole mask",
        imbalance_sensitivity=(
            "low: each class is scored by its own areas; alpha, beta and gamma shift the "
            "focus further towards the hard, rare foreground"
        ),
        input_forms=OVERLAP_INPUT_FORMS,
        references=(
            (
                "Abraham, N. & Khan, N. M. (2019). A Novel Focal Tversky Loss Function with "
                "Improved Attention U-Net for Lesion Segmentation. ISBI."
            ),
        ),
    ),
    "lovasz_hinge": GuideEntry(
        explanation=(
            "The Jaccard (IoU) loss of a thresholded mask is a set function with no useful "
            "gradient. The Lovász extension turns it into a piecewise-linear function of "
            "per-pixel errors: pixels are sorted from worst to best, and each one's error is "
            "weighted by how much the IoU would drop if that pixel were wrong. Here the "
            "errors are hinge margins on raw scores, so the loss directly optimises the IoU "
            "of the predicted mask sign(score)."
        ),
        good_for=(
            "binary segmentation evaluated by IoU",
            "fine-tuning a model pre-trained with cross-entropy",
        ),
        not_good_for=(
            "training from scratch alone: its sparse, sorted gradient is slow at first",
            "probability outputs: it takes raw scores (use lovasz_softmax for probabilities)",
        ),
        outlier_sensitivity=(
            "medium: a mislabelled pixel with a large margin is sorted first and gets the "
            "largest weight, but its effect is bounded by the IoU it changes"
        ),
        imbalance_sensitivity="low: the IoU of the foreground does not depend on the size of the background",
        input_forms=(
            "scores",
            "binary labels",
            "masks",
        ),
        references=(
            BERMAN_2018,
            (
                "Yu, J. & Blaschko, M. B. (2015). Learning Submodular Losses with the Lovász "
                "Hinge. ICML."
            ),
        ),
    ),
    "lovasz_softmax": GuideEntry(
        explanation=(
            "The multi-class version of the Lovász hinge. For each class, the per-pixel "
            "errors |1 - p| on the class's pixels and |p| elsewhere are sorted from worst to "
            "best and weighted by how much the class's IoU would drop if that pixel were "
            "wrong. The result is a smooth surrogate of one minus the IoU that can be trained "
            "with gradient descent and that targets the mean IoU metric directly."
        ),
        good_for=(
            "semantic segmentation evaluated by mean IoU",
            "fine-tuning after cross-entropy pre-training",
            "combining with cross-entropy",
        ),
        not_good_for=(
            "training from scratch alone: sorted, sparse gradients are slow at first",
            "calibrated per-pixel probabilities",
        ),
        outlier_sensitivity="medium: the worst pixels get the largest weights, bounded by the IoU they change",
        imbalance_sensitivity="low: each class is scored by its own IoU, independent of the background size",
        input_forms=(
            "probabilities",
            "logits",
            "masks",
            "one-hot labels",
            "integer labels",
        ),
        references=(BERMAN_2018,),
    ),
    "generalized_dice": GuideEntry(
        explanation=(
            "One Dice ratio over all the classes of an image, each class weighted by the "
            "inverse of its target volume squared (by default), so a structure of a hundred "
            "voxels counts as much as one of a million. Plain Dice averages per-class ratios; "
            "generalised Dice pools the weighted overlaps first, which is steadier when some "
            "classes are tiny. A class absent from the image gets the largest weight (that of "
            "the rarest present class) instead of an infinite one, so the loss and its "
            "gradient stay finite and predicting an absent class is still penalised."
        ),
        good_for=(
            "multi-class segmentation with very unequal structure sizes (brain tumour "
            "sub-regions, organs and lesions together)",
            "small structures next to large ones, where per-class Dice averages are noisy",
            "combining with boundary loss (Kervadec et al.) or cross-entropy",
        ),
        not_good_for=(
            "binary masks: with one class it is plain Dice",
            "soft or label-smoothed targets: every class is then present with a tiny volume, "
            "and its weight dominates",
            "calibrated per-pixel probabilities",
        ),
        outlier_sensitivity=(
            "medium: a few mislabelled voxels of a tiny class carry that class's large weight"
        ),
        imbalance_sensitivity=(
            "low: designed for it; the volume weights equalise the classes' contributions"
        ),
        input_forms=(
            "probabilities",
            "logits",
            "masks",
            "one-hot labels",
            "integer labels",
            "soft labels",
        ),
        references=(
            SUDRE_2017,
            (
                "Crum, W. R., Camara, O. & Hill, D. L. G. (2006). Generalized overlap measures "
                "for evaluation and validation in medical image analysis. IEEE TMI 25(11)."
            ),
        ),
    ),
    "matthews_correlation": GuideEntry(
        explanation=(
            "The Matthews correlation coefficient (MCC) is the correlation between the "
            "predicted and the true masks: it uses all four cells of the confusion matrix, "
            "true negatives included, and is 1 for a perfect mask, 0 for chance and -1 for "
            "the inverted mask. The loss is one minus its soft version. Unlike Dice it also "
            "rewards getting the background right, and it treats foreground and background "
            "symmetrically."
        ),
        good_for=(
            "binary segmentation where false positives on the background matter (skin "
            "lesions, where Dice ignores true negatives)",
            "imbalanced binary problems evaluated by MCC",
        ),
        not_good_for=(
            "classes absent from a sample with batch=False: the coefficient is undefined "
            "there and smoothing only keeps a weak gradient",
            "very large volumes, where the true negatives swamp the ratio and it behaves "
            "like Dice anyway",
        ),
        outlier_sensitivity="low: a mislabelled pixel changes a ratio over the whole image",
        imbalance_sensitivity=("low: a correlation, balanced between classes by construction"),
        input_forms=OVERLAP_INPUT_FORMS,
        references=(
            (
                "Matthews, B. W. (1975). Comparison of the predicted and observed secondary "
                "structure of T4 phage lysozyme. Biochimica et Biophysica Acta 405(2)."
            ),
            (
                "Abhishek, K. & Hamarneh, G. (2021). Matthews Correlation Coefficient Loss for "
                "Deep Convolutional Networks: Application to Skin Lesion Segmentation. ISBI."
            ),
        ),
    ),
    "boundary_loss": GuideEntry(
        explanation=(
            "Boundary loss looks at where the predicted mask's contour lies rather than at "
            "how much area overlaps: each predicted probability is multiplied by the signed "
            "distance of its voxel to the target's boundary (negative inside the target, "
            "positive outside), so probability far outside the target costs a lot and "
            "probability deep inside earns a reward. The distance maps come from the target "
            "alone and are computed once, on the CPU. On highly unbalanced problems, such as "
            "small lesions, it gives a gradient that regional losses lack when the "
            "foreground is a handful of voxels."
        ),
        good_for=(
            "highly unbalanced segmentation (small lesions, thin structures), together with "
            "a regional loss such as generalised Dice",
            "sharpening boundaries once a regional loss has found the object",
        ),
        not_good_for=(
            "training alone from scratch: an empty prediction is a cheap local optimum; "
            "start with a regional loss and raise the boundary term's weight gradually",
            "on-the-fly targets (heavy spatial augmentation on the GPU): the maps must be "
            "recomputed on the CPU for every transformed target",
        ),
        outlier_sensitivity=(
            "high: a mislabelled voxel far from the true object moves the distance map over "
            "a large region"
        ),
        imbalance_sensitivity=(
            "low: the cost is a distance between contours, not a count of voxels"
        ),
        input_forms=("probabilities", "logits", "distance maps"),
        references=(
            (
                "Kervadec, H., Bouchtiba, J., Desrosiers, C., Granger, E., Dolz, J. & Ben Ayed, "
                "I. (2019). Boundary loss for highly unbalanced segmentation. MIDL (Medical "
                "Image Analysis 67, 2021)."
            ),
        ),
    ),
    "hausdorff_dt": GuideEntry(
        explanation=(
            "A differentiable stand-in for the Hausdorff distance, the largest distance "
            "between two contours: each voxel's squared error is weighted by its distance "
            "to the target's boundary raised to a power (2 by default), so mistakes far from "
            "the object, the ones that make the Hausdorff distance large, dominate. The "
            "distance maps are computed from the target on the CPU; Karimi & Salcudean add "
            "the map of the thresholded prediction, which the caller can fold into the "
            "distances."
        ),
        good_for=(
            "reducing the Hausdorff distance of organ or tumour segmentations (spurious "
            "blobs far from the object)",
            "fine-tuning after a regional loss (Dice, cross-entropy), combined with it",
        ),
        not_good_for=(
            "training alone from scratch: the weights vanish at the boundary itself",
            "empty targets: their maps are 0, so false positives there cost nothing",
        ),
        outlier_sensitivity=(
            "high: errors far from the boundary are weighted by a power of their distance"
        ),
        imbalance_sensitivity=("medium: every voxel's error is averaged, but far ones weigh more"),
        input_forms=(
            "probabilities",
            "logits",
            "masks",
            "integer labels",
            "one-hot labels",
            "distance maps",
        ),
        references=(
            (
                "Karimi, D. & Salcudean, S. E. (2019). Reducing the Hausdorff Distance in "
                "Medical Image Segmentation with Convolutional Neural Networks. IEEE TMI 39(2)."
            ),
        ),
    ),
}

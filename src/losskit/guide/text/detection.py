"""The guide's text for the detection losses: what each one does, when to use it, where it
fails, and its references.  Keyed by loss name; read by ``losskit explain``, the advisor
and the docs."""

from losskit.guide.entries import GuideEntry
from losskit.guide.text._references import LI_2020

ENTRIES: dict[str, GuideEntry] = {
    "box_iou": GuideEntry(
        explanation=(
            "Scores a predicted box by how much it overlaps the true box: the area they share "
            "divided by the area they cover together (IoU), turned into a loss as 1 - IoU. "
            "Plain IoU gives no gradient when the boxes do not touch, so the variants add a "
            "penalty: GIoU the empty part of the smallest box enclosing both, DIoU the "
            "distance between the centres, CIoU the centre distance and the difference in "
            "aspect ratio, EIoU the centre distance and the width and height differences, "
            "SIoU a centre distance that first pulls the box onto the nearer axis, plus a "
            "shape term. All are scale-invariant, unlike an L1 loss on coordinates."
        ),
        good_for=(
            "bounding-box regression in object detectors (RetinaNet, FCOS, YOLO, DETR)",
            "training for the IoU-based metrics detectors are evaluated with (mAP)",
            "boxes of very different sizes: the loss is scale-invariant",
        ),
        not_good_for=(
            "regressing encoded offsets or deltas: use smooth_l1 on those",
            "plain iou on boxes that may not overlap: no gradient there, use giou or diou",
            "rotated boxes: these are axis-aligned",
        ),
        outlier_sensitivity=(
            "low: the loss is bounded (at most 2 for giou and diou), so a wrong target box "
            "cannot dominate"
        ),
        imbalance_sensitivity=(
            "not applicable: it scores matched box pairs; class imbalance belongs to the "
            "classification loss"
        ),
        input_forms=("boxes",),
        references=(
            (
                "Yu, J., Jiang, Y., Wang, Z., Cao, Z. & Huang, T. (2016). UnitBox: An "
                "Advanced Object Detection Network. ACM Multimedia."
            ),
            (
                "Rezatofighi, H., Tsoi, N., Gwak, J., Sadeghian, A., Reid, I. & Savarese, S. "
                "(2019). Generalized Intersection over Union: A Metric and a Loss for "
                "Bounding Box Regression. CVPR."
            ),
            (
                "Zheng, Z., Wang, P., Liu, W., Li, J., Ye, R. & Ren, D. (2020). Distance-IoU "
                "Loss: Faster and Better Learning for Bounding Box Regression. AAAI."
            ),
            (
                "Zhang, Y.-F., Ren, W., Zhang, Z., Jia, Z., Wang, L. & Tan, T. (2022). Focal "
                "and Efficient IOU Loss for Accurate Bounding Box Regression. Neurocomputing "
                "506 (arXiv:2101.08158)."
            ),
            (
                "Gevorgyan, Z. (2022). SIoU Loss: More Powerful Learning for Bounding Box "
                "Regression. arXiv:2205.12740."
            ),
        ),
    ),
    "varifocal": GuideEntry(
        explanation=(
            "The classification loss of dense detectors that score each anchor by how well "
            "its box fits (VarifocalNet, RT-DETR, PP-YOLOE). The target of a positive anchor "
            "is not 1 but the IoU of its predicted box with the object, so the score learns "
            "to rank well-placed boxes first. Negatives are scaled down focal-style by "
            "p^gamma (and alpha); positives keep their full cross-entropy, weighted by their "
            "IoU target, so the rare good boxes are never down-weighted."
        ),
        good_for=(
            "dense detectors whose score should predict localisation quality (IoU-aware "
            "classification)",
            "ranking detections for NMS and mAP by box quality",
            "thousands of easy background anchors per object",
        ),
        not_good_for=(
            "plain classification without boxes: use binary_focal",
            "targets that are hard 0/1 labels: it then reduces to an alpha-weighted focal "
            "loss on negatives only",
        ),
        outlier_sensitivity=(
            "medium: a negative scored confidently grows linearly in its logit, and positives "
            "keep full weight"
        ),
        imbalance_sensitivity=(
            "low: easy negatives are down-weighted by p^gamma, positives are not"
        ),
        input_forms=("probabilities", "logits", "soft labels"),
        references=(
            (
                "Zhang, H., Wang, Y., Dayoub, F. & Sunderhauf, N. (2021). VarifocalNet: An "
                "IoU-aware Dense Object Detector. CVPR."
            ),
        ),
    ),
    "quality_focal": GuideEntry(
        explanation=(
            "The focal loss for soft targets, from Generalized Focal Loss (GFL). Each anchor's "
            "target at its object's class is the IoU of its predicted box, 0 elsewhere; the "
            "binary cross-entropy against that score is scaled by |q - p|^beta, so examples "
            "already scored close to their quality contribute little, on positives and "
            "negatives alike. One score then serves as both class confidence and box quality."
        ),
        good_for=(
            "dense detectors with a joint classification-quality score (GFL, GFLv2, NanoDet)",
            "soft targets in (0, 1) with many easy negatives",
        ),
        not_good_for=(
            "hard 0/1 targets only: binary_focal is the same idea with alpha",
            "calibrated probabilities: the down-weighting makes scores under-confident",
        ),
        outlier_sensitivity=(
            "high: an example far from its target keeps nearly its full cross-entropy"
        ),
        imbalance_sensitivity=("low: easy negatives (p near 0) are scaled by p^beta"),
        input_forms=("probabilities", "logits", "soft labels"),
        references=(LI_2020,),
    ),
    "distribution_focal": GuideEntry(
        explanation=(
            "Treats each edge of a box (its distance from the anchor point) as a "
            "distribution over bins 0..n instead of one number, as GFL and the YOLOv8-and-"
            "later heads do. The target distance y lies between two bins; the loss is the "
            "cross-entropy against those two bins, weighted by how close y is to each, so "
            "the predicted distribution concentrates around y and its mean (the decoded "
            "edge) lands on it. Flat or two-peaked distributions also say where an edge "
            "is ambiguous (occlusion, blur)."
        ),
        good_for=(
            "box regression heads that predict edge distributions (GFL, YOLOv8 and later, "
            "RT-DETR-style heads), beside an IoU loss on the decoded boxes",
            "ambiguous object boundaries, where a single regressed number is forced to average",
        ),
        not_good_for=(
            "heads that regress the four coordinates directly: use box_iou or smooth_l1",
            "distances beyond the last bin: clamp them or add bins (n must cover the "
            "largest edge in stride units)",
        ),
        outlier_sensitivity=(
            "medium: a wrong target costs the cross-entropy of its two bins, which grows "
            "only with the logit gap"
        ),
        imbalance_sensitivity=(
            "not applicable: it is computed on positive anchors only; class imbalance "
            "belongs to the classification loss"
        ),
        input_forms=("logits", "edge distributions"),
        references=(LI_2020,),
    ),
}

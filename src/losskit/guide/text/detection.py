"""The guide's text for the detection losses: what each one does, when to use it, where it
fails, and its references.  Keyed by loss name; read by ``losskit explain``, the advisor
and the docs."""

from losskit.guide.entries import GuideEntry

ENTRIES: dict[str, GuideEntry] = {
    "box_iou": GuideEntry(
        explanation=(
            "Scores a predicted box by how much it overlaps the true box: the area they share "
            "divided by the area they cover together (IoU), turned into a loss as 1 - IoU. "
            "Plain IoU gives no gradient when the boxes do not touch, so the variants add a "
            "penalty: GIoU the empty part of the smallest box enclosing both, DIoU the "
            "distance between the centres, CIoU the centre distance and the difference in "
            "aspect ratio. All are scale-invariant, unlike an L1 loss on coordinates."
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
        ),
    ),
}

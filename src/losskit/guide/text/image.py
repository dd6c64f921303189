"""The guide's text for the image losses (SSIM, MS-SSIM): what each one does, when to use
it, where it fails, and its references.  Keyed by loss name; read by ``losskit explain``,
the advisor and the docs."""

from losskit.guide.entries import GuideEntry
from losskit.guide.text._references import ZHAO_2017

_WANG_2004 = (
    "Wang, Z., Bovik, A. C., Sheikh, H. R. & Simoncelli, E. P. (2004). Image quality "
    "assessment: from error visibility to structural similarity. IEEE Transactions on "
    "Image Processing 13(4), 600-612."
)

ENTRIES: dict[str, GuideEntry] = {
    "ssim": GuideEntry(
        explanation=(
            "Compares two images patch by patch, as a person would: at every position a "
            "Gaussian window (11 pixels, sigma 1.5) measures how alike the local brightness "
            "(means), contrast (standard deviations) and structure (correlation) of the "
            "prediction and the target are, and the scores are averaged over the image. "
            "The loss is 1 - SSIM: 0 for identical images, about 1 for unrelated ones. A "
            "uniform brightness shift costs little, blur and lost texture cost a lot, which "
            "is the opposite of MSE. The constants need the range of the pixel values "
            "(data_range: 1 for [0, 1], 255 for 8-bit images); a wrong range silently "
            "changes the loss."
        ),
        good_for=(
            "image restoration (denoising, deblurring, super-resolution, compression) where "
            "perceived structure matters more than exact pixel values",
            "keeping edges and texture sharp where MSE averages them into blur",
            "medical and microscopy images compared per channel or per volume",
        ),
        not_good_for=(
            "flat regions: where both patches are nearly constant the score barely "
            "depends on their brightness, so colours can drift (add an L1 term)",
            "images smaller than the window (11 pixels by default), or batches whose pixel "
            "range is unknown",
            "tasks scored by PSNR or pixel accuracy: optimise MSE or L1 for those",
        ),
        outlier_sensitivity=(
            "low: each pixel moves only the windows around it, and the ratio form bounds the "
            "loss of a patch whatever the size of the error"
        ),
        imbalance_sensitivity=(
            "not applicable: there are no classes; every valid window position counts the "
            "same, so large flat areas weigh as much as detailed ones"
        ),
        input_forms=("images",),
        references=(_WANG_2004, ZHAO_2017),
    ),
    "ms_ssim": GuideEntry(
        explanation=(
            "SSIM at five resolutions: the images are compared, then halved by 2 x 2 "
            "averaging, and compared again. The contrast and structure terms of the finer "
            "scales and the full SSIM of the coarsest are multiplied, each raised to the "
            "weight Wang et al. measured for human observers (0.0448 to 0.3001). Coarse "
            "scales see large structures that a single 11-pixel window misses. A negative "
            "term (anti-correlated patches) counts as 0, so the loss stays in [0, 1] and "
            "never takes the power of a negative number."
        ),
        good_for=(
            "restoration of natural images of 176 pixels or more per side, where both fine "
            "detail and large structure matter",
            "a perceptual term combined with L1 (Zhao et al.: 0.84 MS-SSIM + 0.16 L1)",
        ),
        not_good_for=(
            "small images: five scales with an 11-pixel window need 176 pixels per side "
            "(give fewer scale_weights or a smaller window_size)",
            "early training from random outputs: once a term is clipped to 0 the loss is 1 "
            "with a zero gradient; start with L1 or SSIM",
            "colour fidelity: like SSIM it scores structure and barely sees slow colour shifts",
        ),
        outlier_sensitivity=(
            "low: each pixel moves only nearby windows, and every scale's term is a bounded ratio"
        ),
        imbalance_sensitivity=(
            "not applicable: there are no classes; every valid window position of a scale "
            "counts the same"
        ),
        input_forms=("images",),
        references=(
            (
                "Wang, Z., Simoncelli, E. P. & Bovik, A. C. (2003). Multiscale structural "
                "similarity for image quality assessment. 37th Asilomar Conference on "
                "Signals, Systems and Computers, 1398-1402."
            ),
            ZHAO_2017,
        ),
    ),
}

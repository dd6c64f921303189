"""References the guide cites for more than one loss, written once."""

AGARWAL_2024 = (
    "Agarwal, R., Vieillard, N., Zhou, Y., Stanczyk, P., Ramos, S., Geist, M. & Bachem, "
    "O. (2024). On-Policy Distillation of Language Models: Learning from Self-Generated "
    "Mistakes. ICLR."
)
ARJOVSKY_2017 = (
    "Arjovsky, M., Chintala, S. & Bottou, L. (2017). Wasserstein Generative Adversarial "
    "Networks. ICML."
)
BERMAN_2018 = (
    "Berman, M., Rannen Triki, A. & Blaschko, M. B. (2018). The Lovász-Softmax loss: A "
    "tractable surrogate for the optimization of the intersection-over-union measure in "
    "neural networks. CVPR."
)
BISHOP_2006 = (
    "Bishop, C. M. (2006). Pattern Recognition and Machine Learning, Springer, section "
    "4.3 (logistic and softmax regression)."
)
GOODFELLOW_2014 = "Goodfellow, I. et al. (2014). Generative Adversarial Nets. NeurIPS."
GOODFELLOW_2016 = (
    "Goodfellow, I., Bengio, Y. & Courville, A. (2016). Deep Learning, MIT Press, section 6.2.2."
)
HADSELL_2006 = (
    "Hadsell, R., Chopra, S. & LeCun, Y. (2006). Dimensionality Reduction by Learning an "
    "Invariant Mapping. CVPR."
)
HE_2009 = (
    "He, H. & Garcia, E. A. (2009). Learning from Imbalanced Data. IEEE Transactions on "
    "Knowledge and Data Engineering 21(9), 1263-1284."
)
HINTON_2015 = (
    "Hinton, G., Vinyals, O. & Dean, J. (2015). Distilling the Knowledge in a Neural "
    "Network. arXiv:1503.02531."
)
HUBER_2009 = "Huber, P. J. & Ronchetti, E. M. (2009). Robust Statistics, 2nd ed., Wiley."
HYNDMAN_2006 = (
    "Hyndman, R. J. & Koehler, A. B. (2006). Another look at measures of forecast "
    "accuracy. International Journal of Forecasting 22(4), 679-688."
)
LIM_2017 = "Lim, J. H. & Ye, J. C. (2017). Geometric GAN. arXiv:1705.02894."
LIN_2017 = (
    "Lin, T.-Y., Goyal, P., Girshick, R., He, K. & Dollar, P. (2017). Focal Loss for "
    "Dense Object Detection. IEEE International Conference on Computer Vision (ICCV)."
)
LI_2020 = (
    "Li, X., Wang, W., Wu, L., Chen, S., Hu, X., Li, J., Tang, J. & Yang, J. (2020). "
    "Generalized Focal Loss: Learning Qualified and Distributed Bounding Boxes for Dense "
    "Object Detection. NeurIPS."
)
MAO_2017 = (
    "Mao, X., Li, Q., Xie, H., Lau, R. Y. K., Wang, Z. & Smolley, S. P. (2017). Least "
    "Squares Generative Adversarial Networks. ICCV."
)
SUDRE_2017 = (
    "Sudre, C. H., Li, W., Vercauteren, T., Ourselin, S. & Cardoso, M. J. (2017). "
    "Generalised Dice overlap as a deep learning loss function for highly unbalanced "
    "segmentations. DLMIA."
)
SZEGEDY_2016 = (
    "Szegedy, C., Vanhoucke, V., Ioffe, S., Shlens, J. & Wojna, Z. (2016). Rethinking the"
    " Inception Architecture for Computer Vision. CVPR (label smoothing)."
)
ZHAO_2017 = (
    "Zhao, H., Gallo, O., Frosio, I. & Kautz, J. (2017). Loss functions for image "
    "restoration with neural networks. IEEE Transactions on Computational Imaging 3(1), "
    "47-57 (MS-SSIM and MS-SSIM + L1 as training losses)."
)

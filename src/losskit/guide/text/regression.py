"""The guide's text for the regression losses: what each one does, when to use it, where it
fails, and its references.  Keyed by loss name; read by ``losskit explain``, the advisor
and the docs."""

from losskit.guide.entries import GuideEntry
from losskit.guide.text._references import HUBER_2009, HYNDMAN_2006

ENTRIES: dict[str, GuideEntry] = {
    "mse": GuideEntry(
        explanation=(
            "Squares every error and averages them. Large mistakes cost far more than small "
            "ones: an error of 10 costs a hundred times an error of 1. The prediction that "
            "minimises it is the mean of the target given the inputs, which is right when the "
            "noise is roughly Gaussian. Its gradient is proportional to the error, so the "
            "model moves fast when it is far off and slows down near the answer."
        ),
        good_for=(
            "regression with roughly Gaussian noise",
            "predicting the conditional mean of the target",
            "smooth gradients that shrink as predictions improve",
        ),
        not_good_for=(
            "data with outliers or heavy-tailed noise: a few large errors dominate training",
            "targets whose scale varies a lot between samples, unless they are normalised",
            "predicting a median or a prediction interval",
        ),
        outlier_sensitivity=(
            "high: the penalty grows with the square of the error, so a few large residuals "
            "dominate both the loss and its gradient"
        ),
        imbalance_sensitivity=(
            "not applicable: there are no classes; rare extreme targets still pull the "
            "prediction towards them"
        ),
        input_forms=("real values",),
        references=(
            (
                "Legendre, A.-M. (1805). Nouvelles méthodes pour la détermination des orbites "
                "des comètes. Paris: Firmin Didot (the method of least squares)."
            ),
            (
                "Hastie, T., Tibshirani, R. & Friedman, J. (2009). The Elements of "
                "Statistical Learning, 2nd ed., Springer, section 2.4."
            ),
        ),
    ),
    "mae": GuideEntry(
        explanation=(
            "Takes the absolute value of every error and averages them. Every unit of error "
            "costs the same, however large the error already is, so one wild target cannot "
            "take over training. The prediction that minimises it is the median of the target "
            "given the inputs. Its gradient has the same size everywhere (only its sign "
            "changes), so it does not slow down near the answer; a decaying learning rate "
            "helps it settle."
        ),
        good_for=(
            "regression with outliers or heavy-tailed noise",
            "predicting the conditional median",
            (
                "errors that should be penalised in proportion to their size (costs in money, "
                "minutes)"
            ),
        ),
        not_good_for=(
            "fine convergence: the gradient does not shrink near the optimum",
            "second-order optimisers: the loss has no curvature and a kink at zero error",
            "predicting the mean when the noise is skewed",
        ),
        outlier_sensitivity=(
            "low: an outlier adds its error linearly and its gradient is bounded, so it "
            "cannot dominate the others"
        ),
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=("real values",),
        references=(
            (
                "Hastie, T., Tibshirani, R. & Friedman, J. (2009). The Elements of "
                "Statistical Learning, 2nd ed., Springer, section 2.4 (L1 loss and the "
                "conditional median)."
            ),
            HUBER_2009,
        ),
    ),
    "huber": GuideEntry(
        explanation=(
            "Behaves like mean squared error for small errors and like absolute error for "
            "large ones, switching at delta. Errors smaller than delta are treated as "
            "ordinary noise and get a gradient proportional to their size; larger errors are "
            "treated as possible outliers, and their gradient is capped at delta. You get "
            "MSE's smooth convergence without letting a few bad targets take over."
        ),
        good_for=(
            "regression with occasional outliers",
            "a robust default when you are not sure how clean the targets are",
            "bounded gradients: training stays stable when some errors are huge",
        ),
        not_good_for=(
            "unnormalised targets: delta is in target units and must match their scale",
            "predicting quantiles or intervals",
            "second-order methods that need a continuous second derivative (use log_cosh)",
        ),
        outlier_sensitivity="low: beyond delta the loss grows linearly and the gradient is capped at delta",
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=("real values",),
        references=(
            (
                "Huber, P. J. (1964). Robust Estimation of a Location Parameter. The Annals "
                "of Mathematical Statistics 35(1), 73-101."
            ),
            HUBER_2009,
        ),
    ),
    "smooth_l1": GuideEntry(
        explanation=(
            "The Huber loss divided by beta: quadratic for errors below beta, then exactly "
            "the absolute error minus a constant. Dividing by beta keeps the slope of the "
            "linear part at 1 whatever beta is, so the size of the gradient for large errors "
            "never depends on beta. It is the form used for bounding-box regression in the "
            "R-CNN family of object detectors."
        ),
        good_for=(
            "bounding-box regression in object detectors",
            "regression with outliers where an L1-like loss with a smooth minimum is wanted",
            "matching PyTorch's smooth_l1_loss",
        ),
        not_good_for=(
            "comparing values across different beta: the quadratic part is scaled by 1/beta",
            "predicting quantiles or intervals",
            (
                "box losses that should reflect overlap rather than coordinate error (use an "
                "IoU loss)"
            ),
        ),
        outlier_sensitivity=(
            "low: beyond beta the loss is linear with slope 1, so large errors have bounded "
            "gradients"
        ),
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=("real values",),
        references=(
            (
                "Girshick, R. (2015). Fast R-CNN. IEEE International Conference on Computer "
                "Vision (ICCV), 1440-1448."
            ),
        ),
    ),
    "log_cosh": GuideEntry(
        explanation=(
            "The logarithm of the hyperbolic cosine of the error. For small errors it is "
            "almost e^2/2, like mean squared error; for large errors it is almost |e| - log "
            "2, like absolute error. Unlike Huber it has no switch point to tune and is "
            "smooth everywhere, with a gradient tanh(e) that never exceeds 1 in size."
        ),
        good_for=(
            "regression with some outliers when you want no hyperparameter to tune",
            "optimisers that use second derivatives: it is smooth everywhere",
            "bounded gradients in training",
        ),
        not_good_for=(
            (
                "targets on a very large or very small scale: the switch from quadratic to "
                "linear is fixed near an error of 1, so normalise targets first"
            ),
            "predicting quantiles or intervals",
            "cases where the transition point must be chosen (use huber)",
        ),
        outlier_sensitivity=(
            "low: the loss grows linearly for large errors and the gradient tanh(e) is bounded by 1"
        ),
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=("real values",),
        references=(
            (
                "Saleh, R. A. & Saleh, A. K. Md. E. (2022). Statistical Properties of the "
                "log-cosh Loss Function Used in Machine Learning. arXiv:2208.04564."
            ),
            (
                "Chen, P., Chen, G. & Zhang, S. (2019). Log Hyperbolic Cosine Loss Improves "
                "Variational Auto-Encoder. OpenReview (ICLR 2019 submission)."
            ),
        ),
    ),
    "quantile": GuideEntry(
        explanation=(
            "An absolute error that charges under- and over-predictions differently: a "
            "prediction below the target costs q per unit, one above costs 1 - q. The best "
            "constant prediction is then the q-quantile of the targets, so with q = 0.9 the "
            "model learns a value that the target stays below 90% of the time. Train one "
            "output per quantile (say 0.05 and 0.95) to get a prediction interval."
        ),
        good_for=(
            "prediction intervals: one output per quantile",
            (
                "asymmetric costs, where under-predicting is worse than over-predicting or "
                "the reverse"
            ),
            "predicting the median with q = 0.5",
        ),
        not_good_for=(
            "predicting the mean",
            (
                "fine convergence: like absolute error, its gradient does not shrink near the "
                "optimum"
            ),
            "several quantiles trained separately can cross; check or sort them",
        ),
        outlier_sensitivity=(
            "low: the loss is linear in the error, so an outlier adds at most q or 1 - q per unit"
        ),
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=("real values",),
        references=(
            ("Koenker, R. & Bassett, G. (1978). Regression Quantiles. Econometrica 46(1), 33-50."),
            "Koenker, R. (2005). Quantile Regression. Cambridge University Press.",
        ),
    ),
    "poisson_nll": GuideEntry(
        explanation=(
            "The negative log-likelihood of a Poisson distribution, for targets that are "
            "counts (visits, clicks, events per hour). The model predicts a rate; the loss "
            "rewards rates that make the observed counts likely. Predicting the log of the "
            "rate (log_input=True) keeps the rate positive without any constraint on the "
            "network's output. Under this loss the variance of a count is expected to grow "
            "with its mean."
        ),
        good_for=(
            "count targets: non-negative integers such as events per interval",
            "targets whose spread grows with their mean",
            "generalised linear models with a log link",
        ),
        not_good_for=(
            "negative or continuous targets with constant noise (use mse)",
            (
                "over-dispersed counts, whose variance is much larger than their mean (a "
                "negative binomial model fits better)"
            ),
            "rate inputs near zero when the count is positive: the loss becomes very large",
        ),
        outlier_sensitivity=(
            "medium: a very large count increases the loss linearly in the log-rate, but a "
            "predicted rate far too high grows exponentially with log_input=True"
        ),
        imbalance_sensitivity=(
            "not applicable: there are no classes; with many zero counts the model is pulled "
            "towards low rates, as the likelihood says it should be"
        ),
        input_forms=(
            "log-rates",
            "rates",
            "counts",
        ),
        references=(
            (
                "McCullagh, P. & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., "
                "Chapman and Hall."
            ),
            (
                "Cameron, A. C. & Trivedi, P. K. (2013). Regression Analysis of Count Data, "
                "2nd ed., Cambridge University Press."
            ),
        ),
    ),
    "gaussian_nll": GuideEntry(
        explanation=(
            "The model predicts both a value and how uncertain it is (a variance). The loss "
            "is the negative log-likelihood of the target under a normal distribution with "
            "that mean and variance: a large error is forgiven if the model said it was "
            "unsure, but claiming uncertainty has a price, the log-variance term. The model "
            "learns to say where its predictions are reliable."
        ),
        good_for=(
            "regression with noise whose size varies from sample to sample",
            "uncertainty estimates: the predicted variance is a per-sample error bar",
            "down-weighting hard samples automatically, through their predicted variance",
        ),
        not_good_for=(
            ("models without a variance output (use mse: a fixed variance gives the same optimum)"),
            (
                "training from scratch when the variance can collapse: keep eps, or warm up "
                "the mean with mse first"
            ),
            "heavy-tailed noise: a Gaussian likelihood is not robust to outliers",
        ),
        outlier_sensitivity=(
            "high: the error is squared as in mse, and the model can only soften it by "
            "inflating the predicted variance"
        ),
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=(
            "real values",
            "variances",
        ),
        references=(
            (
                "Nix, D. A. & Weigend, A. S. (1994). Estimating the Mean and Variance of the "
                "Target Probability Distribution. IEEE International Conference on Neural "
                "Networks, 55-60."
            ),
            (
                "Kendall, A. & Gal, Y. (2017). What Uncertainties Do We Need in Bayesian Deep "
                "Learning for Computer Vision? Advances in Neural Information Processing "
                "Systems 30."
            ),
        ),
    ),
    "pseudo_huber": GuideEntry(
        explanation=(
            "A smooth version of the Huber loss: about e^2/2 for errors well below delta and "
            "about delta |e| for errors well above it, with a gradient that grows smoothly "
            "and never exceeds delta. Where Huber switches abruptly at delta, this loss bends "
            "gradually, so its curvature is continuous."
        ),
        good_for=(
            "regression with occasional outliers when a smooth loss is wanted",
            "optimisers that use curvature (second derivatives are continuous)",
            "image restoration and flow estimation (Charbonnier's penalty, delta near 0.001 to 1)",
        ),
        not_good_for=(
            "unnormalised targets: delta is in target units and must match their scale",
            "predicting quantiles or intervals",
            "a sharp switch between squared and absolute error (use huber)",
        ),
        outlier_sensitivity=(
            "low: the loss grows linearly for large errors and the gradient is bounded by delta"
        ),
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=("real values",),
        references=(
            (
                "Charbonnier, P., Blanc-Feraud, L., Aubert, G. & Barlaud, M. (1994). Two "
                "deterministic half-quadratic regularization algorithms for computed imaging. "
                "ICIP."
            ),
            (
                "Hartley, R. & Zisserman, A. (2004). Multiple View Geometry in Computer Vision, "
                "2nd ed., Cambridge University Press, appendix A6.8 (the pseudo-Huber cost)."
            ),
        ),
    ),
    "msle": GuideEntry(
        explanation=(
            "Takes the logarithm of 1 + prediction and of 1 + target and squares their "
            "difference. That makes it a relative error: predicting 110 for 100 costs about "
            "as much as predicting 1.1 for 1, so targets that span orders of magnitude "
            "(prices, counts, durations) all count. Under-predicting costs a little more than "
            "over-predicting by the same amount. The prediction that minimises it is the "
            "geometric-style mean exp(E[log(1 + y)]) - 1, below the mean of a skewed target."
        ),
        good_for=(
            "non-negative targets spanning orders of magnitude (sales, prices, counts)",
            "competitions and reports scored by RMSLE",
            "relative rather than absolute accuracy",
        ),
        not_good_for=(
            "negative targets: the logarithm needs 1 + y > 0 (it raises on a negative target)",
            "models that may output negative values: predictions below 0 are clipped and get no "
            "gradient; end the model with softplus or exp",
            "predicting the mean itself (it estimates a lower, log-scale centre)",
        ),
        outlier_sensitivity=(
            "medium: the logarithm compresses large targets, so one huge value costs far less "
            "than under mse, but the square still emphasises large log-errors"
        ),
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=("real values",),
        references=(
            HYNDMAN_2006,
            (
                "Keras API reference: MeanSquaredLogarithmicError "
                "(https://keras.io/api/losses/regression_losses/)."
            ),
        ),
    ),
    "mape": GuideEntry(
        explanation=(
            "The absolute error as a percentage of the target: 100 |pred - target| / |target|, "
            "averaged. It reads directly as 'off by 12% on average' and does not depend on the "
            "units of the target. It breaks down near a target of 0, where any error is an "
            "enormous percentage: the denominator is floored at epsilon so the loss stays "
            "finite, but such targets then dominate the mean. It is also asymmetric: an "
            "under-prediction costs at most 100, an over-prediction has no bound, so models "
            "trained on it predict low."
        ),
        good_for=(
            "positive targets well away from 0 whose errors matter relative to their size",
            "a loss that reports directly as a percentage (demand, revenue forecasts)",
            "comparing errors across series of different scales",
        ),
        not_good_for=(
            "targets at or near 0 (intermittent demand, signed quantities): use mae or msle",
            "unbiased predictions: it rewards under-prediction",
            "targets whose sign matters: only |target| enters the denominator",
        ),
        outlier_sensitivity=(
            "medium: the error grows linearly, but small targets act as outliers since "
            "dividing by them inflates their error"
        ),
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=("real values",),
        references=(
            HYNDMAN_2006,
            (
                "de Myttenaere, A., Golden, B., Le Grand, B. & Rossi, F. (2016). Mean Absolute "
                "Percentage Error for regression models. Neurocomputing 192, 38-48."
            ),
        ),
    ),
}

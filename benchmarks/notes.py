"""Notes printed under the benchmark table in ``benchmarks/README.md``.

They describe what is compared and the known reasons when a target is missed; the
table of each run says which targets held in that run.
"""

NOTES: list[str] = [
    "- **What runs.**  losskit's public functions with PyTorch tensors run the kernel "
    "overrides in `losskit.torch.fast`; with JAX arrays they run the generic array-API "
    "code, traced by `jax.jit` (there are no JAX overrides).  Peers use the settings "
    "closest to losskit's: MONAI with `softmax=True, to_onehot_y=True` (it one-hot "
    'encodes the labels itself); kornia\'s Dice with `average="macro"` and its Tversky '
    "loss with alpha = beta = 1 for soft IoU, on the volume reshaped to 2 x 4 x 9216 x 96; "
    "optax's `dice_loss` on channels-last logits with one-hot targets, which losskit "
    "then receives too.",
    "- **PyTorch kernels (MSE, Huber, cross-entropy).**  losskit calls "
    "`torch.nn.functional` and adds only its checks: shapes and dtypes (microseconds) "
    "and the NaN check of the target, read off the reduced loss (a NaN target makes the "
    "loss NaN), which costs nothing.  Ratios within a few percent of 1 are within this "
    "machine's run-to-run noise: under `jax.jit`, losskit's MSE compiles to the same XLA "
    "program as optax's, yet single runs measured 1.03 to 1.11.",
    "- **MAE** is a fused `torch.autograd.Function`: `F.l1_loss` is composed of `sub`, "
    "`abs` and `mean` for autograd, whose backward builds the sign of the difference "
    "and its product with the upstream gradient; losskit hands the difference from "
    "forward to backward, which turns it into the gradient in place (`sign_`, `mul_`), "
    "so a step's peak memory is two 8M temporaries (the difference and, in forward, its "
    "absolute value) instead of four.",
    "- **BCE with logits** (mean or sum, no `pos_weight`) is a fused "
    "`torch.autograd.Function` computing the stable max(x, 0) - t x + log(1 + exp(-|x|)), "
    "which keeps the relative precision of small losses (PyTorch's (1 - t) x - log "
    "sigmoid(x) is off by 3e-5 at x = -5.13, t = 0, in float32): the tail in place in the "
    "buffer of |x|, max(x, 0) - t x in place in `relu(x)`, nothing kept for backward but "
    "the inputs, and `sigmoid` plus two in-place operations in backward.  losskit also "
    "checks that the targets lie in [0, 1] (one `aminmax` pass over the 8M targets, 2 to "
    "4 ms in a step; a target of 2 gives PyTorch a finite, meaningless loss).  The row "
    "with value checks off (`losskit.value_checks(False)`) times the same function "
    "without the check.",
    "- **log-cosh** is a fused `torch.autograd.Function`: two 8M temporaries and six "
    "passes (error, softplus, two sums; tanh and scale in place in backward) against "
    "five temporaries for `torch.log(torch.cosh(d))` and Keras's composed expression.",
    "- **Dice, soft IoU, Tversky** share one `torch.autograd.Function` over the "
    "statistics I = sum(p t), P = sum(p), T = sum(t), with no one-hot tensor.  With "
    "integer labels on CPU it runs PyTorch's softmax and then two compiled kernels "
    "(numba, from the `torch` extra; `torch.library` custom ops, so `torch.compile` keeps "
    "them): one pass over the probabilities and labels for I, P, T and the label range "
    "check, and one pass in backward that overwrites the softmax with the gradient.  Each "
    "task of 2048 voxels sums in float64.  Peak memory is the softmax (which becomes the "
    "gradient) and little else, a third of MONAI's, whose one-hot target and products "
    "also fault on about 7,000 pages (27 MiB) every step.  Without numba the same "
    "function composes PyTorch operations (a gather and `scatter_add`s in place of the "
    'one-hot target): the row "Dice, without numba" times it.  Measured alone, a '
    "compiled step takes 8 ms and a composed one 15 ms, against MONAI's 26 to 30 ms.  "
    "Interleaved with the peers' steps, as here, the compiled step varies from process to "
    "process: the statistics kernel, which runs right after PyTorch's softmax on numba's own "
    "OpenMP threads, takes 2.5 ms in some worker processes and 7 to 9 ms in others, so "
    "the Dice, soft IoU and Tversky rows (one process each) land between about 11 and "
    "18 ms, ratios 0.4 to 0.6.",
    "- **Multi-class focal** is a fused `torch.autograd.Function` too: the softmax, the "
    "true class's probability gathered, the loss and its derivative on one value per "
    "voxel, and a backward that turns the softmax into the gradient in place with one "
    "`scatter_add`.",
    "- **JAX under `jax.jit`** runs the generic code, written so that XLA compiles the "
    "loss and its gradient to about as many passes over the data as optax's.  `softplus` "
    "is `logaddexp(x, 0)` and log-cosh is "
    "`logaddexp(e, -e) - log 2` (array API functions; JAX differentiates `logaddexp` by its "
    "own rule, one exp, with no `max` or `abs` kinks to trace).  BCE with logits is "
    "`max(x, 0) - y x + softplus(-|x|)`: one exp and one log1p per element, and a "
    "confident right answer keeps its tiny loss.  Dice, soft IoU and Tversky sum their "
    "statistics over every axis but batch and class in the predictions' own layout, so the "
    "channels-last volume is not transposed.  The data checks (targets in [0, 1], labels "
    "in range) read a target closed over as a constant; under `jax.jit` their results are "
    "unused and XLA drops them, so the compiled step computes only the loss and its "
    "gradient.",
    "- **TensorFlow under `tf.function(jit_compile=True)`** runs the same generic code on "
    "losskit's TensorFlow namespace (`losskit.core.tensorflow_namespace`), traced once and "
    "compiled by XLA like the peer, Keras's own loss on its TensorFlow backend "
    "(`MeanSquaredError`, `SparseCategoricalCrossentropy(from_logits=True)`, and for Dice "
    "`Dice(axis=(1, 2, 3))` on `keras.ops.softmax` of the same channels-last logits with "
    "one-hot targets: one score per sample and class, averaged, as losskit's).  The "
    "namespace's extra work (type promotion, its own `maximum` and `logaddexp` gradients) "
    "happens while tracing.  The segmentation losses take their softmax from the "
    "TensorFlow kernel override `losskit.tensorflow.kernels` (`tf.nn.softmax`, about 10% "
    "faster under XLA than the generic exp(log_softmax), which JAX compiles leaner); "
    "cross-entropy gathers the true class's logit where Keras computes the full "
    "log-softmax.  The memory columns of these rows read about 0: TensorFlow's allocator "
    "keeps the memory of the warm-up steps, so a step's growth of the resident set does "
    "not show its peak.",
]

"""Notes printed under the benchmark table in ``benchmarks/README.md``.

They describe what is compared and the known reasons when a target is missed; the
table of each run says which targets held in that run.
"""

NOTES: list[str] = [
    "- **What runs.**  losskit's public functions with PyTorch tensors dispatch to the "
    "fast paths in `losskit.torch.fast`; with JAX arrays they run the generic array-API "
    "code, traced by `jax.jit` (there are no JAX fast paths).  Peers use the settings "
    "closest to losskit's: MONAI with `softmax=True, to_onehot_y=True` (it one-hot "
    'encodes the labels itself); kornia\'s Dice with `average="macro"` and its Tversky '
    "loss with alpha = beta = 1 for soft IoU, on the volume reshaped to 2 x 4 x 9216 x 96; "
    "optax's `dice_loss` on channels-last logits with one-hot targets, which losskit "
    "then receives too.",
    "- **PyTorch kernels (MSE, MAE, Huber, cross-entropy, BCE).**  losskit calls "
    "`torch.nn.functional` and adds only its checks: shapes and dtypes (microseconds) "
    "and the NaN check of the target, read off the reduced loss (a NaN target makes the "
    "loss NaN), which costs nothing.  Binary cross-entropy also checks that the targets "
    "lie in [0, 1]: one pass over the 8M targets (`aminmax`, 1 ms on warm data, 2 to "
    "4 ms inside a step), which PyTorch does not do.  That check is why BCE misses 1.05: "
    "1.10 to 1.17 in four runs of this version, against 0.98 to 1.04 for the row with "
    "value checks off (`losskit.value_checks(False)`), which times the same kernel "
    "without it.  It stays on by default: a target of 2 gives a finite, meaningless loss "
    "and no error in PyTorch.  Ratios within a few percent of 1 are within this "
    "machine's run-to-run noise: under `jax.jit`, losskit's MSE compiles to the same XLA "
    "program as optax's, yet single runs measured 1.03 to 1.11.",
    "- **log-cosh** is a fused `torch.autograd.Function`: two 8M temporaries and six "
    "passes (error, softplus, two sums; tanh and scale in place in backward) against "
    "five temporaries for `torch.log(torch.cosh(d))` and Keras's composed expression.",
    "- **Dice, soft IoU, Tversky** share one fused `torch.autograd.Function` over the "
    "statistics I = sum(p t), P = sum(p), T = sum(t), with no one-hot tensor: the softmax, "
    "each voxel's own probability gathered (the gather also checks the label range, so "
    "there is no separate pass over the labels), I and T as sums by label (one "
    "`scatter_add` each into partial sums of 1024 voxels, then a pairwise sum), and a "
    "backward that writes the gradient into the softmax in place, one class at a time, "
    "with its label term added by one `scatter_add`.  Peak memory is half of MONAI's and "
    "a step never page-faults once warm; MONAI's one-hot target and products fault on "
    "about 7,000 pages (27 MiB) every step.  Time is where the target is missed: measured "
    "in one process, losskit's step takes 15 to 17 ms when undisturbed against MONAI's "
    "20 to 22 ms, and the medians over interleaved rounds give ratios between about 0.45 "
    "(when MONAI's memory comes back from the kernel each step) and 0.75 (in its steady "
    "state, which the table measures).  About 60 % of losskit's step is the softmax and "
    "the index operations (gather, scatter_add) that replace the one-hot target; MONAI's "
    "DiceLoss is a dozen large element-wise operations, each close to memory speed on "
    "two threads, so a composition of PyTorch operations does not get to 0.6 of it.  "
    "(MONAI's `TverskyLoss` is slower than its `DiceLoss`, which is why the Tversky "
    "target holds.)  Step times on this shared machine spread by +-30 % from sample to "
    "sample, so single runs move by about 0.1 either way.",
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
]

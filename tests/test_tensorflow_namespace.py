"""losskit's array-API namespace for TensorFlow, against NumPy's semantics."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import losskit
from losskit.core import primitives
from losskit.core.kernels import backend_name, overrides
from losskit.core.namespace import is_traced, namespace, shape, stop_gradient
from losskit.core.validation import reads_values

tf = pytest.importorskip("tensorflow")
xp = pytest.importorskip("losskit.core.tensorflow_namespace")

RNG = np.random.default_rng(0)


def test_namespace_resolution():
    a = tf.constant([1.0, 2.0])
    assert namespace(pred=a, target=a) is xp
    assert backend_name(xp) == "tensorflow"
    with pytest.raises(losskit.LossInputError, match=r"different libraries \(pred: tensorflow"):
        namespace(pred=a, target=np.ones(2))
    with pytest.raises(losskit.LossInputError, match=r"tf.convert_to_tensor\(variable\)"):
        namespace(pred=tf.Variable([1.0]))


def test_dtypes():
    assert xp.isdtype(tf.bfloat16, "real floating") and xp.isdtype(tf.int32, "integral")
    assert xp.isdtype(tf.uint8, ("bool", "unsigned integer")) and not xp.isdtype(tf.bool, "numeric")
    assert xp.finfo(tf.bfloat16).smallest_normal == float(np.finfo(np.float32).tiny)
    assert xp.finfo(tf.constant([1.0], tf.float16)).eps == float(np.finfo(np.float16).eps)
    assert xp.result_type(tf.constant(1.0, tf.float32), tf.constant(1.0, tf.float64)) == tf.float64
    assert xp.result_type(tf.float16, tf.bfloat16) == tf.float32
    assert xp.result_type(tf.int32, 2.5, tf.int64) == tf.int64  # a scalar takes the array's
    assert xp.asarray(1.0).dtype == tf.float32 and xp.asarray([1, 2]).dtype == tf.int64
    assert xp.asarray(np.zeros(2)).dtype == tf.float64  # NumPy arrays keep theirs
    assert xp.__array_namespace_info__().default_dtypes()["indexing"] == tf.int64


def test_promotion_in_functions_and_scalars():
    f32, f64 = tf.constant([1.0, 3.0], tf.float32), tf.constant([2.0, 2.0], tf.float64)
    assert xp.maximum(f32, f64).dtype == tf.float64  # TensorFlow's own refuses the mix
    np.testing.assert_array_equal(xp.maximum(f32, f64).numpy(), [2.0, 3.0])
    out = xp.where(f32 > 2, 0.5, f64)
    assert out.dtype == tf.float64 and out.numpy().tolist() == [2.0, 0.5]
    assert xp.concat([f32, f64]).dtype == tf.float64


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_take_along_axis_and_sorting(axis):
    x = RNG.normal(size=(3, 4, 5))
    x[0, 0, :2] = x[0, 0, 2]  # ties: a stable sort keeps them in order
    order = np.argsort(-x, axis=axis, kind="stable")
    got = xp.argsort(tf.constant(x), axis=axis, descending=True, stable=True)
    np.testing.assert_array_equal(got.numpy(), order)
    np.testing.assert_array_equal(
        xp.take_along_axis(tf.constant(x), tf.constant(order), axis=axis).numpy(),
        np.take_along_axis(x, order, axis=axis),
    )
    np.testing.assert_allclose(
        xp.cumulative_sum(tf.constant(x), axis=axis, include_initial=True).numpy(),
        np.concatenate(
            [np.zeros_like(np.take(x, [0], axis=axis)), np.cumsum(x, axis=axis)], axis=axis
        ),
    )
    np.testing.assert_array_equal(
        xp.moveaxis(tf.constant(x), axis, 0).numpy(), np.moveaxis(x, axis, 0)
    )


def test_elementwise_edge_values():
    x = tf.constant([-np.inf, -1.0, 0.0, np.nan, np.inf])
    np.testing.assert_array_equal(xp.clip(x, 0.0, None).numpy(), [0, 0, 0, np.nan, np.inf])
    np.testing.assert_array_equal(xp.clip(x, None, 0.0).numpy(), [-np.inf, -1, 0, np.nan, 0])
    with np.errstate(invalid="ignore"):  # NumPy's NaN input
        expected = np.logaddexp(x.numpy(), x.numpy())
    np.testing.assert_array_equal(xp.logaddexp(x, x).numpy(), expected)
    np.testing.assert_array_equal(xp.isfinite(tf.constant([1, 2])).numpy(), [True, True])
    np.testing.assert_array_equal(xp.round(tf.constant([0.5, 1.5, -0.5])).numpy(), [0, 2, -0])
    assert int(xp.sum(tf.constant([True, True, False]))) == 2
    big = float(np.finfo(np.float32).max) / 2  # its square overflows float32
    a = tf.constant([3.0, 0.0, big, np.inf, 1e-30, -2.0, np.inf])
    b = tf.constant([4.0, 0.0, big, np.nan, 1e-30, 0.0, -np.inf])
    np.testing.assert_allclose(xp.hypot(a, b).numpy(), np.hypot(a.numpy(), b.numpy()), rtol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(a)
        h = xp.hypot(a, b)
    # d/da hypot(a, b) = a / hypot(a, b), 0 at the origin (NumPy's a / h would be NaN there)
    grad = tape.gradient(h, a).numpy()
    np.testing.assert_allclose(grad[[0, 1, 2, 5]], [0.6, 0.0, 0.5**0.5, -1.0], rtol=1e-6)


def test_gradients_split_at_ties_and_follow_the_softplus_identity():
    a, b = tf.constant([1.0, 2.0, 3.0]), tf.constant([1.0, 1.0, 4.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a, b])
        biggest, smallest, lse = xp.maximum(a, b), xp.minimum(a, b), xp.logaddexp(a, b)
        relu = xp.maximum(a - 2.0, 0.0)  # a scalar operand: its gradient is summed away
    np.testing.assert_array_equal(tape.gradient(biggest, a).numpy(), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(tape.gradient(smallest, b).numpy(), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(tape.gradient(relu, a).numpy(), [0.0, 0.5, 1.0])
    sigmoid = 1 / (1 + np.exp(-(a.numpy() - b.numpy())))
    np.testing.assert_allclose(tape.gradient(lse, a).numpy(), sigmoid, rtol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(a)
        held = stop_gradient(a * a, xp) + a
    np.testing.assert_array_equal(tape.gradient(held, a).numpy(), [1.0, 1.0, 1.0])


def test_traced_tensors_and_run_time_sizes():
    seen = {}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def f(x):
        seen["traced"] = is_traced(x)
        seen["static"] = x.shape[0]
        sizes = shape(x)
        return xp.reshape(x, (sizes[0] * sizes[1],))

    assert f(tf.ones((2, 3))).shape == (6,)
    assert seen == {"traced": True, "static": None}
    assert not is_traced(tf.ones(2)) and shape(tf.ones((2, 3))) == (2, 3)


def test_sizes_unknown_while_tracing_are_compared_when_the_graph_runs():
    """[5] against [1] would broadcast; with the sizes unknown while tracing, the
    comparison is an assertion in the graph."""
    signature = [tf.TensorSpec([None], tf.float32)] * 2
    mse = tf.function(losskit.mse, input_signature=signature)
    assert float(mse(tf.ones(5), tf.zeros(5))) == 1.0
    with pytest.raises(tf.errors.InvalidArgumentError, match="must have the same shape"):
        mse(tf.ones(5), tf.zeros(1))


def test_errors_keep_their_type_inside_tf_function():
    """A LossInputError raised while tracing reaches the caller as itself, not as
    AutoGraph's StagingError."""

    @tf.function
    def f(p, t):
        return losskit.mse(p, t)

    with pytest.raises(losskit.LossInputError, match="same shape"):
        f(tf.ones((4, 1)), tf.ones(4))


def test_value_checks_run_eagerly_and_not_while_tracing():
    probs = tf.constant([0.5, 1.5])
    target = tf.constant([1.0, 0.0])
    with pytest.raises(losskit.LossInputError, match="probabilities"):
        losskit.binary_cross_entropy(probs, target)
    traced = tf.function(losskit.binary_cross_entropy)(probs, target)
    assert traced.shape == ()  # computed, unchecked
    compiled = tf.function(losskit.binary_cross_entropy, jit_compile=True)(probs, target)
    assert compiled.shape == ()


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_value_checks_read_eager_tensors_only(jit_compile):
    """reads_values, the one test of whether value checks read data: an eager tensor
    yes, a graph tensor (with or without XLA) no."""
    seen = {}

    @tf.function(jit_compile=jit_compile)
    def f(x):
        seen["reads"] = reads_values(x)
        return x

    f(tf.ones(2))
    assert reads_values(tf.ones(2)) and seen == {"reads": False}


def test_docs_tensorflow_examples_run():
    """Every Python block of docs/tensorflow.md, in one fresh process (its custom loss
    stays out of this process's registry)."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "tensorflow.md"
    blocks = re.findall(r"```python\n(.*?)```", docs.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 4
    script = "\n".join(f"exec({block!r}, {{'__name__': 'docs_tensorflow'}})" for block in blocks)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pred must hold probabilities" in result.stdout


@pytest.mark.parametrize("scale", [1.0, 1e4], ids=["logits", "huge logits"])
def test_kernel_overrides_agree_with_the_generic_kernels(scale):
    """Each TensorFlow kernel override gives the generic kernel's value and gradient."""
    overridden = overrides("tensorflow")
    assert set(overridden) == {"losskit.core.primitives.softmax"}
    x = tf.constant(RNG.normal(size=(3, 5, 4)) * scale)
    upstream = tf.constant(RNG.normal(size=(3, 5, 4)))
    for axis in (1, -1):
        results = []
        for fn in (overridden["losskit.core.primitives.softmax"], primitives.softmax.generic):
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = fn(x, axis=axis, xp=xp)
                total = tf.reduce_sum(value * upstream)
            results.append((value.numpy(), tape.gradient(total, x).numpy()))
        (ours, our_grad), (generic, generic_grad) = results
        np.testing.assert_allclose(ours, generic, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(our_grad, generic_grad, rtol=1e-9, atol=1e-12)

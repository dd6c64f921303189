"""TensorFlow's kernel overrides (:mod:`losskit.tensorflow.kernels`).

losskit's functions take ``tf.Tensor`` through the array namespace
:mod:`losskit.core.tensorflow_namespace`; this package holds the few kernels that
TensorFlow computes faster with its own fused operations.  Both are imported on the
first call with a TensorFlow tensor.
"""

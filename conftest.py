"""Settings for the whole test run, doctests of ``src/losskit`` included."""

import os

# Keras picks its backend when it is first imported and defaults to TensorFlow, which
# losskit.keras does not support; collecting the doctests of losskit.keras imports
# Keras.  The Keras tests choose their backends themselves, in subprocesses.
os.environ.setdefault("KERAS_BACKEND", "jax")
# TensorFlow's C++ start-up messages (oneDNN, CPU features) are not test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

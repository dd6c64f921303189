"""Shared machinery for every loss: one module per concern.

- :mod:`~losskit.core.namespace`: array namespace, dtype and device policy, tracing.
- :mod:`~losskit.core.primitives`: numerically stable building blocks.
- :mod:`~losskit.core.reduction`: reductions and weights.
- :mod:`~losskit.core.validation`: argument and value checks.
- :mod:`~losskit.core.registry`: loss metadata and the catalogue of losses.

Losses are a few lines of math on top of these; adapters (PyTorch, Keras, CLI) never
do math of their own.
"""

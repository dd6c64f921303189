"""The test table: one entry per loss, grouped by family.

Adding a loss = adding one :class:`~loss_table.spec.LossCase` to its family's list.
"""

from .classification import CASES as _CLASSIFICATION
from .detection import CASES as _DETECTION
from .divergence import CASES as _DIVERGENCE
from .embedding import CASES as _EMBEDDING
from .generative import CASES as _GENERATIVE
from .image import CASES as _IMAGE
from .preference import CASES as _PREFERENCE
from .regression import CASES as _REGRESSION
from .segmentation import CASES as _SEGMENTATION
from .sequence import CASES as _SEQUENCE
from .spec import REDUCTIONS, Gap, Invalid, LossCase, Peer, Sample, Tag, reference_reduce

CASES: list[LossCase] = [
    *_REGRESSION,
    *_CLASSIFICATION,
    *_SEGMENTATION,
    *_DETECTION,
    *_GENERATIVE,
    *_EMBEDDING,
    *_DIVERGENCE,
    *_PREFERENCE,
    *_SEQUENCE,
    *_IMAGE,
]
CASES_BY_NAME = {c.name: c for c in CASES}

__all__ = [
    "CASES",
    "CASES_BY_NAME",
    "REDUCTIONS",
    "Gap",
    "Invalid",
    "LossCase",
    "Peer",
    "Sample",
    "Tag",
    "reference_reduce",
]

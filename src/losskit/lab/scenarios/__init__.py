"""The built-in scenarios of ``losskit lab``, one module per scenario.

Each scenario's ``candidates`` is a curated comparison for its data (a baseline and the
alternatives worth comparing with it, with their options), not every registered loss of
the task: the lab on a user's table (:mod:`losskit.lab.userdata`) offers every loss the
registry says it can train.
"""

from __future__ import annotations

from losskit.lab.scenario import Scenario
from losskit.lab.scenarios.boxes import Boxes
from losskit.lab.scenarios.classification import ImbalancedBinary, MultiClass
from losskit.lab.scenarios.distillation import Distillation
from losskit.lab.scenarios.embeddings import Embeddings
from losskit.lab.scenarios.gan import GAN
from losskit.lab.scenarios.preference import Preference
from losskit.lab.scenarios.regression import RegressionOutliers
from losskit.lab.scenarios.restoration import Denoising
from losskit.lab.scenarios.segmentation import Segmentation
from losskit.lab.scenarios.sequences import Sequences

__all__ = [
    "BUILTIN_SCENARIOS",
    "GAN",
    "Boxes",
    "Denoising",
    "Distillation",
    "Embeddings",
    "ImbalancedBinary",
    "MultiClass",
    "Preference",
    "RegressionOutliers",
    "Segmentation",
    "Sequences",
    "builtin_scenarios",
]

BUILTIN_SCENARIOS: tuple[type[Scenario], ...] = (
    RegressionOutliers,
    ImbalancedBinary,
    MultiClass,
    Segmentation,
    Denoising,
    GAN,
    Boxes,
    Embeddings,
    Distillation,
    Sequences,
    Preference,
)


def builtin_scenarios() -> list[Scenario]:
    """One instance of every built-in scenario, in report order."""
    return [cls() for cls in BUILTIN_SCENARIOS]

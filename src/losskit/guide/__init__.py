"""The guide layer: what each loss is for, which loss to use, and how losses behave.

- :mod:`losskit.guide.catalogue`: each loss's guide entry and generated code examples;
- :mod:`losskit.guide.advisor`: :func:`recommend`, losses ranked for a described problem;
- :mod:`losskit.guide.plots`: loss and gradient curves (needs matplotlib, imported
  only when a plot is drawn).
"""

from losskit.guide.advisor import Recommendation, parse_imbalance, recommend
from losskit.guide.catalogue import code_examples, entry, metadata_problems, parse_loss_spec
from losskit.guide.examples import Term

__all__ = [
    "Recommendation",
    "Term",
    "code_examples",
    "entry",
    "metadata_problems",
    "parse_imbalance",
    "parse_loss_spec",
    "recommend",
]

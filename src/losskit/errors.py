"""The one exception type losskit raises for bad input."""

from __future__ import annotations

__all__ = ["LossInputError"]


class LossInputError(ValueError):
    """Raised when an argument of a loss is invalid.

    The message names the argument, says what was expected and what came.
    It subclasses :class:`ValueError`, so ``except ValueError`` also catches it.
    """

    #: raised inside ``tf.function``, it reaches the caller as itself: TensorFlow's
    #: AutoGraph re-raises other exception types as ``StagingError``
    ag_pass_through = True

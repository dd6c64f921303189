"""The lab on your own model: :func:`compare`.

The user brings a model factory, the data and the candidate losses; the lab trains a
fresh model per loss and seed, keeps the epoch with the best validation value of a
metric that does not depend on the loss, and measures it on the held-out part, with
the same runner, report and verdicts as the built-in scenarios.  A factory that
returns a ``torch.nn.Module`` trains with the lab's PyTorch loop
(:func:`losskit.lab.training.fit`); one that returns a ``keras.Model`` trains with
Keras's ``fit``, keeping the best epoch through a callback.

- :mod:`.losses`: the candidate losses (specs, loss objects, callables);
- :mod:`.data`: the user's arrays, tensors or DataLoader, checked for the task;
- :mod:`.scenario`: the scenario that trains the user's model;
- :mod:`.compare`: the public function and the checks of its arguments.
"""

from losskit.lab.own_model.compare import OWN_MODEL_TASKS, compare
from losskit.lab.own_model.losses import OwnLoss
from losskit.lab.own_model.scenario import OwnModelScenario

__all__ = ["OWN_MODEL_TASKS", "OwnLoss", "OwnModelScenario", "compare"]

"""The optimizers by name: what ``optimizer=`` may say, and how to rebuild one from its record."""

from __future__ import annotations

from typing import Any

from ..losses import get_loss
from .ftrl import FTRL, FTRLParams
from .optimizer import Optimizer
from .sgd import SGD, SGDParams

OPTIMIZERS: dict[str, tuple[type[Optimizer], type]] = {"sgd": (SGD, SGDParams), "ftrl": (FTRL, FTRLParams)}
# ``optimizer="cd"``: SGD's epochs (its state holds the weights), then the exact solver
# (:class:`~widecross.train.exact.Exact`) in place of the polish
EXACT = "cd"
EXACT_STATE = "sgd"
# what ``optimizer=`` may say
CHOICES: tuple[str, ...] = (*OPTIMIZERS, EXACT)


def optimizer_class(name: str) -> type[Optimizer]:
    """The stochastic optimizer that ``optimizer=name`` trains with (``"cd"``: SGD).

    >>> optimizer_class("cd").rate_param
    'learning_rate'
    """
    return OPTIMIZERS[EXACT_STATE if name == EXACT else name][0]


def optimizer_from_record(record: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from :meth:`Optimizer.describe` (e.g. read back from a checkpoint).

    >>> from widecross.losses import LOSSES
    >>> ftrl = FTRL(LOSSES["logistic"], FTRLParams(alpha=0.5, l1=1e-6))
    >>> optimizer_from_record(ftrl.describe()) == ftrl
    True
    """
    fields = dict(record)
    kind, params = OPTIMIZERS[fields.pop("optimizer")]
    loss = get_loss(fields.pop("loss"))
    columns = fields.pop("columns", 1)
    return kind(loss, params(**fields), columns)
